"""The mix stage on the example data: the cut rules, nesting, determinism, statistics, and every
recipe step on real cuts (docs/behaviour.md#sampling, #nesting, #recipe-order, #determinism,
#outputs). Samples are counted once per session (the `counted` fixture); each test mixes them
under its own recipe with the plan and mix stages."""
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import (
    CHAT,
    SUMMARIES_PER_DOC,
    count_replay,
    dataset_of,
    lines,
    mix,
    mix_counted,
    read_jsonl,
    set_of,
    write_jsonl,
)

from knowledge_mixing.errors import ParameterError
from knowledge_mixing.sets import SET_NAMES


def same(text):
    """A document up to whitespace, as the sampling compares documents."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def plain(counted, tmp_path_factory):
    """Cuts 1 to 5 of the example data ('mixed' layout, seed 42, qa_per_doc 3), default recipe."""
    return mix_counted(counted("mixed"), tmp_path_factory.mktemp("plain"))


# ---------------------------------------------------------------------------- the cut rules


@pytest.mark.parametrize("layout", ["old", "new", "mixed"])
def test_cuts_follow_the_reference_rules(counted, step03_layouts, tmp_path, layout):
    """Per raw document min(cut, summaries) summaries, the first qa_per_doc pairs of each, whole
    unsampled sets, in set order. The example spells one raw document and one summary two ways
    (whitespace): each is still one document, so cut sizes and qa_per_doc hold for it."""
    mixed = mix_counted(counted(layout), tmp_path)
    assert mixed.plan["feasible_cuts"] == [1, 2, 3, 4, 5]
    assert mixed.plan["infeasible_cuts"] == {"10": (
        "extractive_summary averages 5.00 summaries per raw document (< 10); "
        "detailed_summary averages 5.00 summaries per raw document (< 10)")}
    source = {name: read_jsonl(step03_layouts[layout] / name / "gen.jsonl")
              for name in ("extractive_summary", "detailed_summary")}
    for cut, path in mixed.outputs.items():
        rows = read_jsonl(path)
        summary_rows = [r for r in rows if set_of(r) == "summary"]
        expected_per_set = sum(min(cut, s) for s in SUMMARIES_PER_DOC) * 3
        assert len(summary_rows) == 2 * expected_per_set
        assert sum(set_of(r) == "key_facts_to_qa" for r in rows) == 33
        assert sum(set_of(r) == "document_based_qa" for r in rows) == 18
        # sets in order: summaries, then key facts, then document QA
        order = [set_of(r) for r in rows]
        assert order == sorted(order, key=["summary", "key_facts_to_qa", "document_based_qa"].index)
        for source_rows in source.values():  # documents compared up to whitespace
            questions_of = defaultdict(list)
            for r in source_rows:
                questions_of[same(r["document"])].append(r["question"])
            picked = defaultdict(list)
            per_raw = defaultdict(set)
            for r in summary_rows:
                if same(r["document"]) in questions_of:
                    picked[same(r["document"])].append(r["question"])
                    per_raw[same(r["raw_document"])].add(same(r["document"]))
            assert sorted(map(len, per_raw.values())) == sorted(min(cut, s) for s in SUMMARIES_PER_DOC)
            for document, questions in picked.items():
                assert questions == questions_of[document][:3]  # the first qa_per_doc, file order
        for r in rows:
            assert r["unmask"] is True and isinstance(r["token_length"], int)
            assert json.loads(r["metadata"])["sdg_document"] == r["document"]
            assert all("thinking" not in m for m in r["messages"])
        report = mixed.reports[cut]
        assert report["samples"] == len(rows)
        assert report["tokens"] == sum(r["token_length"] for r in rows)
        assert list(report["sets"]) == list(SET_NAMES)
    # nested: every line of cut 1 is in cut 5
    assert set(lines(mixed.outputs[1])) <= set(lines(mixed.outputs[5]))


def test_every_cut_is_nested_in_the_next(plain):
    """Cut N's summaries and Q&A rows are a subset of cut N+1's, for every consecutive pair of
    feasible cuts, not only the smallest against the largest (docs/behaviour.md#nesting)."""
    cuts = plain.plan["feasible_cuts"]
    assert cuts == [1, 2, 3, 4, 5]
    for smaller, larger in zip(cuts, cuts[1:]):
        small, large = read_jsonl(plain.outputs[smaller]), read_jsonl(plain.outputs[larger])
        summaries = {r["document"] for r in small if set_of(r) == "summary"}
        larger_summaries = {r["document"] for r in large if set_of(r) == "summary"}
        assert summaries < larger_summaries, (smaller, larger)
        assert set(lines(plain.outputs[smaller])) < set(lines(plain.outputs[larger])), (smaller, larger)


def test_a_cut_does_not_depend_on_the_other_cut_sizes(plain, step03_layouts, tmp_path):
    """Cuts 1 and 2 of a run asking for [1, 2] are the bytes of cuts 1 and 2 of a run asking
    for [1, 2, 3, 4, 5, 10] (another run from scratch: the same seed gives the same bytes)
    (docs/behaviour.md#determinism)."""
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path, cut_sizes=[1, 2])
    assert plan["feasible_cuts"] == [1, 2]
    for cut in (1, 2):
        assert outputs[cut].read_bytes() == plain.outputs[cut].read_bytes()


