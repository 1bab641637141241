"""KFP component: the effective recipe, and which cut sizes are feasible, decided once before
any counting."""
from typing import List

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def plan_cuts(
    knowledge_rows: Input[Dataset],
    plan: Output[Artifact],
    cut_sizes: List[int],
    qa_per_doc: int,
    seed: int,
    recipe: str,
    shards: int,
    training_max_seq_len: int,
) -> List[int]:
    """Lay the `recipe` (YAML or JSON; its keys win over cut_sizes, qa_per_doc and seed, its
    max_seq_len over the trainer's `training_max_seq_len`) over the parameters, and keep the cut
    sizes every sampled set can fill on average (fails, naming the sets and their averages, when
    none is). The plan artifact (JSON) carries the effective recipe, what the load measured
    (input fingerprints, layouts, counts) and why cuts were dropped to the later tasks. Returns
    the feasible cut sizes, ascending."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.recipe import effective_recipe
    from knowledge_mixing.stages.plan import plan_stage

    configure_logging()
    planned = effective_recipe(cut_sizes, qa_per_doc, seed, recipe, training_max_seq_len)
    measured = plan_stage(knowledge_rows.path, planned, shards, dict(knowledge_rows.metadata),
                          plan.path)
    measured.publish(plan=plan)
    return measured.metadata["plan"]["feasible_cuts"]
