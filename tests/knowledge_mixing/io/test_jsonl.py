"""JSON Lines with errors at their file, line and column; files fingerprinted by the read that
parses them; parsed batches read ahead of their use."""
import contextlib
import hashlib
import itertools
import json
import threading

import pyarrow as pa
import pytest
from pyarrow import json as pa_json

from knowledge_mixing.errors import InputError
from knowledge_mixing.io.jsonl import FileSha256, ReadAhead, json_lines


def test_rows_with_their_line_numbers_blank_lines_skipped_all_bytes_hashed(tmp_path):
    path = tmp_path / "a.jsonl"
    content = '{"a": 1}\n\n  \n{"b": "é"}\n'.encode()
    path.write_bytes(content)
    digest = hashlib.sha256()
    assert list(json_lines(path, digest)) == [(1, {"a": 1}), (4, {"b": "é"})]
    assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
    path.write_bytes(b'{"last": true}')  # no newline at the end
    assert list(json_lines(path)) == [(1, {"last": True})]


@pytest.mark.parametrize("content,message", [
    (b'{"a": 1}\n{"question": "x",, }\n', "line 2, column 18: not valid JSON"),
    (b'["a", "list"]\n', "line 1: expected a JSON object, got list"),
    (b'"text"\n', "line 1: expected a JSON object, got str"),
    (b'{"a": 1}\n{"q": "\xff"}\n', "line 2, column 8: not UTF-8 text"),
])
def test_errors_name_file_line_and_column(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        list(json_lines(path))
    assert str(raised.value).startswith(f"{path}, {message}")


def test_rows_before_a_bad_line_are_yielded(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"ok": 1}) + "\n{\n")
    rows = json_lines(path)
    assert next(rows) == (1, {"ok": 1})
    with pytest.raises(InputError, match="line 2"):
        next(rows)


def test_a_file_is_fingerprinted_on_a_thread_that_ends_with_the_read(tmp_path):
    path = tmp_path / "data"
    content = bytes(range(256)) * 100_000  # several blocks
    path.write_bytes(content)
    with FileSha256(path) as fingerprint:
        assert fingerprint.hexdigest() == hashlib.sha256(content).hexdigest()
    assert not fingerprint._thread.is_alive()
    with pytest.raises(RuntimeError), FileSha256(path) as stopped:  # a read that fails
        raise RuntimeError
    assert not stopped._thread.is_alive()
    with pytest.raises(FileNotFoundError), FileSha256(tmp_path / "absent") as absent:
        absent.hexdigest()


def test_read_ahead_gives_pyarrows_batches_in_order_and_its_error_in_place(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(5000)) + "{broken\n")
    options = pa_json.ReadOptions(block_size=4096)  # many batches
    seen = []
    with pa.OSFile(str(path)) as source, contextlib.closing(
            ReadAhead(pa_json.open_json(source, read_options=options))) as reader:
        with pytest.raises(pa.ArrowInvalid):
            for batch in reader:
                seen += batch.column("n").to_pylist()
    assert seen == list(range(len(seen))) and len(seen) > 4000  # every row before the error
    assert not reader._thread.is_alive()
    with pytest.raises(pa.ArrowInvalid):  # iterated again: the same end, not a wait
        list(reader)
    finished = ReadAhead(iter([1, 2]))
    assert list(finished) == [1, 2] and list(finished) == []


def test_read_ahead_stops_its_thread_and_closes_the_reader_when_the_caller_stops():
    closed = threading.Event()

    def endless():
        try:
            yield from itertools.count()
        finally:
            closed.set()

    reader = ReadAhead(endless(), ahead=2)
    assert next(iter(reader)) == 0
    reader.close()  # the thread waits on a full queue: it must still end
    assert not reader._thread.is_alive() and closed.is_set()