def test_another_seed_gives_another_mix(plain, step03_layouts, tmp_path):
    other, _, _ = mix(step03_layouts["mixed"], tmp_path, cut_sizes=[1], seed=7)
    assert other[1].read_bytes() != plain.outputs[1].read_bytes()
    assert sorted(map(set_of, read_jsonl(other[1]))) == sorted(map(set_of, read_jsonl(plain.outputs[1])))


def test_qa_per_doc_limits_pairs_per_summary(counted, tmp_path):
    mixed = mix_counted(counted("new", qa_per_doc=1, cut_sizes=(5,)), tmp_path)
    rows = read_jsonl(mixed.outputs[5])
    assert sum(set_of(r) == "summary" for r in rows) == 2 * 14
    assert sum(set_of(r) != "summary" for r in rows) == 33 + 18  # unsampled sets: every row
    assert mixed.plan["recipe"]["qa_per_doc"] == 1


def test_statistics_count_key_facts_blocks_as_raw_documents(counted, tmp_path):
    mixed = mix_counted(counted("new"), tmp_path, cuts=[1])
    report = mixed.reports[1]
    assert report["sets"]["key_facts_to_qa"] == {
        "samples": 33, "tokens": report["sets"]["key_facts_to_qa"]["tokens"],
        "raw_documents": 3, "summaries": 3}
    assert report["sets"]["extractive_summary"]["summaries"] == 3
    assert report["sets"]["extractive_summary"]["raw_documents"] == 3
    assert report["samples"] == sum(s["samples"] for s in report["sets"].values())
    assert report["tokens"] == sum(r["token_length"] for r in read_jsonl(mixed.outputs[1]))
    assert report["max_token_length"] == max(r["token_length"] for r in read_jsonl(mixed.outputs[1]))


def test_gpt_oss_format_writes_thinking_only_with_reasoning(counted, tmp_path):
    mixed = mix_counted(counted("old", save_gpt_oss_format=True), tmp_path, cuts=[5])
    assistants = [r["messages"][1] for r in read_jsonl(mixed.outputs[5])]
    assert any("thinking" in m for m in assistants)
    assert not all("thinking" in m for m in assistants)
    assert all(m["thinking"] for m in assistants if "thinking" in m)
    assert not any("reasoning_content" in m for m in assistants)
    # without the option, the same reasoning is reasoning_content
    default = mix_counted(counted("old"), tmp_path / "default", cuts=[5])
    plain_assistants = [r["messages"][1] for r in read_jsonl(default.outputs[5])]
    assert [m.get("thinking") for m in assistants] == [m.get("reasoning_content")
                                                       for m in plain_assistants]


