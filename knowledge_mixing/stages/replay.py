"""The replay stage: general chat samples mixed into every cut so the student keeps its skills,
read, checked and counted once for all cuts (docs/behaviour.md#row-format, #recipe-order).

A replay source is a chat JSONL file whose rows carry `messages` (and optionally `unmask` and
`metadata`), the format the trainer reads. Rows are checked as the trainer would need them and
become output rows of the same shape as the knowledge rows, with `metadata` naming their source.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from ..io.jsonl import json_lines
from ..io.parquet import table_writer
from ..recipe import Recipe
from ..rows import output_row_json, replay_metadata
from ..sampling import text_id
from ..token_counter import TokenCounter, reasoning_values
from ..tokenizer import load_tokenizer
from ..logs import progress
from . import Measured

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
REPLAY_SCHEMA = pa.schema(
    [
        pa.field("source", pa.int32(), nullable=False),
        pa.field("sample_id", pa.binary(16), nullable=False),
        pa.field("token_length", pa.int32(), nullable=False),
        pa.field("row_json", pa.string(), nullable=False),
    ]
)
"""Replay file: every row of every replay source of the recipe, checked and counted once."""
REPLAY_CHUNK = 1024
"""Rows counted at a time."""


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


def empty_reasoning(messages: list[dict], unmask: bool) -> bool:
    """Does the trainer wrap reasoning in this row only because of empty reasoning keys (a
    `thinking: ""` the source wrote on every turn)? It counts them as reasoning, as we do; with
    some chat templates it then leaves the end-of-turn token untrained, so they are reported."""
    values = reasoning_values(messages, unmask)
    return bool(values) and not any(value.strip() for value in values)


def batched(items, size: int):
    """Lists of up to `size` items (itertools.batched from Python 3.12 on)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def replay_stage(recipe: Recipe, tokenizer: str, trust_remote_code: bool,
                 replay_path: str) -> Measured:
    """Read, check and count the recipe's replay sources once for all cuts (an empty file when
    the recipe has none)."""
    started, sources = time.perf_counter(), []
    counter = TokenCounter(load_tokenizer(tokenizer, trust_remote_code)) if recipe.replay else None
    with table_writer(replay_path, REPLAY_SCHEMA) as writer:
        for index, source in enumerate(recipe.replay):
            rows, tokens, empty = 0, 0, 0
            digest = hashlib.sha256()
            for chunk in batched(replay_rows(source.path, digest), REPLAY_CHUNK):
                lines, conversations, unmask, metadata = zip(*chunk)
                lengths = counter.count(list(conversations), list(unmask))
                writer.write_table(pa.Table.from_pydict({
                    "source": [index] * len(chunk),
                    "sample_id": [text_id(json.dumps([c, u], sort_keys=True))
                                  for c, u in zip(conversations, unmask)],
                    "token_length": lengths,
                    "row_json": [output_row_json(messages, n, replay_metadata(source.path, line,
                                                                              meta), unmask=u)
                                 + "\n" for line, messages, u, meta, n in zip(
                                     lines, conversations, unmask, metadata, lengths)],
                }, schema=REPLAY_SCHEMA))
                rows, tokens = rows + len(chunk), tokens + sum(lengths)
                empty += sum(map(empty_reasoning, conversations, unmask))
            if not rows:
                raise InputError(f"replay source {source.path}: the file holds no rows")
            sources.append({"path": source.path, "sha256": digest.hexdigest(),
                            "rows": rows, "tokens": tokens, "empty_reasoning": empty})
            log.info("replay %s: %d rows, %d tokens; %d rows whose only reasoning is empty "
                     "(the trainer wraps it all the same)", source.path, rows, tokens, empty)
    if sources:
        progress(log, "replay: %d sources, %s rows, %s tokens (%.1fs)", len(sources),
                 f"{sum(s['rows'] for s in sources):,}", f"{sum(s['tokens'] for s in sources):,}",
                 time.perf_counter() - started)
    return Measured({"replay": {"sources": sources}})
