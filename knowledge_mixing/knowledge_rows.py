"""The knowledge rows table: every set's Q&A rows in one normalised schema, written by the load
stage and read by the plan and count stages."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError
from .io.parquet import row_groups

ROW_GROUP_ROWS = 1024
"""Most rows in one row group of the knowledge rows file. The count stage's processes read runs
of whole row groups, so no group may be much larger than a run: a 2 MB parse block of short rows
holds ten thousand."""
KNOWLEDGE_ROWS_SCHEMA = pa.schema(
    [
        pa.field("set", pa.string(), nullable=False),
        pa.field("raw_document", pa.string()),
        pa.field("document", pa.string(), nullable=False),
        pa.field("document_outline", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("response", pa.string(), nullable=False),
        pa.field("reasoning", pa.string()),
        pa.field("raw_document_id", pa.binary(16)),
        pa.field("document_id", pa.binary(16), nullable=False),
        pa.field("messages_id", pa.binary(16), nullable=False),
    ]
)
"""The identities (sampling.document_id of the raw document and of the document) are computed
once, as the rows are loaded: the plan and count stages read them instead of the texts (0.3 s
each on the benchmark's medium input, reading and hashing the texts again)."""


IDENTITY_COLUMNS = ["set", "raw_document_id", "document_id"]


def read_identities(path: str) -> tuple[list, list, list]:
    """Per row of the knowledge rows file: its set, and the document_id of its raw document and
    of its document (the summary, key-facts block or raw document). Read whole (40 bytes a row),
    and rows that share a value share one Python object (the lists of ten times the benchmark's
    medium input held 146 MB with an object per row)."""
    parquet = pq.ParquetFile(path)
    missing = [c for c in IDENTITY_COLUMNS if c not in parquet.schema_arrow.names]
    if missing:
        raise InputError(f"{path}: the knowledge rows have no column {', '.join(missing)}: they "
                         "were written by an older knowledge-mixing (a cached load_knowledge "
                         "output?); run load_knowledge again, without caching")
    table = parquet.read(columns=IDENTITY_COLUMNS, use_threads=False)
    identities = []
    for column in table.columns:
        encoded = column.combine_chunks().dictionary_encode()
        values = encoded.dictionary.to_pylist()
        identities.append([None if i is None else values[i] for i in encoded.indices.to_pylist()])
    return tuple(identities)


def read_messages_ids(path: str) -> list[bytes]:
    """Per row of the knowledge rows file: the rows.messages_id of its chat sample."""
    return [value for table in row_groups(path, columns=["messages_id"])
            for value in table["messages_id"].to_pylist()]
