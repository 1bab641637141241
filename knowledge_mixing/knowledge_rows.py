"""The knowledge rows table: every set's Q&A rows in one normalised schema, written by the load
stage and read by the plan and count stages."""
from __future__ import annotations

import pyarrow as pa

from .io.parquet import row_groups
from .sampling import document_id

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
        pa.field("messages_id", pa.binary(16), nullable=False),
    ]
)


def read_identities(path: str) -> tuple[list, list, list]:
    """Per row of the knowledge rows file: its set, and the document_id of its raw document and
    of its document (the summary, key-facts block or raw document). Read through Parquet's
    dictionary pages, so each distinct text is decoded and hashed once, and no text is held."""
    sets, raw_documents, documents = [], [], []
    columns = ["set", "raw_document", "document"]
    for table in row_groups(path, columns=columns, read_dictionary=columns):
        for batch in table.to_batches():
            for column, out, identify in zip(batch.columns, (sets, raw_documents, documents),
                                             (str, document_id, document_id)):
                values = [identify(v) for v in column.dictionary.to_pylist()]
                out += [None if i is None else values[i] for i in column.indices.to_pylist()]
    return sets, raw_documents, documents


def read_messages_ids(path: str) -> list[bytes]:
    """Per row of the knowledge rows file: the rows.messages_id of its chat sample."""
    return [value for table in row_groups(path, columns=["messages_id"])
            for value in table["messages_id"].to_pylist()]
