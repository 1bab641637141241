"""KFP component: pick the one cut the training step uses."""
from typing import List

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def select_cut(
    cuts: Input[List[Dataset]],
    training_dataset: Output[Dataset],
    comparison: Output[Markdown],
    train_cut: int = 0,
):
    """Copy the largest produced cut, or the one named by `train_cut`, to the training dataset;
    the Markdown comparison puts every produced cut side by side in the KFP UI."""
    import logging
    import shutil

    from knowledge_mixing.report import cuts_comparison_markdown, whole_numbers
    from knowledge_mixing.stages import configure_logging, select_training_cut

    configure_logging()
    reports = [whole_numbers(dict(c.metadata)) for c in cuts]
    chosen = cuts[select_training_cut([r["cut"] for r in reports], train_cut)]
    shutil.copyfile(chosen.path, training_dataset.path)
    training_dataset.metadata.update(chosen.metadata)
    training_cut = int(chosen.metadata["cut"])
    with open(comparison.path, "w", encoding="utf-8") as f:
        f.write(cuts_comparison_markdown(reports, training_cut))
    logging.getLogger(__name__).info("select: training uses cut %d (%s)", training_cut, chosen.uri)
