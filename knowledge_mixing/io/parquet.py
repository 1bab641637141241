"""Parquet read one row group at a time, or in runs of whole row groups of about a given size;
the tables passed between tasks written whole."""
from __future__ import annotations

import contextlib

import pyarrow.parquet as pq

from .memory import release_memory_every
from .whole_files import written_whole

COMPRESSION = "lz4"
"""How the Parquet files that pass between tasks are compressed. LZ4 reads back 1.5 – 2 times as
fast as Parquet's default (Snappy), at a similar size (measured on the benchmark's medium samples
file: 0.07 s against 0.11 – 0.15 s, 20 MB against 36 MB); a samples file is read once per cut."""


@contextlib.contextmanager
def table_writer(path: str, schema, **options):
    """A Parquet writer of a table passed between tasks: compressed as COMPRESSION says, the
    file under `path` whole or not at all (io/whole_files.py). `options` go to the writer."""
    with written_whole(path) as temporary, pq.ParquetWriter(
            temporary, schema, compression=COMPRESSION, **options) as writer:
        yield writer


def row_groups(path: str, columns=None):
    """A Parquet file's row groups as tables, one at a time (pyarrow's iter_batches keeps memory
    it has decoded until the file is closed: a pod would grow with the input)."""
    parquet = pq.ParquetFile(path)
    for group in range(parquet.metadata.num_row_groups):
        yield parquet.read_row_group(group, columns=columns)
        release_memory_every(group + 1)


def row_group_runs(group_rows: list[int], size: int):
    """(first row, row group indexes) of consecutive row groups holding at least `size` rows each
    (the last run fewer): the units a reader reads whole, a group never split between two."""
    first, run, rows = 0, [], 0
    for group, n in enumerate(group_rows):
        run.append(group)
        rows += n
        if rows >= size:
            yield first, run
            first, run, rows = first + rows, [], 0
    if run:
        yield first, run
