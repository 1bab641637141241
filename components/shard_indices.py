"""KFP component: the shard indices the token counting fans out over."""
from typing import List

from kfp import dsl

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def shard_indices(shards: int) -> List[int]:
    """[0, 1, …, shards - 1], for `dsl.ParallelFor` (which loops over lists, not counts)."""
    from knowledge_mixing.numbers import number

    return list(range(number(shards, "shards", integer=True, low=1)))
