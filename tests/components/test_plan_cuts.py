"""plan_cuts: the effective recipe and the feasible cut sizes, decided once before counting."""
import json

import pytest
from kfp import dsl
from standins import artifact, example_chain

from components import plan_cuts
from knowledge_mixing.errors import ParameterError


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


def plan(chain, tmp_path, **parameters):
    planned = artifact(dsl.Artifact, tmp_path / "plan")
    parameters = {"cut_sizes": [1, 5, 10], "qa_per_doc": 3, "seed": 42, "recipe": "", "shards": 1,
                  "training_max_seq_len": 0, **parameters}
    feasible = plan_cuts.python_func(knowledge_rows=chain.knowledge_rows, plan=planned,
                                     **parameters)
    return feasible, planned


def test_returns_the_feasible_cuts_and_says_why_others_were_dropped(chain):
    assert chain.feasible == [1, 5]  # asked for 10, 1, 5
    assert set(chain.plan.metadata["infeasible_cuts"]) == {"10"}
    written = json.load(open(chain.plan.path))
    assert written == chain.plan.metadata
    assert written["infeasible_cuts"]["10"].startswith("extractive_summary averages 5.00")
    assert written["recipe"]["cut_sizes"] == [1, 5, 10] and written["recipe"]["seed"] == 42
    assert written["shards"] == 3
    assert written["input_sha256"] == chain.knowledge_rows.metadata["input_sha256"]


def test_the_recipe_wins_over_the_parameters(chain, tmp_path):
    feasible, planned = plan(chain, tmp_path, recipe="cut_sizes: [5]\nseed: 7\n")
    assert feasible == [5]
    recipe = planned.metadata["recipe"]
    assert recipe["cut_sizes"] == [5] and recipe["seed"] == 7 and recipe["qa_per_doc"] == 3


@pytest.mark.parametrize("recipe,expected", [
    ("", 8192),                  # the recipe sets none: the trainer's
    ("max_seq_len: null\n", 8192),  # as `run` and `submit` pass an unset key
    ("max_seq_len: 4096\n", 4096),  # the recipe's own wins
])
def test_the_trainers_max_seq_len_applies_where_the_recipe_sets_none(chain, tmp_path, recipe,
                                                                     expected):
    _, planned = plan(chain, tmp_path, recipe=recipe, training_max_seq_len=8192)
    assert planned.metadata["recipe"]["max_seq_len"] == expected
    _, planned = plan(chain, tmp_path, recipe=recipe, training_max_seq_len=0)
    assert planned.metadata["recipe"]["max_seq_len"] == (None if expected == 8192 else expected)


def test_no_feasible_cut_fails_naming_the_averages(chain, tmp_path):
    with pytest.raises(ParameterError, match=r"cut_sizes: no cut size in \[10, 20\] is feasible"
                       r".*extractive_summary 5\.00"):
        plan(chain, tmp_path, cut_sizes=[10, 20])
