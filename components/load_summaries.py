"""KFP component: step-03 folder → normalised summaries (Parquet) + counts per set."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def load_summaries(
    step03: Input[Artifact],
    summaries: Output[Dataset],
    metrics: Output[Metrics],
    save_gpt_oss_format: bool = False,
):
    """Read the generation step's four set folders (both sdg_hub layouts), clean and normalise
    them, and write one typed Parquet table."""
    from knowledge_mixing.stages import configure_logging, load_stage

    configure_logging()
    report = load_stage(step03.path, summaries.path, save_gpt_oss_format)
    summaries.metadata.update(report)
    for set_name, counts in report["sets"].items():
        for key, value in counts.items():
            metrics.log_metric(f"{set_name}.{key}", value)
    metrics.log_metric("absent_sets", len(report["absent_sets"]))
