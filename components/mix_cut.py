"""KFP component: one cut size → one training-ready JSONL Dataset."""
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def mix_cut(
    samples: Input[Dataset],
    cut: int,
    mixed: Output[Dataset],
    metrics: Output[Metrics],
):
    """Take the cut's summaries and every key-facts and document-QA row, and write them in the
    reference's row format (combined_cut_{cut}x.jsonl) for the training step."""
    from knowledge_mixing.stages import configure_logging, mix_stage

    configure_logging()
    report = mix_stage(samples.path, cut, mixed.path)
    mixed.metadata.update(report)
    mixed.metadata["file_name"] = f"combined_cut_{report['cut']}x.jsonl"
    metrics.log_metric("cut", report["cut"])
    metrics.log_metric("samples", report["samples"])
    metrics.log_metric("tokens", report["tokens"])
    for set_name, stats in report["sets"].items():
        for key, value in stats.items():
            metrics.log_metric(f"{set_name}.{key}", value)
