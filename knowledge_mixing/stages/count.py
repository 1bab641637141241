"""The count stage: every sample a feasible cut can take, built and counted once for all cuts
(docs/behaviour.md#token-counting), on every CPU of the task, for one shard of the raw
documents."""
from __future__ import annotations

import collections
import functools
import logging
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ParameterError
from ..io.memory import release_memory_every
from ..io.parquet import row_group_runs, table_writer
from ..io.workers import OrderedPool, pool_size
from ..knowledge_rows import read_identities, read_messages_ids
from ..numbers import number
from ..recipe import Recipe
from ..rows import build_messages, knowledge_metadata, output_row_json
from ..sampling import cut_mask, parse_cut_sizes, rank_rows, text_id
from ..sets import SAMPLED_SET_NAMES, knowledge_set
from ..token_counter import TokenCounter
from ..tokenizer import (
    chat_template_sha256, files_sha256, load_tokenizer, tokenizer_folder, without_build_copies,
)
from ..logs import progress
from . import Measured

log = logging.getLogger(__name__)

SAMPLES_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("set", pa.string(), nullable=False),
        pa.field("raw_document_id", pa.binary(16)),
        pa.field("document_id", pa.binary(16), nullable=False),
        pa.field("summary_rank", pa.int32(), nullable=False),
        pa.field("qa_index", pa.int32(), nullable=False),
        pa.field("sample_id", pa.binary(16), nullable=False),
        pa.field("messages_id", pa.binary(16), nullable=False),
        pa.field("token_length", pa.int32(), nullable=False),
        pa.field("row_json", pa.string(), nullable=False),
    ]
)
"""Samples file: one row per Q&A pair a feasible cut can take, counted once for all cuts: the
identities of its documents (sampling.document_id), its output line (newline included: a cut
file is its lines' bytes one after the other) and its token count."""
COUNT_CHUNK = 1024
"""Rows per step of the counting stage, at least (a run of whole row groups, each of at most
knowledge_rows.ROW_GROUP_ROWS): enough for batched encoding, small for memory."""
WORKER_MEMORY = 512 << 20
"""Memory budget of one counting process. Measured on the benchmark's medium input with the
bundled Qwen tokenizer (151k vocabulary), in a local run (pages shared with the run's process
counted): 330 MB resident per worker, 360 MB at ten times medium; the rest is headroom for
larger tokenizers and longer samples."""
FEEDER_MEMORY = 512 << 20
"""Memory budget of the process that ranks the rows and writes the samples (measured in a local
run: 240 MB on medium, 330 MB at ten times medium)."""


def shard_of(raw_document_id: bytes | None, document_id: bytes, shards: int) -> int:
    """Rows are partitioned by raw document (a key-facts block stands for its raw document), so
    every summary and all its Q&A pairs live in one shard."""
    return int.from_bytes((raw_document_id or document_id)[:8], "little") % shards


