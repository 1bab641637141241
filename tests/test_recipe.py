"""Mixing recipes: parsing and its errors, the selection arithmetic, and recipes applied to real
cuts (weights, replay, length limit, token target, shuffle, validation hold-out)."""
import json
from collections import Counter

import pytest
from conftest import REPO, read_jsonl, write_jsonl
from test_stages import mix, set_of

import pipeline
from knowledge_mixing.load import InputError
from knowledge_mixing.recipe import Recipe, RecipeError, apply_recipe, effective_recipe, recipe_from_text
from knowledge_mixing.sampling import ParameterError
from knowledge_mixing.selection import copies, seeded_order, take_for_tokens, weighted_count

CHAT = REPO / "examples" / "replay" / "general_chat.jsonl"


def dataset_of(row):
    return json.loads(row["metadata"])["dataset"]


# ---------------------------------------------------------------------------- the recipe itself


def test_recipe_round_trips_through_yaml_and_json():
    recipe = recipe_from_text(
        "seed: 7\ncut_sizes: [5, 1]\nsets: {key_facts_to_qa: 2.5, document_based_qa: 0}\n"
        "replay: [{path: chat.jsonl, token_ratio: 0.1}]\nmax_seq_len: 4096\nshuffle: true\n"
        "validation_fraction: 0.05\n", source="r.yaml")
    assert recipe.cut_sizes == (1, 5) and recipe.weight("key_facts_to_qa") == 2.5
    assert recipe.weight("extractive_summary") == 1.0  # unnamed sets keep their default
    again = recipe_from_text(recipe.to_json())
    assert again == recipe and again.fingerprint() == recipe.fingerprint()
    assert recipe_from_text(json.dumps(recipe.to_dict(), indent=2)) == recipe
    assert Recipe().fingerprint() != recipe.fingerprint()


def test_recipe_parameter_wins_over_the_pipeline_parameters():
    recipe = effective_recipe([1, 5, 10], 3, 42, '{"cut_sizes": [2], "seed": 9}')
    assert (recipe.cut_sizes, recipe.qa_per_doc, recipe.seed) == ((2,), 3, 9)
    assert effective_recipe([1, 5], 2, 1, "") == Recipe(cut_sizes=(1, 5), qa_per_doc=2, seed=1)


@pytest.mark.parametrize("text,message", [
    ("weigths: {}", "unknown key 'weigths'"),
    ("sets: {key_facts_to_qa: -1}", r"sets.key_facts_to_qa = -1 is not a number ≥ 0"),
    ("sets: {key_facts: 2}", "sets.key_facts is not a knowledge set"),
    ("sets: {extractive_summary: 0, detailed_summary: 0, key_facts_to_qa: 0, "
     "document_based_qa: 0}", "every set has weight 0"),
    ("replay: [{path: a.jsonl, token_ratio: 1.5}]", r"replay\[0\].token_ratio = 1.5 is not a "
     r"number in \[0, 1\]"),
    ("replay: [{path: a.jsonl, ratio: 0.1}]", r"replay\[0\].ratio is not a replay key"),
    ("replay: [{token_ratio: 0.1}]", r"replay\[0\].path must name a chat JSONL file"),
    ("validation_fraction: 1", r"validation_fraction = 1 is not a number in \[0, 1\)"),
    ("validation_fraction: -0.1", r"validation_fraction = -0.1"),
    ("max_seq_len: 0", "max_seq_len = 0 is not an integer ≥ 1"),
    ("target_tokens: 1.5", "target_tokens = 1.5 is not an integer"),
    ("shuffle: maybe", "shuffle = 'maybe' is not true or false"),
    ("cut_sizes: [1, x]", "cut_sizes: 'x' is not a positive integer"),
    ("qa_per_doc: 0", "qa_per_doc: 0 is not an integer ≥ 1"),
    ("seed: 1.5", "seed = 1.5 is not an integer"),
    ("- 1\n- 2", "expected a mapping of keys"),
    ("sets: {a: 1\nseed: 2", "r.yaml: line 2, column 5 not valid YAML or JSON"),
])
def test_bad_recipes_name_the_key(text, message):
    with pytest.raises(RecipeError, match=message):
        recipe_from_text(text, source="r.yaml")


# ---------------------------------------------------------------------------- selection arithmetic


