"""The real training stack's data code (../shared/tools/check_consumer.py) on our output.

Runs where the consumer venv of check_consumer.md exists (it needs torch and
instructlab-training, ~2 GB, so it is not a project dependency); skipped elsewhere. The mixed
files come from the components' own functions, chained as the pipeline chains them.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import REPO
from standins import run_components

from knowledge_mixing.tokenizer import bundled_tokenizer_dir

CHECKER = REPO.parent / "shared" / "tools" / "check_consumer.py"
CONSUMER_PYTHON = Path(os.environ.get(
    "CHECK_CONSUMER_PYTHON",
    Path(os.environ.get("CHECK_CONSUMER_CACHE", Path.home() / ".cache" / "check_consumer"))
    / "consumer-venv" / "bin" / "python"))

pytestmark = pytest.mark.skipif(
    not (CHECKER.is_file() and CONSUMER_PYTHON.is_file()),
    reason="check_consumer.py or its consumer venv (see shared/tools/check_consumer.md) is absent")


def consumer_report(mixed, out) -> dict:
    """check_consumer.py's report on one mixed cut (copied to the name `run` gives it: Training
    Hub reads a file by its .jsonl extension), after it accepted the file."""
    path = out.parent / mixed.metadata["file_name"]
    shutil.copyfile(mixed.path, path)
    result = subprocess.run(
        [str(CONSUMER_PYTHON), str(CHECKER), str(path), "--tokenizer", str(bundled_tokenizer_dir()),
         "--out", str(out), "--no-ablation"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("gpt_oss", [False, True])
def test_trainer_accepts_every_row_counts_token_length_and_trains_end_of_turn(
        step03_layouts, tmp_path, gpt_oss):
    """The sdg_hub 0.4 – 0.9.0 layout (rows with and without reasoning), cut 5. Without the
    GPT-OSS format, replay rows (system turns, `unmask` false: only assistant turns trained) are
    shuffled in as well (one consumer run per format: it takes ~15 s)."""
    recipe = {} if gpt_oss else {"shuffle": True, "replay": [
        {"path": str(REPO / "examples" / "replay" / "general_chat.jsonl"), "token_ratio": 0.5}]}
    mixed = run_components(tmp_path / "mix", step03=step03_layouts["old"], cut_sizes=[5],
                           save_gpt_oss_format=gpt_oss, recipe=json.dumps(recipe)).cuts[5].mixed
    report = consumer_report(mixed, tmp_path / "check")
    lines = Path(mixed.path).read_text().splitlines()
    replay = sum(json.loads(json.loads(line)["metadata"])["dataset"] == "replay" for line in lines)
    assert replay == (0 if gpt_oss else mixed.metadata["replay"][0]["mixed"]["samples"])
    assert len(lines) - replay == 134 and (gpt_oss or replay > 10)
    rows = report["token_length_comparison"]["rows_compared"]
    assert rows == len(lines)
    assert report["token_length_comparison"]["equal"] == rows
    eos = report["stage3_per_row"]["eos_supervision_kept"]
    assert eos["rows_where_no_assistant_eos_is_trained"] == 0
    assert eos["eos_tokens_trained"] == eos["assistant_turns"] >= rows