def count_stage(knowledge_rows_path: str, samples_path: str, feasible_cuts: list, recipe: Recipe,
                tokenizer: str, save_gpt_oss_format: bool, trust_remote_code: bool = False,
                shard: int = 0, shards: int = 1, tokenizer_name: str = "") -> Measured:
    """Build every row of this shard that a feasible cut can take and count its tokens once.
    `tokenizer` is anything load_tokenizer takes; in the pipeline, the fetched tokenizer's files
    (`tokenizer_name` says which tokenizer they are). Rows stream through in chunks, so memory
    follows the chunk, not the input."""
    largest_cut = max(parse_cut_sizes(list(feasible_cuts)))
    qa_per_doc = recipe.qa_per_doc
    shards = number(shards, "shards", integer=True, low=1)
    if not 0 <= shard < shards:
        raise ParameterError(f"shard: {shard} is not in 0..{shards - 1}")
    workers = pool_size(WORKER_MEMORY, FEEDER_MEMORY)
    counters = ChunkCounters((tokenizer, trust_remote_code, save_gpt_oss_format), workers)
    with counters:
        sets, raw_documents, documents = read_identities(knowledge_rows_path)
        ranks, qa_indexes = rank_rows(
            sets, raw_documents, documents, SAMPLED_SET_NAMES, recipe.seed,
            read_messages_ids(knowledge_rows_path) if recipe.dedup else None)
        in_shard = pa.array([shard_of(r, d, shards) == shard
                             for r, d in zip(raw_documents, documents)], pa.bool_())
        del sets, raw_documents, documents
        ranks, qa_indexes = pa.array(ranks, pa.int32()), pa.array(qa_indexes, pa.int32())
        keep = pc.and_(cut_mask(ranks, qa_indexes, largest_cut, qa_per_doc), in_shard)
        kept = pc.sum(keep).as_py() or 0
        log.info("select: shard %d of %d: %d of %d rows go into at least one cut (the others are "
                 "in other shards, beyond cut %d or beyond qa_per_doc %d)", shard, shards, kept,
                 len(keep), largest_cut, qa_per_doc)

        decided = pa.table({"row": pa.array(range(len(keep)), pa.int64()),
                            "summary_rank": ranks, "qa_index": qa_indexes, "keep": keep})
        del ranks, qa_indexes
        metadata = pq.read_metadata(knowledge_rows_path)
        group_rows = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
        started, rows, tokens = time.perf_counter(), 0, 0

        def chunks():
            for first, groups in row_group_runs(group_rows, COUNT_CHUNK):
                n = sum(group_rows[g] for g in groups)
                if pc.any(keep.slice(first, n)).as_py():
                    # a copy: a slice would carry the whole arrays to the process
                    yield RowsToCount(knowledge_rows_path, groups,
                                      decided.slice(first, n).take(pa.array(range(n))))

        # a dictionary would only hold the few set names: every other column is one per row
        with table_writer(samples_path, SAMPLES_SCHEMA, use_dictionary=["set"]) as writer:
            for chunk_number, counted in enumerate(counters.map(chunks()), 1):
                writer.write_table(counted)
                rows += counted.num_rows
                tokens += pc.sum(counted["token_length"]).as_py() or 0
                del counted
                release_memory_every(chunk_number)
                log.info("count tokens: %d of %d rows, %d tokens (%.1fs)", rows, kept, tokens,
                         time.perf_counter() - started)
    progress(log, "count: %d samples, %d tokens, on %d processes, %s (%.1fs)", rows, tokens,
             workers, counters.report(), time.perf_counter() - started)
    return Measured({"samples": {
        "shard": shard, "shards": shards, "rows_counted": rows, "tokens_counted": tokens,
        "tokenizer": tokenizer_name,
        "tokenizer_sha256": {"files": files_sha256(tokenizer_folder(tokenizer)),
                             "chat_template": counters.chat_template_sha256}}},
                    {"rows_counted": rows, "tokens_counted": tokens})


@dataclass(frozen=True)
class RowsToCount:
    """A run of whole row groups of the knowledge rows file for one counting process to read
    itself (only this travels to it: the texts never cross a process boundary on the way in),
    with what the feeding process decided per row (its number, rank and Q&A position, `keep`)."""

    path: str
    groups: list[int]
    decided: pa.Table


_worker_settings: tuple = ()
_worker_counter: TokenCounter | Exception | None = None
_chunks_counted = 0  # by this process: a pool process, or the feeding one with one worker


def _start_worker(tokenizer: str, trust_remote_code: bool, save_gpt_oss_format: bool) -> None:
    """Each counting process loads its own tokenizer as it starts, while the feeding process
    ranks the rows (held once in the feeding process, the tokenizer would weigh on every one of
    them). A tokenizer that cannot be loaded fails the process's first chunk, whose error
    reaches the stage."""
    global _worker_settings, _worker_counter
    _worker_settings = (tokenizer, trust_remote_code, save_gpt_oss_format)
    try:
        _worker_counter = TokenCounter(
            without_build_copies(load_tokenizer(tokenizer, trust_remote_code)))
    except Exception as error:  # noqa: BLE001 — raised again by _counter, with the first chunk
        _worker_counter = error


