"""The mixing recipe: reading it, its errors, its canonical form and fingerprint
(docs/behaviour.md#recipe-order). Recipes applied to real cuts: tests/knowledge_mixing/stages/
test_mix.py; precedence against flags and variables: tests/launch/test_settings.py."""
import json

import pytest

from knowledge_mixing.errors import ParameterError, RecipeError
from knowledge_mixing.recipe import (
    RECIPE_KEYS,
    Recipe,
    ReplaySource,
    apply_recipe,
    effective_recipe,
    recipe_from_text,
)


def test_recipe_round_trips_through_yaml_and_json():
    recipe = recipe_from_text(
        "seed: 7\ncut_sizes: [5, 1]\nsets: {key_facts_to_qa: 2.5, document_based_qa: 0}\n"
        "replay: [{path: chat.jsonl, token_ratio: 0.1}]\nmax_seq_len: 4096\nshuffle: true\n"
        "validation_fraction: 0.05\ntarget_tokens: 100000\n", source="r.yaml")
    assert recipe.cut_sizes == (1, 5) and recipe.weight("key_facts_to_qa") == 2.5
    assert recipe.weight("document_based_qa") == 0
    assert recipe.weight("extractive_summary") == 1.0  # unnamed sets keep their default
    assert recipe.replay == (ReplaySource("chat.jsonl", 0.1),)
    assert (recipe.max_seq_len, recipe.target_tokens, recipe.shuffle, recipe.validation_fraction) \
        == (4096, 100000, True, 0.05)
    assert (recipe.min_seq_len, recipe.dedup) == (20, False)  # the trainer's lower bound
    again = recipe_from_text(recipe.to_json())
    assert again == recipe and again.fingerprint() == recipe.fingerprint()
    assert recipe_from_text(json.dumps(recipe.to_dict(), indent=2)) == recipe
    assert Recipe().fingerprint() != recipe.fingerprint()
    assert list(recipe.to_dict()) == list(RECIPE_KEYS)


def test_canonical_json_and_fingerprint():
    recipe = Recipe()
    assert recipe.to_json() == json.dumps(recipe.to_dict(), sort_keys=True, separators=(",", ":"))
    import hashlib

    assert recipe.fingerprint() == hashlib.sha256(recipe.to_json().encode()).hexdigest()
    # the same recipe written another way has the same fingerprint
    assert recipe_from_text("cut_sizes: [10, 5, 1]\nsets: {key_facts_to_qa: 1}").fingerprint() == \
        recipe.fingerprint()


def test_empty_recipe_is_the_defaults_and_keys_lay_over_a_base():
    assert recipe_from_text("") == recipe_from_text("{}") == Recipe()
    base = apply_recipe({"sets": {"key_facts_to_qa": 2}, "replay": [
        {"path": "a.jsonl", "token_ratio": 0.1}]})
    over = apply_recipe({"sets": {"document_based_qa": 0.5}, "replay": [
        {"path": "b.jsonl", "token_ratio": 0.2}]}, base)
    assert over.weight("key_facts_to_qa") == 2 and over.weight("document_based_qa") == 0.5  # merged
    assert over.replay == (ReplaySource("b.jsonl", 0.2),)  # replaced
    assert apply_recipe({"replay": None}, base).replay == ()
    assert apply_recipe({"max_seq_len": None}, apply_recipe({"max_seq_len": 99})).max_seq_len is None


def test_recipe_parameter_wins_over_the_pipeline_parameters():
    recipe = effective_recipe([1, 5, 10], 3, 42, '{"cut_sizes": [2], "seed": 9}')
    assert (recipe.cut_sizes, recipe.qa_per_doc, recipe.seed) == ((2,), 3, 9)
    assert effective_recipe([1, 5], 2, 1, "") == Recipe(cut_sizes=(1, 5), qa_per_doc=2, seed=1)
    # KFP hands integer parameters back as floats
    assert effective_recipe([5.0, 1.0], 2.0, 7.0, "") == Recipe(cut_sizes=(1, 5), qa_per_doc=2, seed=7)
    with pytest.raises(RecipeError, match=r"recipe parameters: qa_per_doc: 0 is not an integer ≥ 1"):
        effective_recipe([1], 0, 1, "")
    with pytest.raises(RecipeError, match=r"recipe parameter `recipe`: unknown key 'x'"):
        effective_recipe([1], 1, 1, "x: 1")


