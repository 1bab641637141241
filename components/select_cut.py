"""KFP component: pick the one cut the training step uses."""
from typing import List

from kfp import dsl
from kfp.dsl import Dataset, Input, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def select_cut(
    cuts: Input[List[Dataset]],
    training_dataset: Output[Dataset],
    train_cut: int = 0,
):
    """Copy the largest produced cut, or the one named by `train_cut`, to the training dataset."""
    import logging
    import shutil

    from knowledge_mixing.stages import configure_logging, select_training_cut

    configure_logging()
    index = select_training_cut([c.metadata["cut"] for c in cuts], train_cut)
    chosen = cuts[index]
    shutil.copyfile(chosen.path, training_dataset.path)
    training_dataset.metadata.update(chosen.metadata)
    logging.getLogger(__name__).info("select: training uses cut %d (%s)",
                                     int(chosen.metadata["cut"]), chosen.uri)
