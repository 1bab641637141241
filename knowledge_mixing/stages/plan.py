"""The plan stage: the effective recipe, and which cut sizes are feasible, decided once before
any counting (docs/behaviour.md#feasibility)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from ..io.whole_files import write_text_whole
from ..knowledge_rows import read_identities
from ..numbers import number
from ..recipe import Recipe, apply_recipe
from ..sampling import plan_cuts, summaries_per_raw_document
from ..sets import SAMPLED_SET_NAMES
from ..logs import progress
from . import Measured

log = logging.getLogger(__name__)


def plan_stage(knowledge_rows_path: str, recipe: Recipe, shards, loaded: dict,
               plan_path: str) -> Measured:
    """Decide which cut sizes are feasible; fail, naming the sets and their averages, if none is.
    The plan file (JSON) carries the effective recipe, and what the load measured (`loaded`: the
    inputs' fingerprints, layouts and counts per set), to every later task."""
    shards = number(shards, "shards", integer=True, low=1)
    sets, raw_documents, documents = read_identities(knowledge_rows_path)
    averages = summaries_per_raw_document(sets, raw_documents, documents, SAMPLED_SET_NAMES)
    plan = plan_cuts(list(recipe.cut_sizes), averages)
    for cut, reason in plan.infeasible.items():
        log.warning("plan: cut %d dropped as infeasible: %s", cut, reason)
    progress(log, "plan: cuts %s feasible%s", ", ".join(map(str, plan.feasible)),
             f" ({', '.join(map(str, plan.infeasible))} dropped)" if plan.infeasible else "")
    log.info("plan: feasible cuts %s; summaries per raw document: %s; %d shard(s); recipe %s",
             plan.feasible,
             ", ".join(f"{k} {v:.2f}" for k, v in averages.items()) or "no sampled set present",
             shards, recipe.to_json())
    report = {
        "feasible_cuts": plan.feasible,
        "infeasible_cuts": {str(cut): reason for cut, reason in plan.infeasible.items()},
        "summaries_per_raw_document": averages,
        "shards": shards,
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.fingerprint(),
        "input_sha256": loaded.get("input_sha256", {}),
        "load": {"sets": loaded.get("sets", {}), "absent_sets": loaded.get("absent_sets", []),
                 "files": loaded.get("files", {})},
    }
    write_text_whole(plan_path, json.dumps(report, indent=2))
    return Measured({"plan": report})


def read_plan(path: str) -> tuple[dict, Recipe]:
    """The plan file a plan task wrote, and its recipe."""
    plan = json.loads(Path(path).read_text(encoding="utf-8"))
    return plan, apply_recipe(plan["recipe"], source=f"of the plan {path}")
