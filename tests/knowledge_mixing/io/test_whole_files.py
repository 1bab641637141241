"""Files and folders appear under their name whole or not at all."""
import pytest

from knowledge_mixing.io.whole_files import partial_name, write_text_whole, written_whole


def test_a_file_takes_its_name_when_complete(tmp_path):
    path = tmp_path / "plan.json"
    with written_whole(path) as temporary:
        temporary.write_text("{}")
        assert not path.exists() and temporary.parent == tmp_path
    assert path.read_text() == "{}" and list(tmp_path.iterdir()) == [path]


def test_a_failed_write_leaves_nothing_and_the_old_file_as_it_was(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old")
    with pytest.raises(OSError, match="disk full"), written_whole(path) as temporary:
        temporary.write_text("half")
        raise OSError("disk full")
    assert path.read_text() == "old" and list(tmp_path.iterdir()) == [path]


def test_a_folder_replaces_an_empty_one_and_a_failed_one_is_removed(tmp_path):
    folder = tmp_path / "tokenizer_files"
    folder.mkdir()  # as a pipeline's artifact folder may be
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


def test_what_a_killed_writer_left_is_replaced(tmp_path):
    path = tmp_path / "card.md"
    partial_name(path).write_text("left by a killed process")
    write_text_whole(path, "# Data card")
    assert path.read_text() == "# Data card" and list(tmp_path.iterdir()) == [path]
