"""The stage bodies behind the KFP components: plain paths and values in, files and dicts out.

load → summaries.parquet (one normalised schema, all sets)
count → samples.parquet (one row per Q&A pair any feasible cut can take: its output line,
        token count and sampling keys), counted once for all cuts
mix   → combined_cut_{N}x.jsonl for one cut, a row filter and a write
"""
from __future__ import annotations

import bisect
import collections
import ctypes
import ctypes.util
import hashlib
import heapq
import itertools
import json
import logging
import multiprocessing
import os
import random
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .load import SUMMARIES_SCHEMA, InputError, Step03Reader
from .messages import build_messages, output_row_json
from .recipe import Recipe, apply_recipe
from .replay import replay_row_json, replay_rows
from .report import token_length_histogram
from .sampling import (
    ParameterError,
    plan_cuts,
    rank_rows,
    summaries_per_raw_document,
    text_id,
    validate_cut_sizes,
    validate_shards,
)
from .selection import knowledge_copies, replay_copies
from .sets import SAMPLED_SET_NAMES, SET_NAMES, knowledge_set
from .counting import TokenCounter
from .tokens import load_tokenizer

log = logging.getLogger(__name__)

SAMPLES_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("set", pa.string(), nullable=False),
        pa.field("raw_document", pa.string()),
        pa.field("document", pa.string(), nullable=False),
        pa.field("summary_rank", pa.int32(), nullable=False),
        pa.field("qa_index", pa.int32(), nullable=False),
        pa.field("sample_id", pa.binary(16), nullable=False),
        pa.field("token_length", pa.int32(), nullable=False),
        pa.field("row_json", pa.string(), nullable=False),
    ]
)
"""Samples file: one row per Q&A pair a feasible cut can take, counted once for all cuts."""
COUNT_CHUNK = 1024
"""Rows per step of the counting stage: enough for batched encoding, small for memory."""


