"""KFP component: count every sample's tokens once for all cuts (one shard of the rows)."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def count_tokens(
    summaries: Input[Dataset],
    tokenizer_files: Input[Artifact],
    plan: Input[Artifact],
    samples: Output[Dataset],
    metrics: Output[Metrics],
    save_gpt_oss_format: bool = False,
    trust_remote_code: bool = False,
    shard: int = 0,
    shards: int = 1,
):
    """Build the chat sample of every Q&A pair of this shard (rows partitioned by raw document)
    that the largest feasible cut of `plan` takes (with the plan's qa_per_doc and seed), and count
    its tokens with the student's chat template (the files of `tokenizer_files`), on every CPU."""
    from knowledge_mixing.stages import configure_logging, count_stage, read_plan

    configure_logging()
    planned, recipe = read_plan(plan.path)
    report = count_stage(summaries.path, samples.path, planned["feasible_cuts"], recipe,
                         tokenizer_files.path, save_gpt_oss_format, trust_remote_code,
                         shard, shards)
    samples.metadata.update(report)
    samples.metadata["tokenizer"] = tokenizer_files.metadata.get("tokenizer", tokenizer_files.uri)
    metrics.log_metric("rows_counted", report["rows_counted"])
    metrics.log_metric("tokens_counted", report["tokens_counted"])
