"""The trainer check where instructlab-training is absent (this project's own environment):
one line that says so and how to install it. With the trainer: tests/test_consumer.py."""
import sys

import pytest
from helpers import mix_counted

from knowledge_mixing.trainer_check import (
    INSTALL,
    check_cut,
    main,
    summary_line,
    trainer_installed,
)

pytestmark = pytest.mark.skipif(trainer_installed(), reason="instructlab-training is installed here")


def test_without_the_trainer_the_check_says_so_and_how_to_install_it(tmp_path, capsys):
    check = check_cut(str(tmp_path / "cut.jsonl"), str(tmp_path), None)
    assert check == {"available": False, "message": (
        f"trainer check skipped: instructlab-training is not installed for {sys.executable}; to "
        f"check each cut with the trainer's own data processing, install it there: {INSTALL}")}
    assert summary_line(check) == check["message"]
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu && " \
        "pip install instructlab-training==0.16.2 training-hub==0.11.2" == INSTALL
    assert main([str(tmp_path / "cut.jsonl"), "--tokenizer", str(tmp_path)]) == 3
    assert capsys.readouterr().err == check["message"] + "\n"


def test_a_cut_asked_to_be_checked_carries_the_message(counted, tmp_path):
    mixed = mix_counted(counted("new"), tmp_path, cuts=[1], check_with_trainer=True)
    message = mixed.reports[1]["trainer_check"]["message"]
    assert message.startswith("trainer check skipped: instructlab-training is not installed")
    assert f"## Trainer check\n\n{message}\n" in mixed.markdown[1].read_text()