def test_weights_take_copies_and_a_seeded_fraction():
    order = seeded_order([bytes([i]) * 16 for i in range(5)], seed=42, purpose="weight:x")
    assert sorted(order) == list(range(5))
    assert weighted_count(2.5, 5) == 13 and weighted_count(0.5, 32) == 16
    taken = copies(order, weighted_count(2.5, 5))
    assert sum(taken) == 13 and Counter(taken) == {2: 2, 3: 3}
    assert [taken[p] for p in order] == [3, 3, 3, 2, 2]  # the extra half follows the seeded order
    assert copies(order, 0) == [0] * 5
    other = seeded_order([bytes([i]) * 16 for i in range(5)], seed=7, purpose="weight:x")
    assert other != order


def test_take_for_tokens_lands_within_half_a_sample_and_keeps_the_ratios():
    a, b = [100, 120, 80, 90] * 10, [300, 200] * 10
    for target in (0, 50, 1000, 7777, 30000):
        taken = take_for_tokens([(a, 2.0), (b, 1.0)], target)
        total = sum(a[i % len(a)] for i in range(taken[0])) + sum(b[i % len(b)] for i in range(taken[1]))
        assert abs(total - target) <= 300 / 2
        if target > 5000:  # steps due in the ratio of weight × size: 2 × 40 to 1 × 20
            assert abs(taken[0] / taken[1] - 4) < 0.3
    assert take_for_tokens([([], 1.0), (a, 0.0)], 500) == [0, 0]


# ---------------------------------------------------------------------------- recipes on real cuts


@pytest.fixture(scope="module")
def plain(step03_layouts, tmp_path_factory):
    return mix(step03_layouts["mixed"], tmp_path_factory.mktemp("plain"), cut_sizes=[1, 5])


def test_weights_up_and_down_and_zero(step03_layouts, tmp_path, plain):
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path, cut_sizes=[1, 5],
                           sets={"key_facts_to_qa": 2.5, "document_based_qa": 0.5,
                                 "detailed_summary": 0})
    report = plan["cuts"][5]["knowledge"]
    assert report["key_facts_to_qa"]["in_cut"]["samples"] == 32
    assert report["key_facts_to_qa"]["mixed"]["samples"] == 80  # 2 × 32 + a seeded half
    assert report["document_based_qa"]["mixed"]["samples"] == 9  # half of 18
    assert report["detailed_summary"]["mixed"] == {"samples": 0, "tokens": 0}
    assert report["extractive_summary"]["mixed"] == report["extractive_summary"]["in_cut"]
    assert "detailed_summary" not in plan["cuts"][5]["sets"]
    # every line is a line of the unweighted cut: each key-facts row 2 or 3 times, each
    # document-QA row at most once (the example repeats some rows, so compare per line)
    lines = Counter(outputs[5].read_text().splitlines())
    before = Counter(plain[0][5].read_text().splitlines())
    assert set(lines) <= set(before)
    total = Counter()
    for line, n in lines.items():
        kind = set_of(json.loads(line))
        total[kind] += n
        if kind == "key_facts_to_qa":
            assert 2 * before[line] <= n <= 3 * before[line]
        else:
            assert n <= before[line]
    assert total == {"key_facts_to_qa": 80, "document_based_qa": 9, "summary": 42}
    assert plan["cuts"][5]["tokens"] == sum(r["token_length"] for r in read_jsonl(outputs[5]))


def test_max_seq_len_drops_exactly_the_over_length_rows(step03_layouts, tmp_path, plain):
    lengths = sorted(r["token_length"] for r in read_jsonl(plain[0][5]))
    limit = lengths[len(lengths) // 2]
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path, cut_sizes=[1, 5], max_seq_len=limit)
    kept = read_jsonl(outputs[5])
    expected = [line for line in plain[0][5].read_text().splitlines()
                if json.loads(line)["token_length"] < limit]
    assert outputs[5].read_text().splitlines() == expected
    assert all(r["token_length"] < limit for r in kept)
    dropped = sum(s["over_length"]["samples"] for s in plan["cuts"][5]["knowledge"].values())
    assert dropped == sum(n >= limit for n in lengths) > 0


def test_target_tokens_lands_within_one_sample(step03_layouts, tmp_path, plain):
    target = 30_000  # more than cut 5 holds: the sets are scaled up together
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path, cut_sizes=[1, 5],
                           target_tokens=target, sets={"key_facts_to_qa": 2.0})
    for cut in (1, 5):
        rows = read_jsonl(outputs[cut])
        assert abs(sum(r["token_length"] for r in rows) - target) <= max(r["token_length"] for r in rows)
    report = plan["cuts"][5]["knowledge"]
    ratio = report["key_facts_to_qa"]["mixed"]["samples"] / report["document_based_qa"]["mixed"]["samples"]
    assert abs(ratio - 2 * 32 / 18) < 0.25


