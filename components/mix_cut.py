"""KFP component: one cut size → one training-ready JSONL Dataset."""
from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def mix_cut(
    samples: Input[Dataset],
    cut: int,
    mixed: Output[Dataset],
    metrics: Output[Metrics],
    report: Output[Markdown],
):
    """Take the cut's summaries and every key-facts and document-QA row, and write them in the
    reference's row format (combined_cut_{cut}x.jsonl) for the training step; the Markdown
    report shows the per-set table and the token-length histogram in the KFP UI."""
    from knowledge_mixing.report import cut_report_markdown
    from knowledge_mixing.stages import configure_logging, mix_stage

    configure_logging()
    stats = mix_stage(samples.path, cut, mixed.path)
    mixed.metadata.update(stats)
    mixed.metadata["file_name"] = f"combined_cut_{stats['cut']}x.jsonl"
    with open(report.path, "w", encoding="utf-8") as f:
        f.write(cut_report_markdown(stats))
    metrics.log_metric("cut", stats["cut"])
    metrics.log_metric("samples", stats["samples"])
    metrics.log_metric("tokens", stats["tokens"])
    metrics.log_metric("max_token_length", stats["max_token_length"])
    for set_name, set_stats in stats["sets"].items():
        for key, value in set_stats.items():
            metrics.log_metric(f"{set_name}.{key}", value)
