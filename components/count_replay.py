"""KFP component: the recipe's replay sources, checked and counted once for all cuts."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def count_replay(
    tokenizer_files: Input[Artifact],
    plan: Input[Artifact],
    replay: Output[Dataset],
    trust_remote_code: bool,
):
    """Read every replay source of the plan's recipe (chat JSONL rows with `messages`), check
    each row as the trainer needs it, and count its tokens as the trainer will (`unmask` false
    unless the row says otherwise). Without replay sources the dataset is empty."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.plan import read_plan
    from knowledge_mixing.stages.replay import replay_stage

    configure_logging()
    _, recipe = read_plan(plan.path)
    measured = replay_stage(recipe, tokenizer_files.path, trust_remote_code, replay.path)
    measured.publish(replay=replay)