def test_replay_lands_within_one_sample_of_its_ratio(step03_layouts, tmp_path):
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path, cut_sizes=[1, 5],
                           replay=[{"path": str(CHAT), "token_ratio": 0.1}])
    chat = read_jsonl(CHAT)
    for cut in (1, 5):
        rows = read_jsonl(outputs[cut])
        replay = [r for r in rows if dataset_of(r) == "replay"]
        knowledge = sum(r["token_length"] for r in rows if dataset_of(r) != "replay")
        assert replay and abs(sum(r["token_length"] for r in replay) - 0.1 * knowledge) \
            <= max(r["token_length"] for r in replay)
        for r in replay:
            metadata = json.loads(r["metadata"])
            assert metadata["replay_source"] == str(CHAT)
            assert r["messages"] == chat[metadata["line"] - 1]["messages"]
            assert r["unmask"] is False and r["question"] is None
            assert metadata["source_metadata"] == chat[metadata["line"] - 1]["metadata"]
        source = plan["cuts"][cut]["replay"][0]
        assert source["mixed"]["tokens"] == sum(r["token_length"] for r in replay)
        assert source["target_tokens"] == round(0.1 * knowledge)
    # more replay than the source holds: it is cycled through whole
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path / "more", cut_sizes=[5],
                           replay=[{"path": str(CHAT), "token_ratio": 1.0}])
    assert plan["cuts"][5]["replay"][0]["mixed"]["samples"] > len(chat)


def test_bad_replay_rows_name_the_file_and_line(step03_layouts, tmp_path):
    good = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    cases = [
        ({"text": "no messages"}, "line 2: `messages` must be a non-empty list"),
        ({"messages": [{"role": "tool", "content": "x"}]}, r"line 2: messages\[0\].role is 'tool'"),
        ({"messages": [{"role": "user", "content": 3}]}, r"line 2: messages\[0\].content must be a string"),
        ({"messages": [{"role": "user", "content": "Hi"}]}, "line 2: no assistant turn"),
        ({**good, "unmask": "yes"}, "line 2: `unmask` must be true or false"),
    ]
    for index, (bad, message) in enumerate(cases):
        path = write_jsonl(tmp_path / f"bad{index}.jsonl", [good, bad])
        with pytest.raises(InputError, match=f"{path}, {message}"):
            mix(step03_layouts["new"], tmp_path / f"run{index}", cut_sizes=[1],
                replay=[{"path": str(path), "token_ratio": 0.1}])
    (tmp_path / "broken.jsonl").write_text(json.dumps(good) + '\n{"messages": [\n')
    with pytest.raises(InputError, match=r"broken.jsonl, line 2, column \d+: not valid JSON"):
        mix(step03_layouts["new"], tmp_path / "broken", cut_sizes=[1],
            replay=[{"path": str(tmp_path / "broken.jsonl"), "token_ratio": 0.1}])
    with pytest.raises(InputError, match="missing.jsonl: no such file"):
        mix(step03_layouts["new"], tmp_path / "missing", cut_sizes=[1],
            replay=[{"path": str(tmp_path / "missing.jsonl"), "token_ratio": 0.1}])


def test_validation_hold_out_is_disjoint_exact_and_deterministic(step03_layouts, tmp_path, plain):
    keys = {"cut_sizes": [1, 5], "validation_fraction": 0.25}
    outputs, _, plan = mix(step03_layouts["mixed"], tmp_path / "a", **keys)
    again, _, _ = mix(step03_layouts["mixed"], tmp_path / "b", **keys)
    for cut in (1, 5):
        training = outputs[cut].read_text().splitlines()
        validation = (tmp_path / "a" / f"validation_cut_{cut}x.jsonl").read_text().splitlines()
        assert not set(training) & set(validation)
        assert sorted(training + validation) == sorted(plain[0][cut].read_text().splitlines())
        # a quarter of each set's distinct samples (rounded), every copy of them
        assert abs(len(set(validation)) - 0.25 * len(set(training + validation))) <= 2
        held = sum(a["validation"]["samples"] for a in plan["cuts"][cut]["knowledge"].values())
        assert held == len(validation) > 0
        assert outputs[cut].read_bytes() == again[cut].read_bytes()
        assert (tmp_path / "a" / f"validation_cut_{cut}x.jsonl").read_bytes() == \
            (tmp_path / "b" / f"validation_cut_{cut}x.jsonl").read_bytes()


