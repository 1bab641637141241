"""The four knowledge sets and what differs between them
(docs/behaviour.md#input-the-generation-steps-output)."""
import pytest

from knowledge_mixing.sets import FLOW_IDS, SAMPLED_SET_NAMES, SET_NAMES, knowledge_set


def test_sets_in_their_order_and_which_are_sampled():
    assert SET_NAMES == ("extractive_summary", "detailed_summary", "key_facts_to_qa",
                         "document_based_qa")
    assert SAMPLED_SET_NAMES == ("extractive_summary", "detailed_summary")
    assert set(FLOW_IDS) == set(SET_NAMES) and len(set(FLOW_IDS.values())) == 4


def test_raw_document_columns_per_set():
    assert knowledge_set("document_based_qa").raw_document_columns == (
        "raw_document", "base_document", "document")
    assert not knowledge_set("key_facts_to_qa").raw_document_required
    assert all(knowledge_set(n).raw_document_required for n in SET_NAMES if n != "key_facts_to_qa")


def test_unknown_set_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown knowledge set 'key_facts'; expected one of "
                       "extractive_summary, detailed_summary, key_facts_to_qa, document_based_qa"):
        knowledge_set("key_facts")
