"""KFP component: plan the feasible cuts and count every sample's tokens once for all of them."""
from typing import List

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def count_tokens(
    summaries: Input[Dataset],
    tokenizer_files: Input[Artifact],
    samples: Output[Dataset],
    metrics: Output[Metrics],
    cut_sizes: List[int],
    qa_per_doc: int,
    seed: int,
    save_gpt_oss_format: bool = False,
    trust_remote_code: bool = False,
) -> List[int]:
    """Decide which cut sizes are feasible (fails when none is), build the chat sample of every
    Q&A pair the largest of them takes, and count its tokens with the student's chat template
    (the files of `tokenizer_files`). Returns the feasible cut sizes, ascending."""
    from knowledge_mixing.stages import configure_logging, count_stage

    configure_logging()
    report = count_stage(summaries.path, samples.path, cut_sizes, qa_per_doc, seed,
                         tokenizer_files.path, save_gpt_oss_format, trust_remote_code)
    samples.metadata.update(report)
    samples.metadata["tokenizer"] = tokenizer_files.metadata.get("tokenizer", tokenizer_files.uri)
    metrics.log_metric("feasible_cuts", len(report["feasible_cuts"]))
    metrics.log_metric("infeasible_cuts", len(report["infeasible_cuts"]))
    metrics.log_metric("rows_counted", report["rows_counted"])
    metrics.log_metric("tokens_counted", report["tokens_counted"])
    return report["feasible_cuts"]
