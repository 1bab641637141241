"""KFP component: one cut size → one training-ready JSONL Dataset (and its validation rows)."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def mix_cut(
    samples: Input[Dataset],
    replay: Input[Dataset],
    plan: Input[Artifact],
    tokenizer_files: Input[Artifact],
    cut: int,
    check_with_trainer: bool,
    mixed: Output[Dataset],
    validation: Output[Dataset],
    metrics: Output[Metrics],
    card: Output[Markdown],
):
    """Take the cut's summaries and every key-facts and document-QA row, apply the plan's recipe
    (duplicates, length bounds, validation hold-out, set weights or token target, replay,
    shuffle) and write the reference's row format (combined_cut_{cut}x.jsonl) for the training
    step. The metadata records the effective recipe, its fingerprint, the inputs' fingerprints
    and the tokenizer's, with counts per set and per replay source before and after; the data
    card (Markdown) shows them in the KFP UI. With `check_with_trainer`, instructlab-training's
    own data processing reads the cut where it is installed (with `tokenizer_files`)."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.mix import mix_stage

    configure_logging()
    measured = mix_stage(samples.path, replay.path, plan.path, cut, mixed.path, validation.path,
                         card.path, replay.metadata.get("sources", []), dict(samples.metadata),
                         tokenizer_files.path, check_with_trainer)
    measured.publish(metrics, mixed=mixed, validation=validation)
