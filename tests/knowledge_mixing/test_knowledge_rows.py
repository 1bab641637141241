"""The knowledge rows table: the identities the plan and count stages read from it."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from knowledge_mixing.errors import InputError
from knowledge_mixing.knowledge_rows import KNOWLEDGE_ROWS_SCHEMA, read_identities
from knowledge_mixing.sampling import document_id, text_id


def test_identities_are_sets_and_document_ids_row_by_row(tmp_path):
    """As the load wrote them (tests/knowledge_mixing/stages/test_load.py checks that it writes
    each text's document_id), across row groups."""
    rows = [{"set": s, "raw_document": r, "document": d, "document_outline": "o", "question": "q",
             "response": "a", "reasoning": None, "raw_document_id": document_id(r),
             "document_id": document_id(d), "messages_id": bytes(16)}
            for s, r, d in [("extractive_summary", "raw", "s1"), ("extractive_summary", "raw", "s2"),
                            ("key_facts_to_qa", None, "block"), ("extractive_summary", "raw\n", "s1 ")]]
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=KNOWLEDGE_ROWS_SCHEMA), path, row_group_size=3)
    sets, raw_documents, documents = read_identities(str(path))
    assert sets == [r["set"] for r in rows]
    assert raw_documents == [text_id("raw"), text_id("raw"), None, text_id("raw")]
    assert documents == [text_id(d) for d in ("s1", "s2", "block", "s1")]
    # one object per distinct value of a row group, not one per row
    assert raw_documents[0] is raw_documents[1] and sets[0] is sets[1]


def test_knowledge_rows_of_an_older_version_say_to_load_again(tmp_path):
    """A cached load output from before the identities were written: a clear error, not a
    missing-field KeyError."""
    path = tmp_path / "old.parquet"
    pq.write_table(pa.table({"set": ["extractive_summary"], "document": ["d"]}), path)
    with pytest.raises(InputError, match=r"old.parquet: the knowledge rows have no column "
                                         r"raw_document_id, document_id: .* run load_knowledge "
                                         r"again, without caching"):
        read_identities(str(path))
