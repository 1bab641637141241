"""The plan stage: the effective recipe and the feasible cuts, decided once before any counting
(docs/behaviour.md#feasibility)."""
import json

import pytest
from helpers import knowledge_rows

from knowledge_mixing.errors import ParameterError
from knowledge_mixing.recipe import Recipe, apply_recipe
from knowledge_mixing.stages.plan import plan_stage, read_plan


@pytest.fixture(scope="module")
def rows_path(step03_layouts, tmp_path_factory):
    work = tmp_path_factory.mktemp("plan")
    knowledge_rows(step03_layouts["new"], work)
    return str(work / "knowledge_rows.parquet")


def test_plan_keeps_the_feasible_cuts_and_carries_the_recipe(rows_path, tmp_path, caplog):
    recipe = apply_recipe({"cut_sizes": [10, 1, 5], "sets": {"key_facts_to_qa": 2}})
    plan_path = tmp_path / "plan.json"
    with caplog.at_level("WARNING"):
        measured = plan_stage(rows_path, recipe, 2.0, {"input_sha256": {"a/gen.jsonl": "ab"},
                                                       "sets": {"a": {"rows_read": 1}},
                                                       "files": {"a/gen.jsonl": {"layout": "x"}},
                                                       "absent_sets": []}, str(plan_path))
    plan = measured.metadata["plan"]
    assert plan == {
        "feasible_cuts": [1, 5],
        "infeasible_cuts": {"10": "extractive_summary averages 5.00 summaries per raw document "
                                  "(< 10); detailed_summary averages 5.00 summaries per raw "
                                  "document (< 10)"},
        "summaries_per_raw_document": {"extractive_summary": 5.0, "detailed_summary": 5.0},
        "shards": 2,
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.fingerprint(),
        "input_sha256": {"a/gen.jsonl": "ab"},
        "load": {"sets": {"a": {"rows_read": 1}}, "absent_sets": [],
                 "files": {"a/gen.jsonl": {"layout": "x"}}},
    }
    assert "plan: cut 10 dropped as infeasible" in caplog.text
    assert json.loads(plan_path.read_text()) == plan
    planned, read_back = read_plan(str(plan_path))
    assert planned == plan and read_back == recipe


def test_no_feasible_cut_fails_in_the_plan(rows_path, tmp_path):
    with pytest.raises(ParameterError, match="no cut size in \\[10, 20\\] is feasible.*"
                       "extractive_summary 5.00, detailed_summary 5.00.*cut sizes ≤ 5"):
        plan_stage(rows_path, Recipe(cut_sizes=(10, 20)), 1, {}, str(tmp_path / "plan.json"))
    assert not (tmp_path / "plan.json").exists()
    for shards, shown in ((0, "0"), (1.5, "1.5"), (True, "True")):
        with pytest.raises(ParameterError, match=f"shards: {shown} is not an integer ≥ 1"):
            plan_stage(rows_path, Recipe(cut_sizes=(1,)), shards, {}, str(tmp_path / "plan.json"))


def test_without_sampled_sets_every_cut_is_feasible(tmp_path, step03_layouts):
    import shutil

    folder = tmp_path / "in"
    for name in ("key_facts_to_qa", "document_based_qa"):
        shutil.copytree(step03_layouts["new"] / name, folder / name)
    knowledge_rows(folder, tmp_path)
    plan = plan_stage(str(tmp_path / "knowledge_rows.parquet"), Recipe(cut_sizes=(1, 50)), 1, {},
                      str(tmp_path / "plan.json")).metadata["plan"]
    assert plan["feasible_cuts"] == [1, 50] and plan["summaries_per_raw_document"] == {}
