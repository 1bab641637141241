"""Chat turns, metadata and the output row format (SPEC §2.6, §2.7, §2.9, §3)."""
import json

from knowledge_mixing.messages import build_messages, metadata_json, output_row_json
from knowledge_mixing.sets import knowledge_set


def test_summary_and_document_qa_user_turns():
    for name in ("extractive_summary", "detailed_summary", "document_based_qa"):
        messages = build_messages(knowledge_set(name), "Outline", "Doc text.", "Why?", "Because.",
                                  None, False)
        assert messages[0] == {"role": "user", "content": "Outline\nDoc text.\n\nWhy?"}


def test_key_facts_user_turn():
    messages = build_messages(knowledge_set("key_facts_to_qa"), "the Bessemer process",
                              "1. fact", "who patented it?", "Bessemer.", None, False)
    assert messages[0]["content"] == "In the Bessemer process, who patented it?"


def test_no_thinking_key_without_reasoning():
    for gpt_oss in (False, True):
        assistant = build_messages(knowledge_set("detailed_summary"), "O", "D", "Q", "A", None,
                                   gpt_oss)[1]
        assert assistant == {"role": "assistant", "content": "A"}


def test_reasoning_goes_to_reasoning_content_or_to_thinking_for_gpt_oss():
    kset = knowledge_set("extractive_summary")
    assert build_messages(kset, "O", "D", "Q", "A", "Because.", False)[1] == {
        "role": "assistant", "content": "A", "reasoning_content": "Because."}
    assert build_messages(kset, "O", "D", "Q", "A", "Because.", True)[1] == {
        "role": "assistant", "content": "A", "thinking": "Because."}


def test_metadata_is_a_json_string_with_the_reference_keys():
    assert json.loads(metadata_json("summary", "raw")) == {
        "sdg_document": "summary", "dataset": "document_knowledge_qa", "raw_document": "raw"}
    assert json.loads(metadata_json("block", None))["raw_document"] is None


def test_output_row_has_the_reference_columns_in_order():
    messages = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]
    row = json.loads(output_row_json("Q", "O", "R", "D", messages, 17))
    assert list(row) == ["question", "document_outline", "raw_document", "document", "messages",
                         "metadata", "unmask", "token_length"]
    assert row["unmask"] is True and row["token_length"] == 17 and row["messages"] == messages
