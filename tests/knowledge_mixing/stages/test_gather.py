"""The gather stage: counted shards merged back into input order, so the cuts are the same
bytes whatever the number of shards (docs/behaviour.md#determinism)."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import count, make_data

from knowledge_mixing.stages.count import SAMPLES_SCHEMA, count_stage
from knowledge_mixing.stages import gather
from knowledge_mixing.stages.gather import gather_stage


def samples_table(rows: list[int]) -> pa.Table:
    return pa.Table.from_pylist([
        {"row": r, "set": "key_facts_to_qa", "raw_document_id": bytes([r]) * 16,
         "document_id": bytes([r + 1]) * 16,
         "summary_rank": 0, "qa_index": 0, "sample_id": bytes([r]) * 16,
         "messages_id": bytes([r]) * 16, "token_length": r + 1,
         "row_json": f"line {r}\n"} for r in rows], schema=SAMPLES_SCHEMA)


def write_shard(path, rows, row_group_size):
    pq.write_table(samples_table(rows), path, row_group_size=row_group_size)
    return str(path)


def test_shards_are_merged_into_input_order(tmp_path):
    shards = [write_shard(tmp_path / "a", [0, 1, 2, 7, 8, 12, 13, 14], 3),
              write_shard(tmp_path / "b", [3, 4, 9, 15], 1),
              write_shard(tmp_path / "c", [], 2),
              write_shard(tmp_path / "d", [5, 6, 10, 11, 16, 17, 18, 19], 5)]
    metadata = [{"tokenizer": "tok", "tokenizer_sha256": {"files": {"t.json": "ab"},
                                                          "chat_template": chat}}
                for chat in ("", "cd", "", "cd")]  # a shard with no rows saw no template
    measured = gather_stage(shards[::-1], str(tmp_path / "out"), metadata)
    gathered = pq.read_table(tmp_path / "out")
    assert gathered.equals(samples_table(list(range(20))))
    assert measured.metadata == {"samples": {
        "rows_counted": 20, "tokens_counted": sum(range(1, 21)), "tokenizer": "tok",
        "tokenizer_sha256": {"files": {"t.json": "ab"}, "chat_template": "cd"}}}


def test_interleaved_shards_are_written_in_row_groups_of_many_runs(tmp_path, monkeypatch):
    """Shards that take turns row by row: a row group per run would be a row group per row."""
    monkeypatch.setattr(gather, "GATHERED_GROUP_ROWS", 4)
    shards = [write_shard(tmp_path / "even", list(range(0, 19, 2)), 3),
              write_shard(tmp_path / "odd", list(range(1, 20, 2)), 3)]
    gather_stage(shards, str(tmp_path / "out"), [{}, {}])
    merged = pq.ParquetFile(tmp_path / "out")
    assert [merged.metadata.row_group(g).num_rows
            for g in range(merged.metadata.num_row_groups)] == [4, 4, 4, 4, 4]
    assert merged.read().equals(samples_table(list(range(20))))


def test_one_shard_is_copied(tmp_path):
    shard = write_shard(tmp_path / "a", [0, 2, 5], 2)
    measured = gather_stage([shard], str(tmp_path / "out"), [{}])
    assert (tmp_path / "out").read_bytes() == (tmp_path / "a").read_bytes()
    assert measured.metadata["samples"]["rows_counted"] == 3
    assert measured.metadata["samples"]["tokens_counted"] == 1 + 3 + 6


@pytest.fixture(scope="module")
def bench(tmp_path_factory, bos_tokenizer_dir):
    """A tenth-size benchmark input (8 raw documents), counted whole, with a small tokenizer
    (sharding does not depend on the tokenizer)."""
    folder = tmp_path_factory.mktemp("bench")
    make_data().write(folder / "in", raw_documents=8, layout="new")
    return count(folder / "in", folder / "whole", cut_sizes=(1, 5), qa_per_doc=2,
                 tokenizer=str(bos_tokenizer_dir))


def test_shards_partition_by_raw_document_and_gather_to_the_same_samples(bench, bos_tokenizer_dir,
                                                                          tmp_path):
    shards, parts = 3, []
    for shard in range(shards):
        parts.append(tmp_path / f"part{shard}.parquet")
        measured = count_stage(str(bench.knowledge_rows), str(parts[-1]), [1, 5], bench.recipe,
                               str(bos_tokenizer_dir), False, shard=shard, shards=shards)
        assert measured.metadata["samples"]["shard"] == shard
        assert measured.metadata["samples"]["rows_counted"] > 0
    raw = [{r for r in pq.read_table(p)["raw_document_id"].to_pylist() if r} for p in parts]
    assert all(raw) and not (raw[0] & raw[1] or raw[0] & raw[2] or raw[1] & raw[2])
    gathered = tmp_path / "gathered.parquet"
    gather_stage([str(p) for p in parts], str(gathered), [])
    assert pq.read_table(gathered).equals(pq.read_table(bench.samples))
