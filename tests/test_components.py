"""The KFP components' own functions (python_func), called directly with real artifacts."""
import json

import pytest
from conftest import read_jsonl
from kfp import dsl

from components import (
    count_replay,
    count_tokens,
    fetch_tokenizer,
    gather_samples,
    load_summaries,
    mix_cut,
    plan_cuts,
    select_cut,
    shard_indices,
)
from knowledge_mixing.tokens import BUNDLED_TOKENIZER


def artifact(cls, path, **metadata):
    return cls(name=path.name, uri=str(path), metadata=dict(metadata))


@pytest.fixture(scope="module")
def counted(step03_layouts, tmp_path_factory):
    work = tmp_path_factory.mktemp("components")
    summaries = artifact(dsl.Dataset, work / "summaries")
    load_metrics = artifact(dsl.Metrics, work / "load_metrics")
    load_summaries.python_func(step03=artifact(dsl.Artifact, step03_layouts["mixed"]),
                               summaries=summaries, metrics=load_metrics)
    tokenizer_files = artifact(dsl.Artifact, work / "tokenizer")
    fetch_tokenizer.python_func(tokenizer=BUNDLED_TOKENIZER, tokenizer_files=tokenizer_files)
    plan = artifact(dsl.Artifact, work / "plan")
    feasible = plan_cuts.python_func(summaries=summaries, plan=plan, cut_sizes=[10, 1, 5],
                                     qa_per_doc=3, seed=42, shards=2)
    shards = []
    for shard in shard_indices.python_func(shards=2):
        shards.append(artifact(dsl.Dataset, work / f"shard{shard}"))
        count_tokens.python_func(
            summaries=summaries, tokenizer_files=tokenizer_files, plan=plan, samples=shards[-1],
            metrics=artifact(dsl.Metrics, work / f"count_metrics{shard}"), shard=shard, shards=2)
    samples = artifact(dsl.Dataset, work / "samples")
    gather_samples.python_func(shards=shards[::-1], samples=samples)
    replay = artifact(dsl.Dataset, work / "replay")
    count_replay.python_func(tokenizer_files=tokenizer_files, plan=plan, replay=replay)
    return work, summaries, load_metrics, samples, plan, feasible, replay


def test_load_summaries_reports_counts_per_set(counted):
    _, summaries, metrics, *_ = counted
    assert summaries.metadata["sets"]["key_facts_to_qa"]["rows_kept"] == 32
    assert summaries.metadata["absent_sets"] == []
    assert metrics.metadata["extractive_summary.rows_read"] == 60


def test_fetch_tokenizer_saves_files_that_count_the_same(counted, qwen_tokenizer):
    work = counted[0]
    assert (work / "tokenizer" / "tokenizer.json").is_file()
    from knowledge_mixing.counting import count_tokens as count
    from knowledge_mixing.tokens import load_tokenizer

    conversation = [[{"role": "user", "content": "In the Bessemer process, who?"},
                     {"role": "assistant", "content": "Henry Bessemer.", "reasoning_content": "r."}]]
    assert count(load_tokenizer(str(work / "tokenizer")), conversation) == count(qwen_tokenizer, conversation)


def test_plan_count_and_gather_report_what_they_did(counted):
    *_, samples, plan, feasible, replay = counted
    assert feasible == [1, 5]
    assert set(plan.metadata["infeasible_cuts"]) == {"10"}
    written = json.load(open(plan.path))
    assert written["infeasible_cuts"]["10"].startswith("extractive_summary averages 5.00")
    assert written["recipe"]["cut_sizes"] == [1, 5, 10] and written["recipe"]["seed"] == 42
    assert sorted(written["input_sha256"]) == [f"{name}/gen.jsonl" for name in (
        "detailed_summary", "document_based_qa", "extractive_summary", "key_facts_to_qa")]
    assert replay.metadata["sources"] == []
    assert samples.metadata["tokenizer"] == BUNDLED_TOKENIZER
    assert samples.metadata["rows_counted"] == 134 and samples.metadata["tokens_counted"] > 0


def test_mix_cut_and_select_cut(counted):
    work, _, _, samples, plan, feasible, replay = counted
    cuts = []
    for cut in feasible:
        mixed = artifact(dsl.Dataset, work / f"mixed_{cut}")
        validation = artifact(dsl.Dataset, work / f"validation_{cut}")
        metrics = artifact(dsl.Metrics, work / f"mix_metrics_{cut}")
        report = artifact(dsl.Markdown, work / f"report_{cut}.md")
        mix_cut.python_func(samples=samples, replay=replay, plan=plan, cut=cut, mixed=mixed,
                            validation=validation, metrics=metrics, report=report)
        assert open(validation.path).read() == ""
        assert mixed.metadata["recipe_sha256"] == json.load(open(plan.path))["recipe_sha256"]
        assert len(mixed.metadata["input_sha256"]) == 4
        assert open(report.path).read().startswith(f"# Cut {cut}: {len(read_jsonl(mixed.path))} samples")
        rows = read_jsonl(mixed.path)
        assert mixed.metadata["samples"] == metrics.metadata["samples"] == len(rows)
        assert mixed.metadata["file_name"] == f"combined_cut_{cut}x.jsonl"
        assert metrics.metadata["key_facts_to_qa.mixed.samples"] == 32
        cuts.append(mixed)
    for cut in cuts:  # as KFP hands metadata back: numbers as floats
        cut.metadata.update(json.loads(json.dumps(cut.metadata), parse_int=float))
    training = artifact(dsl.Dataset, work / "training")
    comparison = artifact(dsl.Markdown, work / "comparison.md")
    select_cut.python_func(cuts=cuts, training_dataset=training, comparison=comparison, train_cut=0)
    assert open(training.path).read() == open(cuts[-1].path).read()
    assert "| 5 ← training | 134 |" in open(comparison.path).read()
    select_cut.python_func(cuts=cuts, training_dataset=training, comparison=comparison, train_cut=1)
    assert open(training.path).read() == open(cuts[0].path).read()
    with pytest.raises(ValueError, match="cut 7 was not produced"):
        select_cut.python_func(cuts=cuts, training_dataset=training, comparison=comparison,
                               train_cut=7)


def test_load_summaries_takes_one_dataset_per_set(counted, step03_layouts, tmp_path):
    from knowledge_mixing.load import InputError
    from knowledge_mixing.sets import SET_NAMES

    _, folder_summaries, folder_metrics, *_ = counted
    datasets = {}
    for name in SET_NAMES:
        (tmp_path / name).write_bytes((step03_layouts["mixed"] / name / "gen.jsonl").read_bytes())
        datasets[name] = artifact(dsl.Dataset, tmp_path / name)
    summaries = artifact(dsl.Dataset, tmp_path / "summaries")
    metrics = artifact(dsl.Metrics, tmp_path / "metrics")
    load_summaries.python_func(summaries=summaries, metrics=metrics, **datasets)
    assert summaries.metadata["sets"] == folder_summaries.metadata["sets"]
    assert metrics.metadata == folder_metrics.metadata
    assert open(summaries.path, "rb").read() == open(folder_summaries.path, "rb").read()
    with pytest.raises(InputError, match="no input given"):
        load_summaries.python_func(summaries=summaries, metrics=metrics)
    with pytest.raises(InputError, match="set detailed_summary is given twice"):
        load_summaries.python_func(summaries=summaries, metrics=metrics,
                                   step03=artifact(dsl.Artifact, step03_layouts["mixed"]),
                                   detailed_summary=datasets["detailed_summary"])
