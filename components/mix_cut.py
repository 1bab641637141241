"""KFP component: one cut size → one training-ready JSONL Dataset (and its validation rows)."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def mix_cut(
    samples: Input[Dataset],
    replay: Input[Dataset],
    plan: Input[Artifact],
    cut: int,
    mixed: Output[Dataset],
    validation: Output[Dataset],
    metrics: Output[Metrics],
    report: Output[Markdown],
):
    """Take the cut's summaries and every key-facts and document-QA row, apply the plan's recipe
    (length limit, validation hold-out, set weights or token target, replay, shuffle) and write
    the reference's row format (combined_cut_{cut}x.jsonl) for the training step. The metadata
    records the effective recipe, its fingerprint and the inputs' fingerprints, with counts per
    set and per replay source before and after; the Markdown report shows them in the KFP UI."""
    from knowledge_mixing.report import cut_report_markdown
    from knowledge_mixing.stages import configure_logging, mix_stage, read_plan
    from knowledge_mixing.summary import cut_file_name, validation_file_name

    configure_logging()
    planned, recipe = read_plan(plan.path)
    stats = mix_stage(samples.path, replay.path, recipe, cut, mixed.path, validation.path)
    stats["input_sha256"] = {**planned["input_sha256"],
                             **{s["path"]: s["sha256"] for s in replay.metadata.get("sources", [])}}
    mixed.metadata.update(stats)
    mixed.metadata["file_name"] = cut_file_name(stats["cut"])
    validation.metadata.update(stats["validation"])
    validation.metadata["cut"] = stats["cut"]
    validation.metadata["file_name"] = validation_file_name(stats["cut"])
    with open(report.path, "w", encoding="utf-8") as f:
        f.write(cut_report_markdown(stats))
    metrics.log_metric("cut", stats["cut"])
    metrics.log_metric("samples", stats["samples"])
    metrics.log_metric("tokens", stats["tokens"])
    metrics.log_metric("max_token_length", stats["max_token_length"])
    metrics.log_metric("validation_samples", stats["validation"]["samples"])
    for set_name, account in stats["knowledge"].items():
        for stage in ("in_cut", "over_length", "validation", "mixed"):
            for key, value in account[stage].items():
                metrics.log_metric(f"{set_name}.{stage}.{key}", value)
    for index, source in enumerate(stats["replay"]):
        for stage in ("available", "over_length", "mixed"):
            for key, value in source[stage].items():
                metrics.log_metric(f"replay{index}.{stage}.{key}", value)
