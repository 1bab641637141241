"""The gather stage: the counted shards merged back into input order, so the cuts are the same
bytes whatever the number of shards (docs/behaviour.md#determinism)."""
from __future__ import annotations

import bisect
import heapq
import logging
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..io.memory import release_memory_every
from ..io.parquet import table_writer
from ..io.whole_files import written_whole
from ..knowledge_rows import ROW_GROUP_ROWS
from ..logs import progress
from . import Measured

log = logging.getLogger(__name__)

GATHERED_GROUP_ROWS = ROW_GROUP_ROWS
"""Rows at least in a row group of the merged samples. The shards interleave in runs as short as
one raw document's rows, and a row group per run made tens of thousands of groups (the writer
holds every group's metadata: 1.7 GB for 80,000 one-row runs; and the cuts read them one by
one)."""


def gather_stage(shard_paths: list[str], samples_path: str, shard_metadata: list[dict]) -> Measured:
    """Merge the shards' samples (each in input order) into one file in input order; the
    metadata says which tokenizer counted them (`shard_metadata`: what each shard measured)."""
    tokenizer = _tokenizer(shard_metadata)
    if len(shard_paths) == 1:  # already in input order: nothing to merge
        with written_whole(samples_path) as temporary:
            shutil.copyfile(shard_paths[0], temporary)
        lengths = pq.read_table(samples_path, columns=["token_length"])["token_length"]
        rows, tokens = len(lengths), pc.sum(lengths).as_py() or 0
        progress(log, "gather: 1 shard, %d samples, %d tokens", rows, tokens)
        return _measured(rows, tokens, tokenizer)
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
    rows = tokens = groups_written = pending = 0
    runs: list = []  # merged, not yet written: `pending` rows
    with table_writer(samples_path, files[0].schema_arrow) as writer:
        while heap:
            _, k = heapq.heappop(heap)
            table, row_indices, position = current[k]
            limit = heap[0][0] if heap else None
            end = bisect.bisect_left(row_indices, limit, position) if limit is not None \
                else len(row_indices)
            runs.append(table.slice(position, end - position))
            pending += end - position
            tokens += pc.sum(runs[-1]["token_length"]).as_py() or 0
            if end < len(row_indices):
                current[k] = (table, row_indices, end)
                heapq.heappush(heap, (row_indices[end], k))
            else:
                advance(k)
            del table  # a finished row group lives on only in `runs`
            if pending >= GATHERED_GROUP_ROWS or not heap:
                writer.write_table(pa.concat_tables(runs))
                rows += pending
                runs, pending = [], 0  # the row groups they were cut from are free
                groups_written += 1
                release_memory_every(groups_written)
    progress(log, "gather: %d shards, %d samples, %d tokens", len(files), rows, tokens)
    return _measured(rows, tokens, tokenizer)


def _tokenizer(shard_metadata: list[dict]) -> dict:
    """The tokenizer's name and fingerprint, as the shards measured them: the chat template's
    from a shard that had rows to count."""
    first = shard_metadata[0] if shard_metadata else {}
    fingerprint = dict(first.get("tokenizer_sha256", {}))
    fingerprint["chat_template"] = next(
        (m["tokenizer_sha256"]["chat_template"] for m in shard_metadata
         if m.get("tokenizer_sha256", {}).get("chat_template")), "")
    return {"tokenizer": first.get("tokenizer", ""), "tokenizer_sha256": fingerprint}


def _measured(rows: int, tokens: int, tokenizer: dict) -> Measured:
    return Measured({"samples": {"rows_counted": rows, "tokens_counted": tokens, **tokenizer}})
