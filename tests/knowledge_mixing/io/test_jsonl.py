"""JSON Lines with errors at their file, line and column; files fingerprinted by the read that
parses them."""
import hashlib
import json

import pytest

from knowledge_mixing.errors import InputError
from knowledge_mixing.io.jsonl import FileSha256, json_lines


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
