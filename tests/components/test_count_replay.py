"""count_replay: the recipe's replay sources, checked and counted once for all cuts."""
import hashlib
import json

import pyarrow.parquet as pq
import pytest
from helpers import REPO
from standins import example_chain, planned_with_example_recipe


CHAT = REPO / "examples" / "replay" / "general_chat.jsonl"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return example_chain(tmp_path_factory)


def test_without_replay_sources_the_dataset_is_empty(chain):
    assert chain.replay.metadata == {"sources": []}
    assert pq.read_metadata(chain.replay.path).num_rows == 0


def test_each_source_is_read_fingerprinted_and_counted(chain, tmp_path):
    _, replay = planned_with_example_recipe(chain, tmp_path)
    [source] = replay.metadata["sources"]
    table = pq.read_table(replay.path)
    assert source["path"] == str(CHAT)
    assert source["sha256"] == hashlib.sha256(CHAT.read_bytes()).hexdigest()
    assert source["rows"] == table.num_rows == len(CHAT.read_text().splitlines())
    assert source["tokens"] == sum(table["token_length"].to_pylist()) > 0
    rows = [json.loads(line) for line in table["row_json"].to_pylist()]
    assert all(json.loads(row["metadata"])["dataset"] == "replay" for row in rows)
