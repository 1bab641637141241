"""shard_indices: what the token counting fans out over."""
import pytest

from components import shard_indices
from knowledge_mixing.errors import ParameterError


def test_one_index_per_shard():
    assert shard_indices.python_func(shards=1) == [0]
    assert shard_indices.python_func(shards=3) == [0, 1, 2]
    assert shard_indices.python_func(shards=2.0) == [0, 1]  # as KFP may hand a number over


def test_no_shard_fails_naming_the_parameter():
    with pytest.raises(ParameterError, match="shards: 0 is not an integer ≥ 1"):
        shard_indices.python_func(shards=0)
