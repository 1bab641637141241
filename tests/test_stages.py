"""The stage bodies on the example data: the cut rules end to end, determinism, statistics."""
import json
from collections import defaultdict

import pytest
from conftest import read_jsonl

from knowledge_mixing.recipe import Recipe, apply_recipe
from knowledge_mixing.sampling import ParameterError
from knowledge_mixing.stages import (
    count_stage,
    gather_stage,
    load_stage,
    mix_stage,
    plan_stage,
    replay_stage,
    select_training_cut,
)
from knowledge_mixing.tokens import BUNDLED_TOKENIZER

SUMMARIES_PER_DOC = (6, 5, 4)  # examples/make_step_03.py


def mix(step03_dir, tmp_path, cut_sizes=(1, 5, 10), qa_per_doc=3, seed=42, gpt_oss=False,
        **recipe_keys):
    """Run load → plan → count → replay → mix for every feasible cut under a recipe of these
    keys; return {cut: path} (validation files next to them), the load and the plan reports."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    recipe = apply_recipe({"cut_sizes": list(cut_sizes), "qa_per_doc": qa_per_doc, "seed": seed,
                           **recipe_keys})
    summaries, samples = tmp_path / "summaries.parquet", tmp_path / "samples.parquet"
    replay = tmp_path / "replay.parquet"
    loaded = load_stage(str(step03_dir), str(summaries), gpt_oss)
    plan = plan_stage(str(summaries), recipe, 1, loaded["input_sha256"])
    count_stage(str(summaries), str(samples), plan["feasible_cuts"], recipe, BUNDLED_TOKENIZER,
                gpt_oss)
    replay_stage(recipe, BUNDLED_TOKENIZER, False, str(replay))
    outputs = {}
    for cut in plan["feasible_cuts"]:
        outputs[cut] = tmp_path / f"combined_cut_{cut}x.jsonl"
        report = mix_stage(str(samples), str(replay), recipe, cut, str(outputs[cut]),
                           str(tmp_path / f"validation_cut_{cut}x.jsonl"))
        assert report["cut"] == cut
        plan.setdefault("cuts", {})[cut] = report
    return outputs, loaded, plan


def set_of(row):
    """Which set a row came from, read back from its content."""
    if row["messages"][0]["content"].startswith("In "):
        return "key_facts_to_qa"
    if row["document"] == row["raw_document"]:
        return "document_based_qa"
    return "summary"


@pytest.mark.parametrize("layout", ["old", "new", "mixed"])
def test_cuts_follow_the_reference_rules(step03_layouts, tmp_path, layout):
    outputs, loaded, plan = mix(step03_layouts[layout], tmp_path)
    assert plan["feasible_cuts"] == [1, 5]
    assert "averages 5.00" in plan["infeasible_cuts"]["10"]
    source = {name: [json.loads(line) for line in open(step03_layouts[layout] / name / "gen.jsonl")]
              for name in ("extractive_summary", "detailed_summary")}
    for cut, path in outputs.items():
        rows = read_jsonl(path)
        summary_rows = [r for r in rows if set_of(r) == "summary"]
        expected_per_set = sum(min(cut, s) for s in SUMMARIES_PER_DOC) * 3
        assert len(summary_rows) == 2 * expected_per_set
        assert sum(set_of(r) == "key_facts_to_qa" for r in rows) == 32
        assert sum(set_of(r) == "document_based_qa" for r in rows) == 18
        # sets in SPEC order: summaries, then key facts, then document QA
        order = [set_of(r) for r in rows]
        assert order == sorted(order, key=["summary", "key_facts_to_qa", "document_based_qa"].index)
        for source_rows in source.values():
            questions_of = defaultdict(list)
            for r in source_rows:
                questions_of[r["document"]].append(r["question"])
            picked = defaultdict(list)
            for r in summary_rows:
                if r["document"] in questions_of:
                    picked[r["document"]].append(r["question"])
            per_raw = defaultdict(set)
            for r in summary_rows:
                if r["document"] in questions_of:
                    per_raw[r["raw_document"]].add(r["document"])
            assert sorted(map(len, per_raw.values())) == sorted(min(cut, s) for s in SUMMARIES_PER_DOC)
            for document, questions in picked.items():
                assert questions == questions_of[document][:3]  # the first qa_per_doc, file order
        for r in rows:
            assert r["unmask"] is True and isinstance(r["token_length"], int)
            assert json.loads(r["metadata"])["sdg_document"] == r["document"]
            assert all("thinking" not in m for m in r["messages"])
    # nested: every line of cut 1 is in cut 5
    assert set(outputs[1].read_text().splitlines()) <= set(outputs[5].read_text().splitlines())


def test_same_seed_same_bytes_other_seed_other_mix(step03_layouts, tmp_path):
    first, _, _ = mix(step03_layouts["mixed"], tmp_path / "a")
    second, _, _ = mix(step03_layouts["mixed"], tmp_path / "b")
    other, _, _ = mix(step03_layouts["mixed"], tmp_path / "c", seed=7)
    for cut in first:
        assert first[cut].read_bytes() == second[cut].read_bytes()
    assert first[1].read_bytes() != other[1].read_bytes()


def test_qa_per_doc_limits_pairs_per_summary(step03_layouts, tmp_path):
    outputs, _, plan = mix(step03_layouts["new"], tmp_path, cut_sizes=[5], qa_per_doc=1)
    rows = read_jsonl(outputs[5])
    assert sum(set_of(r) == "summary" for r in rows) == 2 * 14
    assert plan["recipe"]["qa_per_doc"] == 1


def test_statistics_count_key_facts_blocks_as_raw_documents(step03_layouts, tmp_path):
    outputs, _, plan = mix(step03_layouts["new"], tmp_path, cut_sizes=[1])
    report = plan["cuts"][1]
    assert report["sets"]["key_facts_to_qa"] == {
        "samples": 32, "tokens": report["sets"]["key_facts_to_qa"]["tokens"],
        "raw_documents": 3, "summaries": 3}
    assert report["sets"]["extractive_summary"]["summaries"] == 3
    assert report["samples"] == sum(s["samples"] for s in report["sets"].values())
    assert report["tokens"] == sum(r["token_length"] for r in read_jsonl(outputs[1]))


def test_no_feasible_cut_fails_in_the_plan(step03_layouts, tmp_path):
    summaries = tmp_path / "s.parquet"
    load_stage(str(step03_layouts["new"]), str(summaries), False)
    with pytest.raises(ParameterError, match="extractive_summary 5.00"):
        plan_stage(str(summaries), Recipe(cut_sizes=(10, 20)), 1, {})
    with pytest.raises(ParameterError, match="shards: 0 is not an integer ≥ 1"):
        plan_stage(str(summaries), Recipe(cut_sizes=(1,)), 0, {})


@pytest.mark.parametrize("shards", [2, 5])
def test_shards_partition_by_raw_document_and_gather_to_the_same_samples(tmp_path, shards):
    import sys

    import pyarrow.parquet as pq
    from conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    import make_data

    make_data.write(tmp_path / "in", raw_documents=8, layout="new")
    summaries = tmp_path / "s.parquet"
    load_stage(str(tmp_path / "in"), str(summaries), False)
    whole = tmp_path / "whole.parquet"
    recipe = Recipe(cut_sizes=(1, 5, 20))
    count_stage(str(summaries), str(whole), [1, 5, 20], recipe, BUNDLED_TOKENIZER, False)
    parts = []
    for shard in range(shards):
        parts.append(tmp_path / f"part{shard}.parquet")
        report = count_stage(str(summaries), str(parts[-1]), [1, 5, 20], recipe,
                             BUNDLED_TOKENIZER, False, shard=shard, shards=shards)
        assert report["rows_counted"] > 0
        raw = [r for r in pq.read_table(parts[-1])["raw_document"].to_pylist() if r]
        assert all(r not in set(raw) for p in parts[:-1]
                   for r in pq.read_table(p)["raw_document"].to_pylist() if r)
    gathered = tmp_path / "gathered.parquet"
    gather_stage([str(p) for p in parts], str(gathered))
    assert pq.read_table(gathered).equals(pq.read_table(whole))


def test_gpt_oss_format_writes_thinking_only_with_reasoning(step03_layouts, tmp_path):
    outputs, loaded, _ = mix(step03_layouts["old"], tmp_path, cut_sizes=[5], gpt_oss=True)
    assistants = [r["messages"][1] for r in read_jsonl(outputs[5])]
    assert any("thinking" in m for m in assistants)
    assert all(m["thinking"] for m in assistants if "thinking" in m)
    assert not any("reasoning_content" in m for m in assistants)


def test_select_training_cut():
    assert select_training_cut([1.0, 10.0, 5.0], 0) == 1
    assert select_training_cut([1, 10, 5], 5) == 2
    with pytest.raises(ParameterError, match=r"train_cut: cut 3 was not produced \(produced: \[1, 5, 10\]\)"):
        select_training_cut([1, 10, 5], 3)


def test_rebatched_gives_full_batches_in_order():
    import pyarrow as pa

    from knowledge_mixing.stages import rebatched

    tables = [pa.table({"x": list(range(start, start + n))})
              for start, n in ((0, 3), (3, 5), (8, 1), (9, 7), (16, 2))]
    out = list(rebatched(tables, 4))
    assert [t.num_rows for t in out] == [4, 4, 4, 4, 2]
    assert [x for t in out for x in t["x"].to_pylist()] == list(range(18))
    assert [t.num_rows for t in rebatched([pa.table({"x": list(range(8))})], 4)] == [4, 4]
    assert list(rebatched([], 4)) == []
