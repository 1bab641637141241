"""KFP component: count every sample's tokens once for all cuts (one shard of the rows)."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def count_tokens(
    knowledge_rows: Input[Dataset],
    tokenizer_files: Input[Artifact],
    plan: Input[Artifact],
    samples: Output[Dataset],
    metrics: Output[Metrics],
    save_gpt_oss_format: bool,
    trust_remote_code: bool,
    shards: int,
    shard: int = 0,
):
    """Build the chat sample of every Q&A pair of this shard (rows partitioned by raw document)
    that the largest feasible cut of `plan` takes (with the plan's qa_per_doc and seed), and count
    its tokens with the student's chat template (the files of `tokenizer_files`), on every CPU."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.count import count_stage
    from knowledge_mixing.stages.plan import read_plan

    configure_logging()
    planned, recipe = read_plan(plan.path)
    measured = count_stage(
        knowledge_rows.path, samples.path, planned["feasible_cuts"], recipe, tokenizer_files.path,
        save_gpt_oss_format, trust_remote_code, shard, shards,
        tokenizer_name=tokenizer_files.metadata.get("tokenizer", tokenizer_files.uri))
    measured.publish(metrics, samples=samples)
