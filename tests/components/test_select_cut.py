"""select_cut: the cut training uses, every produced cut side by side, and the run summary."""
import inspect
import json

import pytest
from kfp import dsl
from standins import artifact, as_kfp_returns, example_chain

from components import select_cut
from knowledge_mixing.errors import ParameterError
from knowledge_mixing.parameters import STAGE_PARAMETERS
from knowledge_mixing.run_summary import run_summary

PARAMETERS = {"cut_sizes": [10.0, 1.0, 5.0], "qa_per_doc": 3, "seed": 42,
              "save_gpt_oss_format": False, "trust_remote_code": False, "shards": 3,
              "training_max_seq_len": 0, "max_sample_chars": 2_000_000, "check_with_trainer": False,
              "recipe": ""}
"""The chain's parameters, as KFP hands them over (list items as floats)."""


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


@pytest.fixture(scope="module")
def cuts(chain):
    # as KFP hands the collected cuts over: numbers in the metadata as floats
    return [artifact(dsl.Dataset, c.mixed.path, **as_kfp_returns(c.mixed.metadata))
            for c in chain.cuts.values()]


def select(chain, cuts, tmp_path, train_cut):
    training = artifact(dsl.Dataset, tmp_path / "training")
    comparison = artifact(dsl.Markdown, tmp_path / "comparison.md")
    summary = artifact(dsl.Artifact, tmp_path / "summary.json")
    select_cut.python_func(cuts=cuts, plan=chain.plan, training_dataset=training,
                           comparison=comparison, run_summary=summary,
                           loaded=as_kfp_returns(chain.knowledge_rows.metadata),
                           counted=as_kfp_returns(chain.samples.metadata), train_cut=train_cut,
                           **PARAMETERS)
    return training, open(comparison.path).read(), json.load(open(summary.path))


def test_the_largest_cut_by_default(chain, cuts, tmp_path):
    training, comparison, _ = select(chain, cuts, tmp_path, 0)
    assert open(training.path, "rb").read() == open(cuts[-1].path, "rb").read()
    assert training.metadata == cuts[-1].metadata and training.metadata["cut"] == 5
    assert "| 5 ← training | 135 |" in comparison
    assert "| 1 | 69 |" in comparison


def test_train_cut_names_another(chain, cuts, tmp_path):
    training, comparison, summary = select(chain, cuts, tmp_path, 1)
    assert summary["training_cut"] == 1
    assert open(training.path, "rb").read() == open(cuts[0].path, "rb").read()
    assert "| 1 ← training | 69 |" in comparison


def test_a_cut_that_was_not_produced_fails(chain, cuts, tmp_path):
    with pytest.raises(ParameterError, match=r"train_cut: cut 7 was not produced "
                       r"\(produced: \[1, 5\]\)"):
        select(chain, cuts, tmp_path, 7)


def test_the_run_summary_is_what_run_writes_less_its_files(chain, cuts, tmp_path):
    """From the small reports only (load's and gather's returned metadata, the plan, the cuts'
    metadata), so the task never downloads the knowledge rows or the samples."""
    _, _, summary = select(chain, cuts, tmp_path, 0)
    plan = json.load(open(chain.plan.path))
    assert summary == run_summary(
        {"tokenizer": "bundled-qwen", "cut_sizes": [10, 1, 5], "train_cut": 0,
         **{k: v for k, v in PARAMETERS.items() if k != "cut_sizes"}},
        chain.knowledge_rows.metadata, plan, chain.samples.metadata,
        [c.mixed.metadata for c in chain.cuts.values()], 5)
    assert list(summary["parameters"]) == ["tokenizer", *(s.name for s in STAGE_PARAMETERS)]
    assert summary["cuts"]["5"]["samples"] == 135 and "files" not in summary


def test_it_records_every_stage_parameter():
    inputs = set(inspect.signature(select_cut.python_func).parameters)
    assert {s.name for s in STAGE_PARAMETERS} <= inputs