def test_stage_records_the_recipe_inputs_and_a_report(plain, chat_replay, counted, tmp_path):
    report = plain.reports[5]
    assert report["file_name"] == "combined_cut_5x.jsonl"
    assert report["recipe"] == plain.plan["recipe"]
    assert report["recipe_sha256"] == plain.plan["recipe_sha256"]
    assert report["input_sha256"] == counted("mixed").loaded["input_sha256"]
    assert report["validation"] == {"samples": 0, "tokens": 0, "sets": {}}
    assert plain.markdown[5].read_text().startswith(
        "# Data card: combined_cut_5x.jsonl (cut 5)\n\n135 samples, ")
    assert plain.validation[5].read_text() == ""
    mixed = mix_counted(counted("mixed"), tmp_path, chat_replay, cuts=[1],
                        replay=[{"path": str(CHAT), "token_ratio": 0.1}])
    assert mixed.reports[1]["input_sha256"] == {**counted("mixed").loaded["input_sha256"],
                                                str(CHAT): chat_replay[1][0]["sha256"]}
    assert f"| replay {CHAT} (ratio 0.1, target " in mixed.markdown[1].read_text()


def test_the_data_card_says_what_the_cut_holds_and_where_it_came_from(plain, counted):
    """Cut 5 of the example ('mixed': two sets in each sdg_hub layout)."""
    card = plain.markdown[5].read_text()
    loaded = counted("mixed").loaded
    for name, sha256 in loaded["input_sha256"].items():  # inputs, fingerprints, layouts
        layout = loaded["files"][name]["layout"]
        assert f"| {name} | `{sha256}` | {layout} |" in card
    assert "| extractive_summary/gen.jsonl" in card and "sdg_hub 0.4 – 0.9.0 (every column) | " \
        "`document` | `raw_document` | `response_dict[0].reasoning_content` |" in card
    assert "| detailed_summary/gen.jsonl" in card and "sdg_hub 0.9.1+ (output columns only)" in card
    # loaded: dropped, duplicates, whitespace variants; this cut: what the recipe did
    assert "| extractive_summary | 61 | 0 | 0 | 61 | 1 | 6 | 0 |" in card
    assert "| key_facts_to_qa | 1 | 33 / 2,083 | 1 / 67 | 0 / 0 | 0 / 0 | 0 / 0 | 33 / 2,083 | 3 " \
        "| 3 |" in card
    assert "Kept: 20 ≤ tokens, as the trainer keeps them." in card
    report = plain.reports[5]
    p = report["token_length_percentiles"]
    assert f"| {p['min']:,} | {p['p50']:,} | {p['p90']:,} | {p['p95']:,} | {p['p99']:,} | " \
        f"{p['max']:,} |" in card and p["max"] == report["max_token_length"]
    assert card.count("█") > 10
    assert f"## Recipe (sha256 `{report['recipe_sha256']}`)" in card and '"dedup": false' in card
    assert "## Tokenizer: bundled-qwen" in card and "| tokenizer.json | `" in card
    samples = card.split("## One sample per set and replay source (strings shortened)")[1]
    assert [line[4:] for line in samples.splitlines() if line.startswith("### ")] == list(SET_NAMES)
    assert "more characters]" in samples


def reversed_keys(value):
    if isinstance(value, dict):
        return {k: reversed_keys(v) for k, v in reversed(list(value.items()))}
    return [reversed_keys(v) for v in value] if isinstance(value, list) else value


def test_cards_and_the_comparison_do_not_follow_the_order_metadata_comes_in(plain, counted):
    """KFP metadata (the load's counts and files, the tokenizer's files, each cut's report) comes
    back with its keys in any order (one run's cards listed the sets in another order than the
    next run's): their tables are in set order whatever the order."""
    from knowledge_mixing.data_card import data_card_markdown
    from knowledge_mixing.report import cuts_comparison_markdown

    report, load = plain.reports[5], counted("mixed").loaded
    shuffled = {**report, "input_sha256": reversed_keys(report["input_sha256"]),
                "tokenizer": reversed_keys(report["tokenizer"])}
    card = data_card_markdown(report, load, {})
    assert data_card_markdown(shuffled, reversed_keys(load), {}) == card
    assert card.index("| extractive_summary/gen.jsonl") < card.index("| detailed_summary/gen.jsonl")
    reports = [plain.reports[cut] for cut in sorted(plain.reports)]
    assert cuts_comparison_markdown([reversed_keys(r) for r in reports], 5) == \
        cuts_comparison_markdown(reports, 5)