def test_shuffle_reorders_the_same_rows_the_same_way(step03_layouts, tmp_path, plain):
    keys = {"cut_sizes": [1, 5], "shuffle": True, "replay": [{"path": str(CHAT), "token_ratio": 0.2}]}
    outputs, _, _ = mix(step03_layouts["mixed"], tmp_path / "a", **keys)
    again, _, _ = mix(step03_layouts["mixed"], tmp_path / "b", **keys)
    unshuffled, _, _ = mix(step03_layouts["mixed"], tmp_path / "c", **{**keys, "shuffle": False})
    lines = outputs[5].read_text().splitlines()
    assert outputs[5].read_bytes() == again[5].read_bytes()
    assert lines != unshuffled[5].read_text().splitlines()
    assert sorted(lines) == sorted(unshuffled[5].read_text().splitlines())
    assert dataset_of(json.loads(lines[0])) != "replay" or dataset_of(json.loads(lines[-1])) != "replay"


def test_replay_source_with_nothing_short_enough_fails(step03_layouts, tmp_path):
    long_answer = {"messages": [{"role": "user", "content": "Tell me everything."},
                                {"role": "assistant", "content": "word " * 2000}]}
    path = write_jsonl(tmp_path / "long.jsonl", [long_answer])
    with pytest.raises(ParameterError, match=r"replay\[0\]: no row of .*long.jsonl is shorter than "
                       r"max_seq_len 1000"):
        mix(step03_layouts["new"], tmp_path, cut_sizes=[1], max_seq_len=1000,
            replay=[{"path": str(path), "token_ratio": 0.1}])


# ---------------------------------------------------------------------------- command line


def test_flags_override_the_recipe_file_and_paths_resolve_against_it(tmp_path, monkeypatch):
    (tmp_path / "mix").mkdir()
    recipe_file = tmp_path / "mix" / "recipe.yaml"
    recipe_file.write_text("cut_sizes: [1, 5]\nseed: 3\nsets: {key_facts_to_qa: 2}\n"
                           "replay: [{path: chat.jsonl, token_ratio: 0.1}]\nshuffle: true\n")
    monkeypatch.chdir(tmp_path)
    parser = pipeline.argparse.ArgumentParser()
    pipeline.add_mixing_arguments(parser)
    args = parser.parse_args(["--recipe", str(recipe_file.relative_to(tmp_path)), "--seed", "9",
                              "--weight", "document_based_qa=0.5", "--no-shuffle"])
    recipe = pipeline.command_line_recipe(args, {}, local_paths=True)
    assert (recipe.seed, recipe.cut_sizes, recipe.shuffle) == (9, (1, 5), False)
    assert recipe.weight("key_facts_to_qa") == 2 and recipe.weight("document_based_qa") == 0.5
    assert recipe.replay[0].path == str(tmp_path / "mix" / "chat.jsonl")
    assert pipeline.command_line_recipe(args, {}, local_paths=False).replay[0].path == "chat.jsonl"
    args = parser.parse_args(["--replay", "other.jsonl=0.3", "--cut-sizes", "2"])
    recipe = pipeline.command_line_recipe(args, {}, local_paths=True)
    assert recipe.replay[0].path == str(tmp_path / "other.jsonl") and recipe.cut_sizes == (2,)
    assert apply_recipe(json.loads(recipe.to_json())) == recipe


@pytest.mark.parametrize("args,message", [
    (["--recipe", "absent.yaml"], "--recipe absent.yaml: cannot read it"),
    (["--weight", "key_facts_to_qa"], "--weight 'key_facts_to_qa': expected NAME=NUMBER"),
    (["--weight", "facts=2"], "sets.facts is not a knowledge set"),
    (["--replay", "chat.jsonl=lots"], "--replay 'chat.jsonl=lots': expected NAME=NUMBER"),
    (["--validation-fraction", "1.0"], "validation_fraction = 1.0"),
])
def test_bad_recipe_flags_fail_before_running(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        pipeline.main(["run", "--output", str(tmp_path / "out"), *args])
    assert message in capsys.readouterr().err
