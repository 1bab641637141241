"""KFP component: which cut sizes are feasible, decided once before any counting."""
from typing import List

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def plan_cuts(
    summaries: Input[Dataset],
    plan: Output[Artifact],
    cut_sizes: List[int],
    qa_per_doc: int,
    shards: int = 1,
) -> List[int]:
    """Keep the cut sizes every sampled set can fill on average (fails, naming the sets and their
    averages, when none is); the plan artifact says why the others were dropped. Returns the
    feasible cut sizes, ascending."""
    from knowledge_mixing.stages import configure_logging, plan_stage

    configure_logging()
    report = plan_stage(summaries.path, cut_sizes, qa_per_doc, shards)
    plan.metadata.update(report)
    with open(plan.path, "w", encoding="utf-8") as f:
        f.write("\n".join(f"cut {c}: {why}" for c, why in report["infeasible_cuts"].items()) + "\n")
    return report["feasible_cuts"]