def file_record(path: Path) -> dict:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "rows": data.count(b"\n")}


def test_each_file_is_measured_as_it_is_written(counted, tmp_path):
    """The record the output folder keeps of a cut and its validation file (sha256, bytes,
    rows) is taken while writing, shuffled or not, so the commit need not read them again."""
    for shuffle in (False, True):
        mixed = mix_counted(counted("mixed"), tmp_path / str(shuffle), cuts=[1, 5],
                            validation_fraction=0.25, shuffle=shuffle)
        for cut in (1, 5):
            assert mixed.reports[cut]["file_record"] == file_record(mixed.outputs[cut])
            assert mixed.validation_reports[cut]["file_record"] == \
                file_record(mixed.validation[cut])
            assert mixed.validation_reports[cut]["file_record"]["rows"] > 0


def test_no_temporary_file_is_left_behind(plain):
    assert not list(plain.work.glob("*.partial"))


# ---------------------------------------------------------------------------- recipes on real cuts


def test_weights_up_and_down_and_zero(counted, plain, tmp_path):
    mixed = mix_counted(counted("mixed"), tmp_path, sets={
        "key_facts_to_qa": 2.5, "document_based_qa": 0.5, "detailed_summary": 0})
    report = mixed.reports[5]["knowledge"]
    assert report["key_facts_to_qa"]["in_cut"]["samples"] == 33
    assert report["key_facts_to_qa"]["mixed"]["samples"] == 83  # 2 × 33 + a seeded half (16.5 → 17)
    assert report["document_based_qa"]["mixed"]["samples"] == 9  # half of 18
    assert report["detailed_summary"]["mixed"] == {"samples": 0, "tokens": 0}
    assert report["extractive_summary"]["mixed"] == report["extractive_summary"]["in_cut"]
    assert "detailed_summary" not in mixed.reports[5]["sets"]
    # every line is a line of the unweighted cut: each key-facts row 2 or 3 times, each
    # document-QA row at most once (the example repeats some rows, so compare per line)
    written = Counter(lines(mixed.outputs[5]))
    before = Counter(lines(plain.outputs[5]))
    assert set(written) <= set(before)
    total = Counter()
    for line, n in written.items():
        kind = set_of(json.loads(line))
        total[kind] += n
        if kind == "key_facts_to_qa":
            assert 2 * before[line] <= n <= 3 * before[line]
        else:
            assert n <= before[line]
    assert total == {"key_facts_to_qa": 83, "document_based_qa": 9, "summary": 42}
    assert mixed.reports[5]["tokens"] == sum(r["token_length"] for r in read_jsonl(mixed.outputs[5]))


def messages_of(path):
    return [json.dumps(r["messages"], sort_keys=True) for r in read_jsonl(path)]


@pytest.mark.parametrize("layout", ["old", "new"])
def test_exact_duplicates_are_counted_and_kept_by_default(counted, tmp_path, layout):
    """The example repeats one extractive pair (among the first three of its summary) and one
    key-facts pair: both reach cut 5, counted per set, trained twice."""
    mixed = mix_counted(counted(layout), tmp_path, cuts=[5])
    knowledge = mixed.reports[5]["knowledge"]
    assert {name: a["duplicates"]["samples"] for name, a in knowledge.items()} == {
        "extractive_summary": 1, "detailed_summary": 0, "key_facts_to_qa": 1,
        "document_based_qa": 0}
    assert knowledge["key_facts_to_qa"]["mixed"]["samples"] == 33
    written = Counter(messages_of(mixed.outputs[5]))
    assert sorted(n for n in written.values() if n > 1) == [2, 2]


