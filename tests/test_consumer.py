"""The real training stack's data code on our output, through our own trainer check
(knowledge_mixing/trainer_check.py), run in a Python that has instructlab-training.

That Python is $CHECK_CONSUMER_PYTHON, or the venv ~/.cache/check_consumer/consumer-venv
(instructlab-training 0.16.2, training-hub 0.11.2, a CPU torch: ~2 GB, so not a dependency of
the project; the install line is trainer_check.INSTALL); the tests are skipped where there is
none. The mixed files come from the components' own functions, chained as the pipeline chains
them.
"""
import json
import os
from pathlib import Path

import pytest
from helpers import REPO, read_jsonl, write_jsonl
from standins import example_chain, run_components

from knowledge_mixing.trainer_check import check_cut

CONSUMER_PYTHON = Path(os.environ.get(
    "CHECK_CONSUMER_PYTHON",
    Path(os.environ.get("CHECK_CONSUMER_CACHE", Path.home() / ".cache" / "check_consumer"))
    / "consumer-venv" / "bin" / "python"))

pytestmark = pytest.mark.skipif(
    not CONSUMER_PYTHON.is_file(),
    reason=f"no Python with instructlab-training at {CONSUMER_PYTHON} (set CHECK_CONSUMER_PYTHON)")


def empty_reasoning_replay(path: Path) -> Path:
    """Replay rows whose assistant turn carries `thinking: ""`, `reasoning_content: ""` or
    `thinking: null`, trained (`unmask` true) or not: the trainer wraps reasoning for "" but
    not for null, and our counts must follow it."""
    rows = []
    for keys in ({"thinking": ""}, {"reasoning_content": ""}, {"thinking": None}):
        for unmask in (False, True):
            rows.append({"messages": [
                {"role": "user", "content": "Which module buffers random access streams?"},
                {"role": "assistant", "content": "io.BufferedRandom does.", **keys}],
                "unmask": unmask})
    return write_jsonl(path, rows)


@pytest.mark.parametrize("gpt_oss", [False, True])
def test_trainer_accepts_every_row_counts_token_length_and_trains_end_of_turn(
        step03_layouts, tmp_path, gpt_oss):
    """The sdg_hub 0.4 – 0.9.0 layout (rows with and without reasoning), cut 5, checked with the
    tokenizer files the pipeline fetched. Without the GPT-OSS format, replay rows (system turns,
    `unmask` false: only assistant turns trained; empty reasoning keys) are shuffled in as well
    (one trainer run per format: each takes ~10 s)."""
    recipe = {} if gpt_oss else {"shuffle": True, "replay": [
        {"path": str(REPO / "examples" / "replay" / "general_chat.jsonl"), "token_ratio": 0.5},
        {"path": str(empty_reasoning_replay(tmp_path / "empty.jsonl")), "token_ratio": 0.05}]}
    chain = run_components(tmp_path / "mix", step03=step03_layouts["old"], cut_sizes=[5],
                           save_gpt_oss_format=gpt_oss, recipe=json.dumps(recipe))
    mixed = chain.cuts[5].mixed
    rows = read_jsonl(Path(mixed.path))
    replay = [r for r in rows if json.loads(r["metadata"])["dataset"] == "replay"]
    assert len(replay) == sum(s["mixed"]["samples"] for s in mixed.metadata["replay"])
    assert len(rows) - len(replay) == 135 and (gpt_oss or len(replay) > 10)
    assert gpt_oss or any(m.get("thinking") == "" for r in replay for m in r["messages"])
    reasoning = "thinking" if gpt_oss else "reasoning_content"  # rows with real reasoning too
    assert any(r["messages"][-1].get(reasoning) for r in rows)
    check = check_cut(mixed.path, chain.tokenizer_files.path, None, python=str(CONSUMER_PYTHON))
    assert check["available"] and check["versions"]["instructlab-training"] == "0.16.2"
    assert check["rows"] == check["accepted"] == len(rows)
    assert check["token_length_agrees"] == len(rows)
    assert check["end_of_turn_trained"] == len(rows)
    assert check["problems"] == []


def test_the_check_finds_what_the_trainer_would_not_take(tmp_path_factory, tmp_path):
    """A cut with one wrong token_length, checked under a max_seq_len that some rows reach."""
    chain = example_chain(tmp_path_factory)
    rows = read_jsonl(Path(chain.cuts[1].mixed.path))
    lengths = [r["token_length"] for r in rows]  # what the trainer counts (checked above)
    rows[0]["token_length"] += 1
    limit = sorted(lengths)[-3]  # the trainer keeps length < max_seq_len: the longest go
    path = write_jsonl(tmp_path / "cut", rows)  # named as a KFP Dataset is: no extension
    check = check_cut(str(path), chain.tokenizer_files.path, limit, python=str(CONSUMER_PYTHON))
    assert check["rows"] == len(rows) and check["max_seq_len"] == limit
    assert check["accepted"] == sum(n < limit for n in lengths) < len(rows)
    assert check["token_length_agrees"] == len(rows) - 1
    assert check["end_of_turn_trained"] == len(rows)
    assert check["problems"] == [f"{len(rows) - check['accepted']} rows outside 20 ≤ tokens "
                                 f"< {limit}: the trainer drops them"]