@pytest.mark.parametrize("text,message", [
    ("weigths: {}", "recipe r.yaml: unknown key 'weigths'; known keys: seed, cut_sizes, "
     "qa_per_doc, dedup, sets, replay, min_seq_len, max_seq_len, target_tokens, shuffle, "
     "validation_fraction"),
    ("min_seq_len: -1", "recipe r.yaml: min_seq_len: -1 is not an integer ≥ 0"),
    ("max_seq_len: 20", "recipe r.yaml: min_seq_len 20 is not below max_seq_len 20, so no sample "
     "would be kept; lower min_seq_len or raise max_seq_len"),
    ("dedup: yes please", "recipe r.yaml: dedup = 'yes please' is not true or false"),
    ("sets: {key_facts_to_qa: -1}", "recipe r.yaml: sets.key_facts_to_qa: -1 is not a number in [0, 100]"),
    ("sets: {key_facts_to_qa: .inf}", "recipe r.yaml: sets.key_facts_to_qa: inf is not a number in [0, 100]"),
    ("sets: {key_facts: 2}", "recipe r.yaml: sets.key_facts is not a knowledge set; use "
     "extractive_summary, detailed_summary, key_facts_to_qa, document_based_qa"),
    ("sets: [1]", "recipe r.yaml: sets must map set names to weights, got [1]"),
    ("sets: {extractive_summary: 0, detailed_summary: 0, key_facts_to_qa: 0, "
     "document_based_qa: 0}", "recipe r.yaml: every set has weight 0"),
    ("replay: [{path: a.jsonl, token_ratio: 1.5}]",
     "recipe r.yaml: replay[0].token_ratio: 1.5 is not a number in [0, 1]"),
    ("replay: [{path: a.jsonl}]", "recipe r.yaml: replay[0].token_ratio: None is not a number"),
    ("replay: [{path: a.jsonl, ratio: 0.1}]",
     "recipe r.yaml: replay[0].ratio is not a replay key; use path, token_ratio"),
    ("replay: [{token_ratio: 0.1}]", "recipe r.yaml: replay[0].path must name a chat JSONL file"),
    ("replay: [{path: '', token_ratio: 0.1}]", "recipe r.yaml: replay[0].path must name"),
    ("replay: 3", "recipe r.yaml: replay must be a list of {path, token_ratio}, got 3"),
    ("replay: [3]", "recipe r.yaml: replay[0] must be a mapping with path and token_ratio, got 3"),
    ("validation_fraction: 1", "recipe r.yaml: validation_fraction: 1 is not a number in [0, 1)"),
    ("validation_fraction: -0.1", "recipe r.yaml: validation_fraction: -0.1 is not a number in [0, 1)"),
    ("max_seq_len: 0", "recipe r.yaml: max_seq_len: 0 is not an integer ≥ 1"),
    ("target_tokens: 1.5", "recipe r.yaml: target_tokens: 1.5 is not an integer in [1, 10000000000]"),
    ("shuffle: maybe", "recipe r.yaml: shuffle = 'maybe' is not true or false"),
    ("shuffle: 1", "recipe r.yaml: shuffle = 1 is not true or false"),
    ("cut_sizes: [1, x]", "recipe r.yaml: cut_sizes: 'x' is not an integer ≥ 1"),
    ("cut_sizes: []", "recipe r.yaml: cut_sizes: give at least one cut size"),
    ("cut_sizes: [0]", "recipe r.yaml: cut_sizes: 0 is not an integer ≥ 1"),
    ("cut_sizes: [2.5]", "recipe r.yaml: cut_sizes: 2.5 is not an integer ≥ 1"),
    ("cut_sizes: [true]", "recipe r.yaml: cut_sizes: True is not an integer ≥ 1"),
    ("cut_sizes: [3, 3]", "recipe r.yaml: cut_sizes: 3 given more than once"),
    ("cut_sizes: '5,x'", "recipe r.yaml: cut_sizes: item 2 ('x') of '5,x' is not a positive integer"),
    ("qa_per_doc: 0", "recipe r.yaml: qa_per_doc: 0 is not an integer ≥ 1"),
    ("qa_per_doc: -1", "recipe r.yaml: qa_per_doc: -1 is not an integer ≥ 1"),
    ("qa_per_doc: 1.5", "recipe r.yaml: qa_per_doc: 1.5 is not an integer ≥ 1"),
    ("qa_per_doc: true", "recipe r.yaml: qa_per_doc: True is not an integer ≥ 1"),
    ("seed: 1.5", "recipe r.yaml: seed: 1.5 is not an integer"),
    ("seed: null", "recipe r.yaml: seed: None is not an integer"),
    ("- 1\n- 2", "recipe r.yaml: expected a mapping of keys (seed, cut_sizes, "),
    ("sets: {a: 1\nseed: 2", "recipe r.yaml: line 2, column 5: not valid YAML or JSON"),
])
def test_bad_recipes_name_the_source_and_the_key(text, message):
    with pytest.raises(RecipeError) as raised:
        recipe_from_text(text, source="r.yaml")
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ParameterError)  # the command line reports both alike


@pytest.mark.parametrize("text,key,value", [
    ('cut_sizes: ["3"]', "cut_sizes", [3]), ('qa_per_doc: "3"', "qa_per_doc", 3),
    ('seed: "7"', "seed", 7), ('max_seq_len: "100"', "max_seq_len", 100),
    ('validation_fraction: 5e-05', "validation_fraction", 5e-05),  # YAML reads it as text
    ('sets: {key_facts_to_qa: "2"}', "sets", {**dict.fromkeys(
        ("extractive_summary", "detailed_summary", "document_based_qa"), 1.0),
        "key_facts_to_qa": 2.0}),
])
def test_numbers_written_as_text_are_read_as_numbers(text, key, value):
    """Numbers are checked by numbers.number(), which reads ASCII text: `5e-05` is text to YAML."""
    assert recipe_from_text(text, source="r.yaml").to_dict()[key] == value
