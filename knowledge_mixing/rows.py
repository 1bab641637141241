"""The row format of a training file: chat turns, metadata, and the output line itself, for
knowledge rows and replay rows alike (docs/behaviour.md#row-format)."""
from __future__ import annotations

import json
from json.encoder import encode_basestring as _quoted  # json.dumps' own, in C

from .sampling import text_id
from .sets import KnowledgeSet

KNOWLEDGE_DATASET = "document_knowledge_qa"
REPLAY_DATASET = "replay"


def user_content(kset: KnowledgeSet, document_outline: str, document: str, question: str) -> str:
    return kset.user_template.format(
        document_outline=document_outline, document=document, question=question
    )


def assistant_message(response: str, reasoning: str | None, gpt_oss_format: bool) -> dict:
    """The assistant turn. Reasoning goes in `reasoning_content` (what instructlab-training and
    the Qwen/DeepSeek templates read), or in `thinking` for the gpt-oss template; without real
    reasoning neither key is written, because an empty `thinking` key stops the trainer from
    learning the end-of-turn token."""
    message = {"role": "assistant", "content": response}
    if reasoning:
        message["thinking" if gpt_oss_format else "reasoning_content"] = reasoning
    return message


def build_messages(kset: KnowledgeSet, document_outline: str, document: str, question: str,
                   response: str, reasoning: str | None, gpt_oss_format: bool) -> list[dict]:
    return [
        {"role": "user", "content": user_content(kset, document_outline, document, question)},
        assistant_message(response, reasoning, gpt_oss_format),
    ]


def _spelled(value) -> str:
    """A message's value, marked as text or JSON (a replay row's may be a list or null) and
    after its length."""
    if isinstance(value, str):
        return f"s{len(value)}:{value}"
    written = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return f"j{len(written)}:{written}"


def messages_id(messages: list[dict]) -> bytes:
    """The identity of a sample as the trainer sees it: two rows with the same messages are
    exact duplicates (docs/behaviour.md#duplicates), whatever their metadata. Each message is
    spelled as its number of keys, then each key in order, after its length, with its value:
    one spelling per list of messages, in a third of the time of their JSON."""
    return text_id("".join(
        f"{len(message)};" + "".join(f"{len(key)}:{key}{_spelled(message[key])}"
                                     for key in sorted(message))
        for message in messages))


def knowledge_metadata(document: str, raw_document: str | None) -> dict:
    return {"sdg_document": document, "dataset": KNOWLEDGE_DATASET, "raw_document": raw_document}


def replay_metadata(source: str, line_number: int, source_metadata) -> dict:
    """Where a replay row came from; the row's own metadata is kept inside."""
    metadata = {"dataset": REPLAY_DATASET, "replay_source": source, "line": line_number}
    if source_metadata is not None:
        metadata["source_metadata"] = source_metadata
    return metadata


_SHARED: dict = {}
"""Text many rows share (a raw document under all its questions, a summary under its own, their
metadata), as JSON: quoted once, not once per row."""
_SHARED_LIMIT = 4096


def _json(value) -> str:
    """`json.dumps(value, ensure_ascii=False)`, built from the same C quoting for the plain
    values rows hold (text, numbers, lists and objects of them)."""
    if isinstance(value, str):
        return _quoted(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return "{" + ", ".join(f"{_quoted(key)}: {_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_json, value)) + "]"
    return json.dumps(value, ensure_ascii=False)  # floats and anything rarer


def _shared(key, make) -> str:
    try:
        return _SHARED[key]
    except KeyError:
        if len(_SHARED) > _SHARED_LIMIT:
            _SHARED.clear()
        _SHARED[key] = made = make()
        return made
    except TypeError:  # an unhashable key (replay metadata holding a list): not shared
        return make()


def output_row_json(messages: list[dict], token_length: int, metadata: dict, unmask: bool = True,
                    question: str | None = None, document_outline: str | None = None,
                    raw_document: str | None = None, document: str | None = None) -> str:
    """One line of a training file, columns in the reference's order; replay rows leave the
    knowledge columns null. `metadata` is written as a JSON string, as the reference does.
    Exactly `json.dumps` of the row (ensure_ascii=False), with shared texts quoted once."""
    fields = (
        ("question", _json(question)),
        ("document_outline", _shared(("text", document_outline), lambda: _json(document_outline))),
        ("raw_document", _shared(("text", raw_document), lambda: _json(raw_document))),
        ("document", _shared(("text", document), lambda: _json(document))),
        ("messages", _json(messages)),
        ("metadata", _shared(("metadata", *metadata.items()),
                             lambda: _quoted(_json(metadata)))),
        ("unmask", _json(unmask)),
        ("token_length", _json(token_length)),
    )
    return "{" + ", ".join(f'"{name}": {value}' for name, value in fields) + "}"