@pytest.mark.parametrize("layout", ["old", "new"])
def test_dedup_keeps_the_first_and_qa_per_doc_counts_distinct_pairs(counted, tmp_path, layout):
    """With dedup the repeated pair goes (the first copy stays, in input order), and its summary
    still gives qa_per_doc distinct pairs: its fourth question takes the freed place."""
    deduped = mix_counted(counted(layout, dedup=True, cut_sizes=(1, 5)), tmp_path, cuts=[5])
    kept = counted(layout)
    plain = mix_counted(kept, tmp_path / "plain", cuts=[5])
    written = messages_of(deduped.outputs[5])
    assert len(written) == len(set(written)) == 135 - 2 + 1
    knowledge = deduped.reports[5]["knowledge"]
    assert knowledge["key_facts_to_qa"]["duplicates"]["samples"] == 1
    assert knowledge["key_facts_to_qa"]["mixed"]["samples"] == 32
    assert knowledge["extractive_summary"]["mixed"]["samples"] == 42
    # every distinct sample of the plain cut is still there, plus the freed place's
    assert set(messages_of(plain.outputs[5])) < set(written)
    (extra,) = set(written) - set(messages_of(plain.outputs[5]))
    assert "Who patented the Bessemer process" in extra
    assert deduped.plan["recipe"]["dedup"] is True


