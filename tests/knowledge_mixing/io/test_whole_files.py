"""Files and folders appear under their name whole or not at all."""
import os
import stat

import pytest

from knowledge_mixing.io import whole_files
from knowledge_mixing.io.whole_files import left_partials, partial_name, write_text_whole, \
    written_whole


def test_a_file_takes_its_name_when_complete(tmp_path):
    path = tmp_path / "plan.json"
    with written_whole(str(path)) as temporary:
        temporary.write_text("{}")
        assert not path.exists() and temporary.parent == tmp_path
        assert temporary.name.startswith(".plan.json.")
    assert path.read_text() == "{}" and list(tmp_path.iterdir()) == [path]


def test_a_failed_write_leaves_nothing_and_the_old_file_as_it_was(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old")
    with pytest.raises(OSError, match="disk full"), written_whole(path) as temporary:
        temporary.write_text("half")
        raise OSError("disk full")
    assert path.read_text() == "old" and list(tmp_path.iterdir()) == [path]


def test_the_error_that_stopped_the_writing_is_the_one_raised(tmp_path, monkeypatch):
    """A clean-up that fails too (a disk gone read-only) does not hide why the writing stopped."""
    def cannot_remove(path):
        raise PermissionError(13, "read-only file system", str(path))

    with pytest.raises(ValueError, match="bad row"), written_whole(tmp_path / "t") as temporary:
        temporary.write_text("half")
        monkeypatch.setattr(whole_files, "remove", cannot_remove)
        raise ValueError("bad row")


def test_a_folder_replaces_an_empty_one_and_a_failed_one_is_removed(tmp_path):
    folder = tmp_path / "tokenizer_files"
    folder.mkdir()
    with written_whole(folder) as temporary:
        temporary.mkdir()
        (temporary / "tokenizer.json").write_text("{}")
    assert [p.name for p in folder.iterdir()] == ["tokenizer.json"]
    other = tmp_path / "other"
    with pytest.raises(RuntimeError), written_whole(other) as temporary:
        temporary.mkdir()
        (temporary / "tokenizer.json").write_text("{")
        raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer_files"]


def test_a_symlink_is_written_through_and_the_target_keeps_its_permissions(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text_whole(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_pipe_is_written_directly(tmp_path):
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text_whole(pipe, "through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_a_missing_folder_is_named_by_the_files_own_name(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no such folder to write in: .*missing/r\.json'"):
        write_text_whole(tmp_path / "missing" / "r.json", "{}")


def test_what_killed_writers_left_is_found_and_this_process_replaces_its_own(tmp_path):
    path = tmp_path / "card.md"
    partial_name(path).write_text("left by a killed process with this id")
    other = tmp_path / ".card.md.1.partial"
    other.write_text("left by another")
    assert left_partials(path) == sorted([partial_name(path), other])
    write_text_whole(path, "# Data card")
    assert path.read_text() == "# Data card" and left_partials(path) == [other]
