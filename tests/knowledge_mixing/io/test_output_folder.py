"""OutputFolder.stage: each file's record (sha256, bytes, rows) — the writer's when the file gets a
second name, measured when it is copied. (Failures, kills and full disks: tests/test_faults.py.)"""
import hashlib
import os

import pytest

from knowledge_mixing.io.output_folder import OutputFolder

LINES = b'{"a": 1}\n' * 1000


def measured(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "rows": data.count(b"\n")}


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "work" / "cut.jsonl"
    path.parent.mkdir()
    path.write_bytes(LINES)
    return path


def test_a_linked_file_keeps_the_record_its_writer_measured(tmp_path, source):
    """A second name holds the writer's bytes: the record is taken as given (numbers from KFP
    metadata arrive as floats), not read again."""
    writers = {"sha256": "0" * 64, "bytes": 9000.0, "rows": 1000.0}
    with OutputFolder(tmp_path / "out") as out:
        assert out.stage("combined_cut_1x.jsonl", source, writers) == \
            {"sha256": "0" * 64, "bytes": 9000, "rows": 1000}
        out.commit({})
    assert os.path.samefile(tmp_path / "out" / "combined_cut_1x.jsonl", source)


def test_without_a_record_the_linked_file_is_measured(tmp_path, source):
    with OutputFolder(tmp_path / "out") as out:
        assert out.stage("combined_cut_1x.jsonl", source) == measured(LINES)


def test_a_copied_file_is_measured_as_it_is_copied(tmp_path, source, monkeypatch):
    """Another file system (no hard link): the copy's own bytes are measured, whatever the
    writer said."""
    def no_link(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    with OutputFolder(tmp_path / "out") as out:
        assert out.stage("combined_cut_1x.jsonl", source, {"sha256": "0" * 64, "bytes": 1,
                                                            "rows": 1}) == measured(LINES)
        out.commit({})
    copy = tmp_path / "out" / "combined_cut_1x.jsonl"
    assert copy.read_bytes() == LINES and not os.path.samefile(copy, source)