def test_max_seq_len_drops_exactly_the_over_length_rows(counted, plain, tmp_path):
    lengths = sorted(r["token_length"] for r in read_jsonl(plain.outputs[5]))
    limit = lengths[len(lengths) // 2]
    mixed = mix_counted(counted("mixed"), tmp_path, max_seq_len=limit)
    kept = read_jsonl(mixed.outputs[5])
    expected = [line for line in lines(plain.outputs[5]) if json.loads(line)["token_length"] < limit]
    assert lines(mixed.outputs[5]) == expected
    assert all(r["token_length"] < limit for r in kept)
    dropped = sum(s["over_length"]["samples"] for s in mixed.reports[5]["knowledge"].values())
    assert dropped == sum(n >= limit for n in lengths) > 0
    # dropping over-length rows keeps the cuts nested
    for smaller, larger in zip(range(1, 5), range(2, 6)):
        assert set(lines(mixed.outputs[smaller])) <= set(lines(mixed.outputs[larger]))


@pytest.mark.parametrize("layout", ["old", "new"])
def test_min_seq_len_drops_and_counts_the_short_rows_of_sets_and_replay(counted, chat_replay,
                                                                         tmp_path, layout):
    """The trainer drops rows under 20 tokens (the bundled Qwen template's default system turn
    makes every example row longer): a higher min_seq_len drops exactly the shorter rows, per set
    and per replay source, and counts them."""
    plain = mix_counted(counted(layout), tmp_path / "plain", cuts=[5])
    lengths = sorted(r["token_length"] for r in read_jsonl(plain.outputs[5]))
    assert lengths[0] >= 20 and plain.reports[5]["knowledge"]["key_facts_to_qa"][
        "under_length"] == {"samples": 0, "tokens": 0}
    limit = 60  # some key-facts and some replay rows are shorter
    replay = [{"path": str(CHAT), "token_ratio": 0.1}]
    mixed = mix_counted(counted(layout), tmp_path, chat_replay, cuts=[5], min_seq_len=limit,
                        replay=replay)
    replay_rows, knowledge = replay_and_knowledge(mixed.outputs[5])
    expected = [json.loads(line) for line in lines(plain.outputs[5])
                if json.loads(line)["token_length"] >= limit]
    assert knowledge == expected
    report = mixed.reports[5]
    short = {name: a["under_length"]["samples"] for name, a in report["knowledge"].items()}
    assert sum(short.values()) == sum(n < limit for n in lengths) > 0
    assert short["key_facts_to_qa"] > 0 and short["document_based_qa"] == 0
    source = report["replay"][0]
    assert source["under_length"]["samples"] == sum(
        n < limit for n in pq.read_table(chat_replay[0])["token_length"].to_pylist()) > 0
    assert all(r["token_length"] >= limit for r in replay_rows)


def test_target_tokens_lands_within_one_sample(counted, tmp_path):
    target = 30_000  # more than cut 5 holds: the sets are scaled up together
    mixed = mix_counted(counted("mixed"), tmp_path, cuts=[1, 5], target_tokens=target,
                        sets={"key_facts_to_qa": 2.0})
    for cut in (1, 5):
        rows = read_jsonl(mixed.outputs[cut])
        assert abs(sum(r["token_length"] for r in rows) - target) <= max(r["token_length"] for r in rows)
    report = mixed.reports[5]["knowledge"]
    ratio = report["key_facts_to_qa"]["mixed"]["samples"] / report["document_based_qa"]["mixed"]["samples"]
    assert abs(ratio - 2 * 33 / 18) < 0.25


def replay_and_knowledge(path):
    rows = read_jsonl(path)
    replay = [r for r in rows if dataset_of(r) == "replay"]
    knowledge = [r for r in rows if dataset_of(r) != "replay"]
    return replay, knowledge


def test_replay_lands_within_one_sample_of_its_ratio(counted, chat_replay, tmp_path):
    mixed = mix_counted(counted("mixed"), tmp_path, chat_replay, cuts=[1, 5],
                        replay=[{"path": str(CHAT), "token_ratio": 0.1}])
    chat = read_jsonl(CHAT)
    for cut in (1, 5):
        replay, knowledge = replay_and_knowledge(mixed.outputs[cut])
        knowledge_tokens = sum(r["token_length"] for r in knowledge)
        assert replay and abs(sum(r["token_length"] for r in replay) - 0.1 * knowledge_tokens) \
            <= max(r["token_length"] for r in replay)
        for r in replay:
            metadata = json.loads(r["metadata"])
            assert metadata["replay_source"] == str(CHAT)
            assert r["messages"] == chat[metadata["line"] - 1]["messages"]
            assert r["unmask"] is False and r["question"] is None
            assert metadata["source_metadata"] == chat[metadata["line"] - 1]["metadata"]
        source = mixed.reports[cut]["replay"][0]
        assert source["mixed"]["tokens"] == sum(r["token_length"] for r in replay)
        assert source["target_tokens"] == round(0.1 * knowledge_tokens)
        assert mixed.reports[cut]["tokens"] == knowledge_tokens + source["mixed"]["tokens"]
        # replay rows come after the knowledge rows
        assert [dataset_of(r) for r in read_jsonl(mixed.outputs[cut])][-len(replay):] == \
            ["replay"] * len(replay)
    # more replay than the source holds: it is cycled through whole
    more = mix_counted(counted("mixed"), tmp_path / "more", chat_replay, cuts=[5],
                       replay=[{"path": str(CHAT), "token_ratio": 1.0}])
    assert more.reports[5]["replay"][0]["mixed"]["samples"] > len(chat)


def test_replay_ratio_is_of_the_knowledge_tokens_the_recipe_writes(counted, chat_replay, tmp_path):
    """Weights, a validation hold-out and a length limit all change the knowledge tokens of a
    cut; replay is measured against what is written, after them (docs/behaviour.md#recipe-order
    step 5), not against the cut's tokens before the recipe."""
    mixed = mix_counted(counted("mixed"), tmp_path, chat_replay, cuts=[1, 5],
                        sets={"key_facts_to_qa": 2.0, "document_based_qa": 0.5},
                        validation_fraction=0.2, max_seq_len=300,
                        replay=[{"path": str(CHAT), "token_ratio": 0.2}])
    for cut in (1, 5):
        knowledge_report = mixed.reports[cut]["knowledge"]
        assert knowledge_report["document_based_qa"]["over_length"]["samples"] > 0
        assert all(a["validation"]["samples"] > 0 for a in knowledge_report.values())
        replay, knowledge = replay_and_knowledge(mixed.outputs[cut])
        written = sum(r["token_length"] for r in knowledge)
        in_cut = sum(a["in_cut"]["tokens"] for a in knowledge_report.values())
        assert abs(written - in_cut) > 0.1 * in_cut  # the recipe changed the knowledge tokens
        replay_tokens = sum(r["token_length"] for r in replay)
        assert abs(replay_tokens - 0.2 * written) <= max(r["token_length"] for r in replay), \
            f"cut {cut}: replay {replay_tokens} tokens is {replay_tokens / written:.2f} of {written}"
        assert mixed.reports[cut]["replay"][0]["target_tokens"] == round(0.2 * written)


def test_validation_hold_out_is_disjoint_exact_and_deterministic(counted, plain, tmp_path):
    keys = {"validation_fraction": 0.25, "cuts": [1, 5]}
    first = mix_counted(counted("mixed"), tmp_path / "a", **keys)
    again = mix_counted(counted("mixed"), tmp_path / "b", **keys)
    for cut in (1, 5):
        training = lines(first.outputs[cut])
        validation = lines(first.validation[cut])
        assert not set(training) & set(validation)
        assert sorted(training + validation) == sorted(lines(plain.outputs[cut]))
        # a quarter of each set's distinct samples (rounded), every copy of them
        assert abs(len(set(validation)) - 0.25 * len(set(training + validation))) <= 2
        report = first.reports[cut]
        held = sum(a["validation"]["samples"] for a in report["knowledge"].values())
        assert held == len(validation) == report["validation"]["samples"] > 0
        assert report["validation"]["tokens"] == sum(json.loads(v)["token_length"] for v in validation)
        assert first.outputs[cut].read_bytes() == again.outputs[cut].read_bytes()
        assert first.validation[cut].read_bytes() == again.validation[cut].read_bytes()


def test_shuffle_reorders_the_same_rows_the_same_way(counted, chat_replay, tmp_path):
    keys = {"cuts": [5], "replay": [{"path": str(CHAT), "token_ratio": 0.2}]}
    shuffled = mix_counted(counted("mixed"), tmp_path / "a", chat_replay, shuffle=True, **keys)
    again = mix_counted(counted("mixed"), tmp_path / "b", chat_replay, shuffle=True, **keys)
    unshuffled = mix_counted(counted("mixed"), tmp_path / "c", chat_replay, **keys)
    shuffled_lines = lines(shuffled.outputs[5])
    assert shuffled.outputs[5].read_bytes() == again.outputs[5].read_bytes()
    assert shuffled_lines != lines(unshuffled.outputs[5])
    assert sorted(shuffled_lines) == sorted(lines(unshuffled.outputs[5]))
    positions = [i for i, line in enumerate(shuffled_lines) if dataset_of(json.loads(line)) == "replay"]
    assert positions and positions != list(range(len(shuffled_lines) - len(positions), len(shuffled_lines)))


def test_replay_source_with_no_row_of_a_trainable_length_fails(counted, tmp_path):
    long_answer = {"messages": [{"role": "user", "content": "Tell me everything."},
                                {"role": "assistant", "content": "word " * 2000}]}
    path = write_jsonl(tmp_path / "long.jsonl", [long_answer])
    replay = [{"path": str(path), "token_ratio": 0.1}]
    counted_replay = count_replay(replay, tmp_path / "replay")
    with pytest.raises(ParameterError, match=r"recipe replay\[0\] \(.*long.jsonl, token_ratio 0.1\): "
                       r"no row is within min_seq_len 20 ≤ tokens < max_seq_len 1000, so its "
                       r"[\d,]+ tokens cannot be met; change min_seq_len or max_seq_len"):
        mix_counted(counted("mixed"), tmp_path, counted_replay, cuts=[1], max_seq_len=1000,
                    replay=replay)
    # the cut's lines were written before the replay source failed: no file keeps them
    assert not [p.name for p in tmp_path.iterdir() if "cut_1x" in p.name]
