"""JSON Lines read line by line with errors at their file, line and column, files fingerprinted
while they are parsed, and parsed batches read ahead of their use."""
from __future__ import annotations

import hashlib
import json
import queue
import threading
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


class FileSha256:
    """A file's sha256, computed on a thread of its own while the file is parsed from a native
    file (hashlib lets go of Python's lock, so it runs beside the parse). The parser's threads
    then never call back into Python: pyarrow's, reading a Python file object, aborted one load
    process in 150 as it exited ("terminate called without an active exception"). The thread
    reads the file a second time, from the page cache the parse fills (the disk is read once);
    the load of the benchmark's medium input took 2.1 s so, 2.3 s hashing inside pyarrow's
    reads."""

    BLOCK = 8 << 20

    def __init__(self, path: Path):
        self._sha256 = hashlib.sha256()
        self._failure: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hash, args=(path,), name=f"sha256 {path}")
        self._thread.start()

    def _hash(self, path: Path) -> None:
        try:
            block = memoryview(bytearray(self.BLOCK))  # one buffer, not a fresh one per read
            with path.open("rb", buffering=0) as f:
                while not self._stop.is_set() and (size := f.readinto(block)):
                    self._sha256.update(block[:size])
        except OSError as e:  # raised where the digest is asked for
            self._failure = e

    def hexdigest(self) -> str:
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._sha256.hexdigest()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        """The thread ends with the read, finished or not (it stops early on an error)."""
        if exc[0] is not None:
            self._stop.set()
        self._thread.join()


class ReadAhead:
    """The batches of `reader` (pyarrow's JSON reader, or any iterator of batches), read on a
    thread of their own up to `ahead` batches before they are used. pyarrow lets go of Python's
    lock while it parses, so the next block is parsed while the caller turns the last one into
    rows (the load of the benchmark's medium input: 4.0 s with it, 4.6 s without, median of 4).
    An error of the reader reaches the caller where the reader raised it, after the batches
    before it. `close()` stops the thread, then closes the reader."""

    _END = object()

    def __init__(self, reader, ahead: int = 2):
        self._reader = reader
        self._batches: queue.Queue = queue.Queue(ahead)
        self._stop = threading.Event()
        self._ended, self._error = False, None
        self._thread = threading.Thread(target=self._read, name="read ahead", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for batch in self._reader:
                if not self._put((batch, None)):
                    return
            self._put((self._END, None))
        except BaseException as error:  # noqa: BLE001 — raised in the caller's thread instead
            self._put((self._END, error))

    def _put(self, item) -> bool:
        """Wait for room, unless the caller has stopped reading."""
        while not self._stop.is_set():
            try:
                self._batches.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while not self._ended:
            batch, error = self._batches.get()
            if batch is self._END:
                self._ended, self._error = True, error
            else:
                yield batch
        if self._error is not None:  # again, to a caller that iterates once more
            raise self._error

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        close = getattr(self._reader, "close", None)
        if close is not None:
            close()
