"""JSON Lines read line by line with errors at their file, line and column, and files that are
fingerprinted by the same read that parses them."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from ..errors import InputError


def json_lines(path: Path, sha256=None):
    """(line number, object) of every non-blank line, with errors at their line and column;
    every byte read also goes into the `sha256` hash, when one is given."""
    with path.open("rb") as f:
        for line_number, raw in enumerate(f, start=1):
            if sha256 is not None:
                sha256.update(raw)
            where = f"{path}, line {line_number}"
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
