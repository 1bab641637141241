"""KFP component: the counted shards, merged back into input order."""
from typing import List

from kfp import dsl
from kfp.dsl import Dataset, Input, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def gather_samples(
    shards: Input[List[Dataset]],
    samples: Output[Dataset],
) -> dict:
    """Merge the shards' samples into one file in input order, so every cut has the same bytes
    whatever the number of shards. Returns what was counted (the artifact's metadata) for the
    run summary, which then need not download the samples."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.gather import gather_stage

    configure_logging()
    ordered = sorted(shards, key=lambda s: int(s.metadata["shard"]))
    measured = gather_stage([s.path for s in ordered], samples.path,
                            [dict(s.metadata) for s in ordered])
    measured.publish(samples=samples)
    return measured.metadata["samples"]