def _glibc_malloc_trim():
    """glibc's malloc_trim, where the C library is glibc (the image's is); else None."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _glibc_malloc_trim()


def release_memory() -> None:
    """Hand freed memory back to the system: Arrow's allocator, and glibc's heaps (objects
    unpickled on the pool's threads land in other arenas), would otherwise keep every batch's
    worth, and a pod's memory would grow with the input instead of the batch."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def configure_logging() -> None:
    """One timestamped line per step on stdout, where KFP and the local runner collect logs."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)


def load_stage(step03_dir: str | None, summaries_path: str, save_gpt_oss_format: bool,
               set_inputs: dict[str, str] | None = None) -> dict:
    """Load and normalise the knowledge sets (the step-03 folder and/or per-set inputs),
    streaming them into Parquet; return counts per set and every input file's sha256."""
    reader = Step03Reader(step03_dir, save_gpt_oss_format, set_inputs)
    rows = 0
    with pq.ParquetWriter(summaries_path, SUMMARIES_SCHEMA) as writer:
        for batch in reader.batches():
            writer.write_batch(batch)
            rows += batch.num_rows
            del batch
            release_memory()
    log.info("load: wrote %d rows of %d sets to Parquet (absent sets: %s)", rows,
             len(reader.counts), ", ".join(reader.absent_sets) or "none")
    return {
        "sets": {name: counts.as_dict() for name, counts in reader.counts.items()},
        "absent_sets": reader.absent_sets,
        "input_sha256": {name: reader.sha256[path] for path, name in reader.file_names().items()},
    }


def read_identities(path: str) -> tuple[list, list, list]:
    """Per row of the summaries file: its set, and the text_id of its raw document and summary.
    Read through Parquet's dictionary pages, so each distinct text is decoded and hashed once,
    and no text is held."""
    sets, raw_documents, documents = [], [], []
    columns = ["set", "raw_document", "document"]
    for table in row_groups(path, columns=columns, read_dictionary=columns):
        for batch in table.to_batches():
            for column, out, identify in zip(batch.columns, (sets, raw_documents, documents),
                                             (str, text_id, text_id)):
                values = [identify(v) for v in column.dictionary.to_pylist()]
                out += [None if i is None else values[i] for i in column.indices.to_pylist()]
    return sets, raw_documents, documents


def row_groups(path: str, columns=None, read_dictionary=None):
    """A Parquet file's row groups as tables, one at a time (pyarrow's iter_batches keeps memory
    it has decoded until the file is closed: a pod would grow with the input)."""
    parquet = pq.ParquetFile(path, read_dictionary=read_dictionary)
    for group in range(parquet.metadata.num_row_groups):
        yield parquet.read_row_group(group, columns=columns)
        release_memory()


def rebatched(tables, size: int):
    """Tables of exactly `size` rows (the last one shorter) out of tables of any size: the input's
    row groups follow its JSON blocks, a few hundred rows each in old layouts."""
    pending = []
    for table in tables:
        pending.append(table)
        if sum(t.num_rows for t in pending) >= size:
            batches = pa.concat_tables(pending).combine_chunks().to_batches(max_chunksize=size)
            for batch in batches[:-1]:
                yield pa.Table.from_batches([batch])
            pending = [pa.Table.from_batches(batches[-1:])]
            if pending[0].num_rows == size:
                yield pending.pop()
    if pending and pending[0].num_rows:
        yield pa.concat_tables(pending)


def plan_stage(summaries_path: str, recipe: Recipe, shards, input_sha256: dict) -> dict:
    """Decide once which cut sizes are feasible (SPEC §2.5), before any counting; fail if none.
    The plan carries the effective recipe and the inputs' fingerprints to every later task."""
    shards = validate_shards(shards)
    sets, raw_documents, documents = read_identities(summaries_path)
    averages = summaries_per_raw_document(sets, raw_documents, documents, SAMPLED_SET_NAMES)
    plan = plan_cuts(list(recipe.cut_sizes), averages)
    for cut, reason in plan.infeasible.items():
        log.warning("plan: cut %d dropped as infeasible: %s", cut, reason)
    log.info("plan: feasible cuts %s; summaries per raw document: %s; %d shard(s); recipe %s",
             plan.feasible,
             ", ".join(f"{k} {v:.2f}" for k, v in averages.items()) or "no sampled set present",
             shards, recipe.to_json())
    return {
        "feasible_cuts": plan.feasible,
        "infeasible_cuts": {str(cut): reason for cut, reason in plan.infeasible.items()},
        "summaries_per_raw_document": averages,
        "shards": shards,
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.fingerprint(),
        "input_sha256": input_sha256,
    }


def read_plan(path: str) -> tuple[dict, Recipe]:
    """The plan file a plan task wrote, and its recipe."""
    plan = json.loads(Path(path).read_text(encoding="utf-8"))
    return plan, apply_recipe(plan["recipe"], source=f"of the plan {path}")


def shard_of(raw_document_id: bytes | None, document_id: bytes, shards: int) -> int:
    """Rows are partitioned by raw document (a key-facts block stands for its raw document), so
    every summary and all its Q&A pairs live in one shard."""
    return int.from_bytes((raw_document_id or document_id)[:8], "little") % shards


def count_stage(summaries_path: str, samples_path: str, feasible_cuts: list, recipe: Recipe,
                tokenizer: str, save_gpt_oss_format: bool,
                trust_remote_code: bool = False, shard: int = 0, shards: int = 1) -> dict:
    """Build every row of this shard that a feasible cut can take and count its tokens once.
    `tokenizer` is anything load_tokenizer takes; in the pipeline, the fetched tokenizer's files.
    Rows stream through in chunks, so memory follows the chunk, not the input."""
    largest_cut = max(validate_cut_sizes(list(feasible_cuts)))
    qa_per_doc = recipe.qa_per_doc
    shards = validate_shards(shards)
    if not 0 <= shard < shards:
        raise ParameterError(f"shard: {shard} is not in 0..{shards - 1}")
    workers = available_cpus()
    # The processes start before this one reads anything, so they do not inherit its memory.
    with ChunkCounters((tokenizer, trust_remote_code, save_gpt_oss_format), workers) as counters:
        sets, raw_documents, documents = read_identities(summaries_path)
        ranks, qa_indexes = rank_rows(sets, raw_documents, documents, SAMPLED_SET_NAMES,
                                       recipe.seed)
        in_shard = pa.array([shard_of(r, d, shards) == shard
                             for r, d in zip(raw_documents, documents)], pa.bool_())
        del sets, raw_documents, documents
        ranks, qa_indexes = pa.array(ranks, pa.int32()), pa.array(qa_indexes, pa.int32())
        keep = pc.and_(cut_mask(ranks, qa_indexes, largest_cut, qa_per_doc), in_shard)
        kept = pc.sum(keep).as_py() or 0
        log.info("select: shard %d of %d: %d of %d rows go into at least one cut (the others are "
                 "in other shards, beyond cut %d or beyond qa_per_doc %d)", shard, shards, kept,
                 len(keep), largest_cut, qa_per_doc)

        started, offset, rows, tokens = time.perf_counter(), 0, 0, 0
        schema = SAMPLES_SCHEMA

        def chunks():
            nonlocal offset
            for table in rebatched(row_groups(summaries_path), COUNT_CHUNK):
                n = table.num_rows
                selected = table \
                    .append_column("row", pa.array(range(offset, offset + n), pa.int64())) \
                    .append_column("summary_rank", ranks.slice(offset, n)) \
                    .append_column("qa_index", qa_indexes.slice(offset, n)) \
                    .filter(keep.slice(offset, n))
                offset += n
                if selected.num_rows:
                    yield selected  # as Arrow: this process never holds the texts as objects
                del selected
                release_memory()

        with pq.ParquetWriter(samples_path, schema) as writer:
            for counted in counters.map(chunks()):
                writer.write_table(counted)
                rows += counted.num_rows
                tokens += pc.sum(counted["token_length"]).as_py() or 0
                del counted
                release_memory()
                log.info("count tokens: %d of %d rows, %d tokens (%.1fs)", rows, kept, tokens,
                         time.perf_counter() - started)
    log.info("count tokens: done on %d processes, %s (%.2fs)", workers, counters.report(),
             time.perf_counter() - started)
    return {"shard": shard, "shards": shards, "rows_counted": rows, "tokens_counted": tokens}


def gather_stage(shard_paths: list[str], samples_path: str) -> dict:
    """Merge the shards' samples back into input order (each shard is in input order), so the
    cuts are the same bytes whatever the number of shards."""
    if len(shard_paths) == 1:  # already in input order: nothing to merge
        shutil.copyfile(shard_paths[0], samples_path)
        lengths = pq.read_table(samples_path, columns=["token_length"])["token_length"]
        rows, tokens = len(lengths), pc.sum(lengths).as_py() or 0
        log.info("gather: 1 shard, %d rows, %d tokens", rows, tokens)
        return {"rows_counted": rows, "tokens_counted": tokens}
    files = [pq.ParquetFile(path) for path in shard_paths]
    groups = [iter(range(f.metadata.num_row_groups)) for f in files]
    current: list = [None] * len(files)  # per shard: (table, its row indices, position)
    heap: list = []

    def advance(k: int) -> None:
        for group in groups[k]:
            table = files[k].read_row_group(group)
            if table.num_rows:
                current[k] = (table, table["row"].to_pylist(), 0)
                heapq.heappush(heap, (current[k][1][0], k))
                return
        current[k] = None

    for k in range(len(files)):
        advance(k)
    schema = files[0].schema_arrow if files else SAMPLES_SCHEMA
    rows = tokens = 0
    with pq.ParquetWriter(samples_path, schema) as writer:
        while heap:
            _, k = heapq.heappop(heap)
            table, row_indices, position = current[k]
            limit = heap[0][0] if heap else None
            end = bisect.bisect_left(row_indices, limit, position) if limit is not None \
                else len(row_indices)
            run = table.slice(position, end - position)
            writer.write_table(run)
            rows += run.num_rows
            tokens += pc.sum(run["token_length"]).as_py() or 0
            if end < len(row_indices):
                current[k] = (table, row_indices, end)
                heapq.heappush(heap, (row_indices[end], k))
            else:
                advance(k)
            release_memory()
    log.info("gather: %d shard(s), %d rows, %d tokens", len(files), rows, tokens)
    return {"rows_counted": rows, "tokens_counted": tokens}


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup CPU limit (a pod's)."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit visible: the affinity is the limit
    return cpus


_worker_settings: tuple = ()
_worker_counter: TokenCounter | None = None


def _start_worker(tokenizer: str, trust_remote_code: bool, save_gpt_oss_format: bool) -> None:
    global _worker_settings, _worker_counter
    _worker_settings, _worker_counter = (tokenizer, trust_remote_code, save_gpt_oss_format), None


def _start_pool_worker(*settings) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per CPU instead of threads
    _start_worker(*settings)


def _counter() -> TokenCounter:
    """The process's counter, made on its first chunk: a tokenizer that cannot be loaded then
    fails that chunk, and its error reaches the stage."""
    global _worker_counter
    if _worker_counter is None:
        tokenizer, trust_remote_code, _ = _worker_settings
        _worker_counter = TokenCounter(load_tokenizer(tokenizer, trust_remote_code))
    return _worker_counter


def _count_chunk(rows: pa.Table) -> dict:
    """Messages, token counts and output lines of one chunk of rows, as a SAMPLES_SCHEMA table
    (Arrow crosses the process boundary compactly; Python objects would not)."""
    counter, save_gpt_oss_format = _counter(), _worker_settings[2]
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
        output_row_json(question, outline, raw_document, document, messages, length)
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
    release_memory()
    return {"samples": samples, "junctions": {k: n - before[k] for k, n in counter.junctions.items()},
            "piecewise": counter.piecewise}


class ChunkCounters:
    """Counts chunks on every available CPU (forked processes, one tokenizer each), returning
    them in order, with at most two chunks per process in flight so memory stays bounded."""

    def __init__(self, settings: tuple, workers: int):
        self.settings, self.workers = settings, workers
        self.pool = None
        self.junctions = collections.Counter()
        self.piecewise = True

    def __enter__(self):
        if self.workers > 1:
            self.pool = multiprocessing.get_context("fork").Pool(
                self.workers, initializer=_start_pool_worker, initargs=self.settings)
        else:
            _start_worker(*self.settings)
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate() if exc[0] else self.pool.close()
            self.pool.join()

    def map(self, chunks):
        if self.pool is None:
            results = map(_count_chunk, chunks)
        else:
            results = self._ordered(chunks)
        for counted in results:
            self.junctions.update(counted["junctions"])
            self.piecewise &= counted["piecewise"]
            yield counted["samples"]

    def _ordered(self, chunks):
        pending = collections.deque()
        for chunk in chunks:
            pending.append(self.pool.apply_async(_count_chunk, (chunk,)))
            if len(pending) >= 2 * self.workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def report(self) -> str:
        return (f"{'piecewise' if self.piecewise else 'whole renderings'}; user turns cut before "
                f"the question {self.junctions['cut']}, kept whole {self.junctions['kept whole']}")


def cut_mask(summary_rank, qa_index, cut: int, qa_per_doc: int):
    """Which rows cut N takes: summaries ranked below N, their first qa_per_doc Q&A pairs
    (SPEC §2.3); unsampled sets have rank 0 and Q&A index 0, so every cut takes them (§2.4)."""
    return pc.and_(pc.less(summary_rank, cut), pc.less(qa_index, qa_per_doc))



class CutStatistics:
    """Samples, tokens, distinct raw documents and summaries per set, gathered batch by batch.
    A key-facts row without a raw document is identified by its key-facts block (one block per
    raw document). Distinct texts are kept as 16-byte digests, not as text."""

    def __init__(self):
        self.sets: dict[str, dict] = {}
        self.lengths: list[int] = []

    def add(self, rows: pa.Table) -> None:
        for set_name in pc.unique(rows["set"]).to_pylist():
            of_set = rows.filter(pc.equal(rows["set"], set_name))
            stats = self.sets.setdefault(set_name, {"samples": 0, "tokens": 0, "raw": set(),
                                                    "summaries": set()})
            stats["samples"] += of_set.num_rows
            stats["tokens"] += pc.sum(of_set["token_length"]).as_py() or 0
            raw = pc.coalesce(of_set["raw_document"], of_set["document"])
            stats["raw"].update(map(text_id, pc.unique(raw).to_pylist()))
            stats["summaries"].update(map(text_id, pc.unique(of_set["document"]).to_pylist()))
        self.lengths += rows["token_length"].to_pylist()

    def per_set(self) -> dict[str, dict[str, int]]:
        return {name: {"samples": s["samples"], "tokens": s["tokens"],
                       "raw_documents": len(s["raw"]), "summaries": len(s["summaries"])}
                for name in SET_NAMES if (s := self.sets.get(name))}


REPLAY_SCHEMA = pa.schema(
    [
        pa.field("source", pa.int32(), nullable=False),
        pa.field("sample_id", pa.binary(16), nullable=False),
        pa.field("token_length", pa.int32(), nullable=False),
        pa.field("row_json", pa.string(), nullable=False),
    ]
)
"""Replay file: every row of every replay source of the recipe, checked and counted once."""


def batched(items, size: int):
    """Lists of up to `size` items (itertools.batched from Python 3.12 on)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def replay_stage(recipe: Recipe, tokenizer: str, trust_remote_code: bool, replay_path: str) -> dict:
    """Read, check and count the recipe's replay sources once for all cuts."""
    sources = []
    counter = TokenCounter(load_tokenizer(tokenizer, trust_remote_code)) if recipe.replay else None
    with pq.ParquetWriter(replay_path, REPLAY_SCHEMA) as writer:
        for index, source in enumerate(recipe.replay):
            started, rows, tokens = time.perf_counter(), 0, 0
            digest = hashlib.sha256()
            for chunk in batched(replay_rows(source.path, digest), COUNT_CHUNK):
                lines, conversations, unmask, metadata = zip(*chunk)
                lengths = counter.count(list(conversations), list(unmask))
                writer.write_table(pa.Table.from_pydict({
                    "source": [index] * len(chunk),
                    "sample_id": [text_id(json.dumps([c, u], sort_keys=True))
                                  for c, u in zip(conversations, unmask)],
                    "token_length": lengths,
                    "row_json": [replay_row_json(source.path, *row, n) for row, n in zip(
                        zip(lines, conversations, unmask, metadata), lengths)],
                }, schema=REPLAY_SCHEMA))
                rows, tokens = rows + len(chunk), tokens + sum(lengths)
            if not rows:
                raise InputError(f"replay source {source.path}: the file holds no rows")
            sources.append({"path": source.path, "sha256": digest.hexdigest(),
                            "rows": rows, "tokens": tokens})
            log.info("replay %s: %d rows, %d tokens (%.2fs)", source.path, rows, tokens,
                     time.perf_counter() - started)
    return {"sources": sources}


def _expanded(rows: pa.Table, copies_per_row: list[int]) -> pa.Table:
    """Each row as many times as it is taken, in place."""
    return rows.take(pa.array([i for i, k in enumerate(copies_per_row) for _ in range(k)],
                              pa.int64()))


class _Lines:
    """Where a cut's lines go: straight to the file, or (shuffle) held until the seeded shuffle."""

    def __init__(self, path: str, shuffle_seed: str | None):
        self.path, self.shuffle_seed = path, shuffle_seed
        self.file = open(f"{path}.partial", "w", encoding="utf-8", newline="\n")
        self.held: list[pa.Array] = []
        self.count = 0

    def add(self, lines: pa.ChunkedArray) -> None:
        self.count += len(lines)
        if self.shuffle_seed is None:
            self._write(lines.to_pylist())
        else:
            self.held += lines.chunks

    def _write(self, lines: list[str]) -> None:
        if lines:
            self.file.write("\n".join(lines) + "\n")

    def close(self) -> None:
        """Write what is held in the seeded order and make the file appear complete."""
        if self.held:
            lines = pa.chunked_array(self.held, pa.string())
            order = list(range(len(lines)))
            random.Random(self.shuffle_seed).shuffle(order)
            for start in range(0, len(order), COUNT_CHUNK):
                self._write(lines.take(pa.array(order[start:start + COUNT_CHUNK])).to_pylist())
        self.file.close()
        os.replace(f"{self.path}.partial", self.path)


def mix_stage(samples_path: str, replay_path: str, recipe: Recipe, cut: int, output_path: str,
              validation_path: str) -> dict:
    """Write one cut's JSONL under the recipe: the cut's summaries and every key-facts and
    document-QA row, over-length rows dropped, validation rows held out to their own file,
    weighted, then the replay samples; in set and input order, or shuffled. Files appear
    complete or not at all. Returns what went in and why."""
    started = time.perf_counter()
    cut = validate_cut_sizes([cut])[0]
    samples = pq.ParquetFile(samples_path)
    keys = samples.read(columns=["set", "summary_rank", "qa_index", "sample_id", "token_length"])
    in_cut = pc.indices_nonzero(cut_mask(keys["summary_rank"], keys["qa_index"], cut,
                                         recipe.qa_per_doc)).to_pylist()
    keys = keys.take(pa.array(in_cut, pa.int64())).to_pydict()
    copies_per_row, held, knowledge = knowledge_copies(
        keys["set"], keys["token_length"], keys["sample_id"], recipe, SET_NAMES)
    del keys
    knowledge_tokens = sum(s["mixed"]["tokens"] for s in knowledge.values())
    # per row of the samples file, not only of the cut, to walk its row groups
    copies_by_row, held_by_row = [0] * samples.metadata.num_rows, [False] * samples.metadata.num_rows
    for row, k, h in zip(in_cut, copies_per_row, held):
        copies_by_row[row], held_by_row[row] = k, h

    shuffle_seed = f"{recipe.seed}:shuffle:{cut}" if recipe.shuffle else None
    training, validation = _Lines(output_path, shuffle_seed), _Lines(validation_path, shuffle_seed)
    statistics, validation_statistics = CutStatistics(), CutStatistics()
    offset = 0
    for group in range(samples.metadata.num_row_groups):
        rows = samples.read_row_group(group)
        n = rows.num_rows
        taken = _expanded(rows, copies_by_row[offset:offset + n])
        training.add(taken["row_json"])
        statistics.add(taken)
        kept = rows.filter(pa.array(held_by_row[offset:offset + n], pa.bool_()))
        validation.add(kept["row_json"])
        validation_statistics.add(kept)
        offset += n
        del rows, taken, kept
        release_memory()

    replay_sources = []
    if recipe.replay:
        replay = pq.read_table(replay_path)
        for index, source in enumerate(recipe.replay):
            rows = replay.filter(pc.equal(replay["source"], index))
            lengths = rows["token_length"].to_pylist()
            copies_of_source, report = replay_copies(lengths, rows["sample_id"].to_pylist(),
                                                     source.token_ratio, knowledge_tokens,
                                                     recipe, f"replay:{index}")
            if report["target_tokens"] and not report["mixed"]["samples"]:
                raise ParameterError(
                    f"recipe replay[{index}]: no row of {source.path} is shorter than max_seq_len "
                    f"{recipe.max_seq_len}, so its {report['target_tokens']} tokens cannot be met")
            taken = _expanded(rows, copies_of_source)
            training.add(taken["row_json"])
            statistics.lengths += taken["token_length"].to_pylist()
            replay_sources.append({"path": source.path, **report})
        del replay
    training.close()
    validation.close()

    per_set = statistics.per_set()
    replay_samples = sum(s["mixed"]["samples"] for s in replay_sources)
    replay_tokens = sum(s["mixed"]["tokens"] for s in replay_sources)
    samples_written = sum(s["samples"] for s in per_set.values()) + replay_samples
    tokens = sum(s["tokens"] for s in per_set.values()) + replay_tokens
    log.info("mix cut %d: wrote %d rows, %d tokens (%s%s)%s (%.2fs)", cut, samples_written, tokens,
             ", ".join(f"{k} {v['samples']}" for k, v in per_set.items()),
             f", replay {replay_samples}" if recipe.replay else "",
             f"; validation {validation.count} rows" if recipe.validation_fraction else "",
             time.perf_counter() - started)
    return {
        "cut": cut,
        "samples": samples_written,
        "tokens": tokens,
        "max_token_length": max(statistics.lengths, default=0),
        "sets": per_set,
        "token_length_histogram": token_length_histogram(statistics.lengths),
        "knowledge": knowledge,
        "replay": replay_sources,
        "validation": {"samples": validation.count,
                       "tokens": sum(validation_statistics.lengths),
                       "sets": validation_statistics.per_set()},
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.fingerprint(),
    }


def select_training_cut(produced_cuts: list, train_cut: int) -> int:
    """Index of the cut training should use: `train_cut`, or the largest produced when it is 0."""
    cuts = [int(c) for c in produced_cuts]
    if not cuts:
        raise ParameterError("train_cut: no cut was produced, so there is nothing to train on")
    if train_cut in (0, None):
        return cuts.index(max(cuts))
    if int(train_cut) not in cuts:
        raise ParameterError(
            f"train_cut: cut {train_cut} was not produced (produced: {sorted(cuts)}); pick one of "
            "them, or 0 for the largest"
        )
    return cuts.index(int(train_cut))
