"""KFP component: pick the one cut the training step uses, and write the run summary."""
from typing import List

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def select_cut(
    cuts: Input[List[Dataset]],
    plan: Input[Artifact],
    training_dataset: Output[Dataset],
    comparison: Output[Markdown],
    run_summary: Output[Artifact],
    loaded: dict,
    counted: dict,
    cut_sizes: List[int],
    qa_per_doc: int,
    seed: int,
    save_gpt_oss_format: bool,
    train_cut: int,
    trust_remote_code: bool,
    shards: int,
    training_max_seq_len: int,
    max_sample_chars: int,
    check_with_trainer: bool,
    recipe: str,
):
    """Copy the largest produced cut, or the one named by `train_cut`, to the training dataset;
    the Markdown comparison puts every produced cut side by side in the KFP UI. The run summary
    (JSON, what a local run writes as summary.json) records the run's parameters, what was
    loaded (`loaded`) and counted (`counted`), the plan and every cut."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.select import select_stage, summary_stage

    configure_logging()
    reports = [(c.path, dict(c.metadata)) for c in cuts]
    measured = select_stage(reports, train_cut, training_dataset.path, comparison.path)
    measured.publish(training_dataset=training_dataset)
    parameters = {"cut_sizes": cut_sizes, "qa_per_doc": qa_per_doc, "seed": seed,
                  "save_gpt_oss_format": save_gpt_oss_format, "train_cut": train_cut,
                  "trust_remote_code": trust_remote_code, "shards": shards,
                  "training_max_seq_len": training_max_seq_len,
                  "max_sample_chars": max_sample_chars, "check_with_trainer": check_with_trainer,
                  "recipe": recipe}
    summary_stage(parameters, loaded, plan.path, counted, [m for _, m in reports],
                  measured.metadata["training_dataset"]["cut"], run_summary.path)
