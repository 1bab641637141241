"""The real training stack's data code (../shared/tools/check_consumer.py) on our output.

Runs where the consumer venv of check_consumer.md exists (it needs torch and
instructlab-training, ~2 GB, so it is not a project dependency); skipped elsewhere.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from test_stages import mix

from knowledge_mixing.tokens import bundled_tokenizer_dir

CHECKER = REPO.parent / "shared" / "tools" / "check_consumer.py"
CONSUMER_PYTHON = Path(os.environ.get(
    "CHECK_CONSUMER_PYTHON",
    Path(os.environ.get("CHECK_CONSUMER_CACHE", Path.home() / ".cache" / "check_consumer"))
    / "consumer-venv" / "bin" / "python"))

pytestmark = pytest.mark.skipif(
    not (CHECKER.is_file() and CONSUMER_PYTHON.is_file()),
    reason="check_consumer.py or its consumer venv (see shared/tools/check_consumer.md) is absent")


def consumer_report(path, out) -> dict:
    """check_consumer.py's report on one mixed JSONL, after it accepted the file."""
    result = subprocess.run(
        [str(CONSUMER_PYTHON), str(CHECKER), str(path), "--tokenizer", str(bundled_tokenizer_dir()),
         "--out", str(out), "--no-ablation"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("gpt_oss", [False, True])
def test_trainer_accepts_every_row_counts_token_length_and_trains_end_of_turn(
        step03_layouts, tmp_path, gpt_oss):
    outputs, _, _ = mix(step03_layouts["old"], tmp_path / "mix", cut_sizes=[5], gpt_oss=gpt_oss)
    report = consumer_report(outputs[5], tmp_path / "check")
    rows = report["token_length_comparison"]["rows_compared"]
    assert rows == 134
    assert report["token_length_comparison"]["equal"] == rows
    eos = report["stage3_per_row"]["eos_supervision_kept"]
    assert eos["rows_where_no_assistant_eos_is_trained"] == 0
    assert eos["eos_tokens_trained"] == eos["assistant_turns"] == rows


def test_trainer_counts_replay_rows_as_we_do(step03_layouts, tmp_path):
    """Replay rows (system turns, `unmask` false: only assistant turns trained) mixed in."""
    outputs, _, _ = mix(step03_layouts["new"], tmp_path / "mix", cut_sizes=[1], shuffle=True,
                        replay=[{"path": str(REPO / "examples" / "replay" / "general_chat.jsonl"),
                                 "token_ratio": 0.5}])
    report = consumer_report(outputs[1], tmp_path / "check")
    rows = report["token_length_comparison"]["rows_compared"]
    replay = sum(json.loads(json.loads(line)["metadata"])["dataset"] == "replay"
                 for line in outputs[1].read_text().splitlines())
    assert rows == len(outputs[1].read_text().splitlines()) and replay > 10
    assert report["token_length_comparison"]["equal"] == rows
    assert report["stage3_per_row"]["eos_supervision_kept"]["rows_where_no_assistant_eos_is_trained"] == 0
