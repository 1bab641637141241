"""count_tokens: every sample a feasible cut can take, counted once, one shard of the raw
documents per task."""
import shutil

import pyarrow.parquet as pq
import pytest
from kfp import dsl
from standins import artifact, example_chain

from components import count_tokens
from knowledge_mixing.errors import ParameterError
from knowledge_mixing.tokenizer import bundled_tokenizer_dir


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


def test_each_shard_counts_its_share_and_says_which_it_is(chain):
    reports = [dict(shard.metadata) for shard in chain.shards]
    assert [(r["shard"], r["shards"]) for r in reports] == [(0, 3), (1, 3), (2, 3)]
    assert sum(r["rows_counted"] for r in reports) == 135
    rows = [pq.read_metadata(shard.path).num_rows for shard in chain.shards]
    assert rows == [r["rows_counted"] for r in reports]
    assert rows[0] == 0 and rows[1] > 0 and rows[2] > 0  # the example's raw documents: 0, 1, 2
    assert {r["tokenizer"] for r in reports} == {"bundled-qwen"}  # from the fetched files
    for report, metrics in zip(reports, chain.count_metrics):
        assert metrics.metadata == {"rows_counted": report["rows_counted"],
                                    "tokens_counted": report["tokens_counted"]}


def test_tokenizer_files_imported_by_uri_are_named_by_their_uri(chain, tmp_path):
    """On a disconnected cluster the files come from an importer, which sets no metadata."""
    files = shutil.copytree(bundled_tokenizer_dir(), tmp_path / "tokenizer")
    samples = artifact(dsl.Dataset, tmp_path / "samples")
    count_tokens.python_func(knowledge_rows=chain.knowledge_rows,
                             tokenizer_files=artifact(dsl.Artifact, files), plan=chain.plan,
                             samples=samples, metrics=artifact(dsl.Metrics, tmp_path / "metrics"),
                             save_gpt_oss_format=False, trust_remote_code=False, shard=1, shards=3)
    assert samples.metadata["tokenizer"] == str(files)
    assert open(samples.path, "rb").read() == open(chain.shards[1].path, "rb").read()


def test_a_shard_out_of_range_fails(chain, tmp_path):
    with pytest.raises(ParameterError, match=r"shard: 3 is not in 0\.\.2"):
        count_tokens.python_func(knowledge_rows=chain.knowledge_rows,
                                 tokenizer_files=chain.tokenizer_files, plan=chain.plan,
                                 samples=artifact(dsl.Dataset, tmp_path / "samples"),
                                 metrics=artifact(dsl.Metrics, tmp_path / "metrics"),
                                 save_gpt_oss_format=False, trust_remote_code=False,
                                 shard=3, shards=3)