def _counter() -> TokenCounter:
    if isinstance(_worker_counter, Exception):
        raise _worker_counter
    return _worker_counter


@functools.lru_cache(maxsize=1)
def _knowledge_rows_metadata(path: str) -> pq.FileMetaData:
    """The file's footer, read once per process: it has an entry per row group (reading it for
    every run took 0.6 s of a process's time on the benchmark's medium input)."""
    return pq.read_metadata(path)


def _read(run: RowsToCount) -> pa.Table:
    """The rows of `run` that go into a cut, with what was decided for them."""
    with pq.ParquetFile(run.path, metadata=_knowledge_rows_metadata(run.path)) as file:
        # one thread per process, as for encoding; Arrow's threads also held 15 MB more
        rows = file.read_row_groups(run.groups, use_threads=False)
    for name in run.decided.column_names:
        if name != "keep":
            rows = rows.append_column(name, run.decided[name])
    return rows.filter(run.decided["keep"])


def _count_chunk(run: RowsToCount) -> dict:
    """Messages, token counts and output lines of one run's rows, as a SAMPLES_SCHEMA table
    (Arrow crosses the process boundary compactly; Python objects would not)."""
    global _chunks_counted
    counter, save_gpt_oss_format = _counter(), _worker_settings[2]
    rows = _read(run)
    chunk = rows.to_pydict()
    conversations = [
        build_messages(knowledge_set(set_name), outline, document, question, response, reasoning,
                       save_gpt_oss_format)
        for set_name, outline, document, question, response, reasoning in zip(
            chunk["set"], chunk["document_outline"], chunk["document"], chunk["question"],
            chunk["response"], chunk["reasoning"])]
    before = dict(counter.junctions)
    chunk["token_length"] = counter.count(conversations)
    chunk["row_json"] = [
        output_row_json(messages, length, knowledge_metadata(document, raw_document),
                        question=question, document_outline=outline, raw_document=raw_document,
                        document=document) + "\n"
        for question, outline, raw_document, document, messages, length in zip(
            chunk["question"], chunk["document_outline"], chunk["raw_document"],
            chunk["document"], conversations, chunk["token_length"])]
    chunk["sample_id"] = [
        text_id("\0".join((set_name, document, question, response, reasoning or "")))
        for set_name, document, question, response, reasoning in zip(
            chunk["set"], chunk["document"], chunk["question"], chunk["response"],
            chunk["reasoning"])]
    samples = pa.Table.from_pydict({f.name: chunk[f.name] for f in SAMPLES_SCHEMA},
                                   schema=SAMPLES_SCHEMA)
    del chunk, conversations, rows
    _chunks_counted += 1
    release_memory_every(_chunks_counted)
    return {"samples": samples, "junctions": {k: n - before[k] for k, n in counter.junctions.items()},
            "piecewise": counter.piecewise,
            "chat_template_sha256": chat_template_sha256(counter.tokenizer)}


class ChunkCounters(OrderedPool):
    """Chunks of rows counted on every available CPU (one tokenizer per process), with what the
    counters did: how many user turns were cut, whether counting was piecewise, and the
    sha256 of the chat template they rendered with ("" when there was nothing to count)."""

    def __init__(self, settings: tuple, workers: int):
        super().__init__(_count_chunk, workers, _start_worker, settings)
        self.junctions = collections.Counter()
        self.piecewise = True
        self.chat_template_sha256 = ""

    def __exit__(self, *exc):
        super().__exit__(*exc)
        _knowledge_rows_metadata.cache_clear()  # read here when there is one process

    def map(self, chunks):
        for counted in super().map(chunks):
            self.junctions.update(counted["junctions"])
            self.piecewise &= counted["piecewise"]
            self.chat_template_sha256 = counted["chat_template_sha256"]
            samples = counted.pop("samples")  # held by the caller only, freed once written
            yield samples

    def report(self) -> str:
        return (f"{'piecewise' if self.piecewise else 'whole renderings'}; user turns cut before "
                f"the question {self.junctions['cut']}, kept whole {self.junctions['kept whole']}")
