"""The count stage: every sample a feasible cut can take, built and counted once for all cuts
(docs/behaviour.md#sampling, #token-counting). Sharded counting: stages/test_gather.py."""
import hashlib
import json
import pickle

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from helpers import trainer_counts

from knowledge_mixing.errors import ParameterError, TokenizerError
from knowledge_mixing.sampling import document_id, text_id
from knowledge_mixing.stages import count as count_module
from knowledge_mixing.stages.count import SAMPLES_SCHEMA, ChunkCounters, count_stage, shard_of
from knowledge_mixing.tokenizer import bundled_tokenizer_dir


@pytest.fixture(scope="module")
def samples(counted):
    """The example data's samples ('mixed' layout, cut sizes 1–5 feasible, qa_per_doc 3)."""
    return pq.read_table(counted("mixed").samples)


def test_samples_are_the_rows_of_the_largest_cut_in_input_order(counted, samples):
    assert samples.schema.equals(SAMPLES_SCHEMA)
    # cut 5 takes min(5, s) of the 6, 5 and 4 summaries per raw document, 3 Q&A pairs each,
    # in both summary sets, and every key-facts and document-QA row
    assert samples.num_rows == 2 * (5 + 5 + 4) * 3 + 33 + 18 == 135
    rows = samples.to_pylist()
    assert [r["row"] for r in rows] == sorted(r["row"] for r in rows)
    knowledge = pq.read_table(counted("mixed").knowledge_rows).to_pylist()
    for r in rows:
        source = knowledge[r["row"]]
        assert (r["set"], r["raw_document_id"], r["document_id"]) == \
            (source["set"], document_id(source["raw_document"]), document_id(source["document"]))
        if r["set"] in ("extractive_summary", "detailed_summary"):
            assert r["summary_rank"] < 5 and r["qa_index"] < 3
        else:
            assert (r["summary_rank"], r["qa_index"]) == (0, 0)
        assert r["sample_id"] == text_id("\0".join((source["set"], source["document"],
                                                    source["question"], source["response"],
                                                    source["reasoning"] or "")))
        assert r["row_json"].endswith("}\n")  # one line of the cut file, its newline included
        line = json.loads(r["row_json"])
        assert line["token_length"] == r["token_length"] and line["question"] == source["question"]


def test_token_lengths_are_what_the_trainer_counts(samples, tokenizers):
    rows = [json.loads(line) for line in samples["row_json"].to_pylist()]
    assert samples["token_length"].to_pylist() == trainer_counts(
        tokenizers("qwen", "trainer"), [r["messages"] for r in rows])


def test_the_stage_reports_what_it_counted(counted, tmp_path, samples, qwen_tokenizer):
    c = counted("mixed")
    measured = count_stage(str(c.knowledge_rows), str(tmp_path / "s.parquet"), [1, 2], c.recipe,
                           str(bundled_tokenizer_dir()), False, tokenizer_name="Qwen")
    counted_rows = pq.read_table(tmp_path / "s.parquet")
    assert counted_rows.num_rows == 2 * (2 + 2 + 2) * 3 + 33 + 18  # the largest cut given: 2
    assert measured.metadata == {"samples": {
        "shard": 0, "shards": 1, "rows_counted": counted_rows.num_rows,
        "tokens_counted": sum(counted_rows["token_length"].to_pylist()), "tokenizer": "Qwen",
        "tokenizer_sha256": {  # the files counted with, and the template they rendered with
            "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in sorted(bundled_tokenizer_dir().iterdir())},
            "chat_template": hashlib.sha256(qwen_tokenizer.chat_template.encode()).hexdigest()}}}
    assert measured.metrics == {"rows_counted": counted_rows.num_rows,
                                "tokens_counted": sum(counted_rows["token_length"].to_pylist())}
    # the same samples as the larger count, those of cut 2
    assert counted_rows.equals(samples.filter(pc.less(samples["summary_rank"], 2)))


def test_bad_shard_arguments_fail_before_counting(counted, tmp_path):
    c = counted("mixed")
    for shard, shards, message in ((2, 2, "shard: 2 is not in 0..1"),
                                   (0, 0, "shards: 0 is not an integer ≥ 1")):
        with pytest.raises(ParameterError, match=message):
            count_stage(str(c.knowledge_rows), str(tmp_path / "s.parquet"), [1], c.recipe,
                        "never loaded", False, shard=shard, shards=shards)


def test_a_tokenizer_that_cannot_be_loaded_fails_the_stage(counted, tmp_path):
    c = counted("mixed")
    with pytest.raises(TokenizerError, match="no such directory"):
        count_stage(str(c.knowledge_rows), str(tmp_path / "s.parquet"), [1], c.recipe,
                    str(tmp_path / "missing" / "tokenizer"), False)
    assert list(tmp_path.iterdir()) == [], "a half-written samples file was left"


def test_rows_are_sharded_by_raw_document_or_key_facts_block():
    raw, block = text_id("raw"), text_id("block")
    assert shard_of(raw, block, 1) == 0
    assert shard_of(raw, block, 7) == int.from_bytes(raw[:8], "little") % 7
    assert shard_of(None, block, 7) == int.from_bytes(block[:8], "little") % 7


def test_counting_processes_read_their_rows_themselves(counted, tmp_path, samples, monkeypatch):
    """What goes to a counting process is which row groups to read and what was decided per row,
    never the texts; runs of whole row groups cover the file once, in order."""
    sent = []
    real_map = ChunkCounters.map

    def recording_map(self, runs):
        return real_map(self, (sent.append(run) or run for run in runs))

    monkeypatch.setattr(ChunkCounters, "map", recording_map)
    monkeypatch.setattr(count_module, "COUNT_CHUNK", 1)  # a run per row group
    c = counted("mixed")
    count_stage(str(c.knowledge_rows), str(tmp_path / "s.parquet"), [1, 5], c.recipe,
                "bundled-qwen", False)
    assert pq.read_table(tmp_path / "s.parquet").equals(samples)  # same rows as in one run
    groups = pq.ParquetFile(c.knowledge_rows).metadata.num_row_groups
    assert groups > 1 and [run.groups for run in sent] == [[g] for g in range(groups)]
    text_bytes = pq.read_table(c.knowledge_rows).nbytes
    assert all(len(pickle.dumps(run)) < text_bytes / groups / 4 for run in sent)
    assert [r for run in sent for r in run.decided["row"].to_pylist()] == \
        list(range(pq.ParquetFile(c.knowledge_rows).metadata.num_rows))
