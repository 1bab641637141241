"""Replay data: general chat samples mixed into every cut so the student keeps its skills.

A replay source is a chat JSONL file whose rows carry `messages` (and optionally `unmask` and
`metadata`), the format the trainer reads. Rows are checked as the trainer would need them and
become output rows of the same shape as the knowledge rows, with `metadata` naming their source.
"""
from __future__ import annotations

import json
from pathlib import Path

from .load import InputError, json_lines

ROLES = ("system", "user", "assistant")
REPLAY_DATASET = "replay"


def replay_conversation(row: dict, where: str) -> tuple[list[dict], bool]:
    """The row's messages and unmask flag, or an InputError naming the line and what is wrong."""
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError(f"{where}: `messages` must be a non-empty list of {{role, content}} turns")
    for index, message in enumerate(messages):
        turn = f"{where}: messages[{index}]"
        if not isinstance(message, dict):
            raise InputError(f"{turn} is not an object")
        if message.get("role") not in ROLES:
            raise InputError(f"{turn}.role is {message.get('role')!r}; the trainer takes "
                             f"{', '.join(ROLES)}")
        if not isinstance(message.get("content"), str):
            raise InputError(f"{turn}.content must be a string")
        for key in ("reasoning_content", "thinking"):
            if message.get(key) is not None and not isinstance(message[key], str):
                raise InputError(f"{turn}.{key} must be a string when given")
    if not any(m["role"] == "assistant" for m in messages):
        raise InputError(f"{where}: no assistant turn, so the row would train nothing")
    unmask = row.get("unmask", False)
    if not isinstance(unmask, bool):
        raise InputError(f"{where}: `unmask` must be true or false, got {unmask!r}")
    return messages, unmask


def replay_rows(path: str, sha256=None):
    """(line number, messages, unmask, source metadata) of every row of a replay file; the
    file's bytes also go into the `sha256` hash, when one is given."""
    if not Path(path).is_file():
        raise InputError(f"replay source {path}: no such file; give a chat JSONL path the mixing "
                         "tasks can read (on a cluster: a file on the volume mounted with --pvc)")
    for line_number, row in json_lines(Path(path), sha256):
        messages, unmask = replay_conversation(row, f"{path}, line {line_number}")
        yield line_number, messages, unmask, row.get("metadata")


def replay_row_json(source: str, line_number: int, messages: list[dict], unmask: bool,
                    source_metadata, token_length: int) -> str:
    """An output line for a replay sample: the knowledge rows' columns, knowledge fields null."""
    metadata = {"dataset": REPLAY_DATASET, "replay_source": source, "line": line_number}
    if source_metadata is not None:
        metadata["source_metadata"] = source_metadata
    return json.dumps(
        {
            "question": None,
            "document_outline": None,
            "raw_document": None,
            "document": None,
            "messages": messages,
            "metadata": json.dumps(metadata, ensure_ascii=False),
            "unmask": unmask,
            "token_length": token_length,
        },
        ensure_ascii=False,
    )
