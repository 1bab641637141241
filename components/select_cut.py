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
    train_cut: int,
):
    """Copy the largest produced cut, or the one named by `train_cut`, to the training dataset;
    the Markdown comparison puts every produced cut side by side in the KFP UI."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.select import select_stage

    configure_logging()
    measured = select_stage([(c.path, dict(c.metadata)) for c in cuts], train_cut,
                            training_dataset.path, comparison.path)
    measured.publish(training_dataset=training_dataset)
