"""gather_samples: the counted shards merged back into input order."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from standins import example_chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


def test_shards_handed_in_any_order_come_back_in_input_order(chain):
    """The chain hands the shards over last first, as dsl.Collected may."""
    gathered = pq.read_table(chain.samples.path)
    shards = pa.concat_tables(pq.read_table(s.path) for s in chain.shards)
    assert gathered.equals(shards.sort_by("row"))
    assert gathered["row"].to_pylist() == sorted(gathered["row"].to_pylist())


def test_reports_what_was_counted(chain):
    assert chain.samples.metadata == {
        "rows_counted": 135,
        "tokens_counted": sum(s.metadata["tokens_counted"] for s in chain.shards),
        "tokenizer": "bundled-qwen",
        "tokenizer_sha256": chain.shards[1].metadata["tokenizer_sha256"],
    }
    # the files counted with, and the template they rendered with, are fetch_tokenizer's
    fetched = chain.tokenizer_files.metadata
    assert chain.samples.metadata["tokenizer_sha256"] == {
        "files": fetched["files_sha256"], "chat_template": fetched["chat_template_sha256"]}
    assert chain.shards[0].metadata["tokenizer_sha256"]["chat_template"] == ""  # no rows there
    assert chain.samples.metadata["tokens_counted"] == 22393  # the README's cut-5 total
