"""JSON Lines read line by line with errors at their file, line and column, and files that are
fingerprinted by the same read that parses them."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from ..errors import InputError


def json_lines(path: Path, sha256=None, max_line_bytes: int | None = None):
    """(line number, object) of every non-blank line, with errors at their line and column;
    every byte read also goes into the `sha256` hash, when one is given. A line longer than
    `max_line_bytes` is an error, found without holding it."""
    with path.open("rb") as f:
        line_number = 0
        while True:
            raw = f.readline(max_line_bytes + 1) if max_line_bytes else f.readline()
            if not raw:
                return
            line_number += 1
            where = f"{path}, line {line_number}"
            if max_line_bytes and len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                raise InputError(f"{where}: the line is longer than {max_line_bytes:,} bytes, far "
                                 "longer than any sample; is the row broken? Fix or remove it")
            if sha256 is not None:
                sha256.update(raw)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{where}, column {e.start + 1}: not UTF-8 text ({e.reason}); is this a JSON "
                    "Lines file? Each line must be one JSON object") from e
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"{where}, column {e.colno}: not valid JSON ({e.msg}); each line must be one "
                    "JSON object, as pandas to_json(orient='records', lines=True) writes"
                ) from e
            if not isinstance(row, dict):
                raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
            yield line_number, row


class HashingFile(io.RawIOBase):
    """A file that hashes what is read from it, so one read both parses and fingerprints it."""

    def __init__(self, path: Path):
        super().__init__()
        self.file = open(path, "rb")
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = self.file.readinto(buffer)
        self.sha256.update(memoryview(buffer)[:size])
        return size

    def close(self) -> None:
        self.file.close()
        super().close()
