"""Parquet read one row group at a time, and re-cut into batches of a fixed size."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from .memory import release_memory


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
