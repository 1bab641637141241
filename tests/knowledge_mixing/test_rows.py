"""Chat turns, metadata and the output row format, for knowledge and replay rows
(docs/behaviour.md#row-format)."""
import json

from knowledge_mixing.rows import (
    build_messages,
    knowledge_metadata,
    messages_id,
    output_row_json,
    replay_metadata,
)
from knowledge_mixing.sets import knowledge_set

COLUMNS = ["question", "document_outline", "raw_document", "document", "messages", "metadata",
           "unmask", "token_length"]


def test_summary_and_document_qa_user_turns():
    for name in ("extractive_summary", "detailed_summary", "document_based_qa"):
        messages = build_messages(knowledge_set(name), "Outline", "Doc text.", "Why?", "Because.",
                                  None, False)
        assert messages[0] == {"role": "user", "content": "Outline\nDoc text.\n\nWhy?"}


def test_key_facts_user_turn():
    messages = build_messages(knowledge_set("key_facts_to_qa"), "the Bessemer process",
                              "1. fact", "who patented it?", "Bessemer.", None, False)
    assert messages[0] == {"role": "user", "content": "In the Bessemer process, who patented it?"}


def test_no_thinking_key_without_reasoning():
    for gpt_oss in (False, True):
        for reasoning in (None, ""):
            assistant = build_messages(knowledge_set("detailed_summary"), "O", "D", "Q", "A",
                                       reasoning, gpt_oss)[1]
            assert assistant == {"role": "assistant", "content": "A"}


def test_reasoning_goes_to_reasoning_content_or_to_thinking_for_gpt_oss():
    kset = knowledge_set("extractive_summary")
    assert build_messages(kset, "O", "D", "Q", "A", "Because.", False)[1] == {
        "role": "assistant", "content": "A", "reasoning_content": "Because."}
    assert build_messages(kset, "O", "D", "Q", "A", "Because.", True)[1] == {
        "role": "assistant", "content": "A", "thinking": "Because."}


def test_knowledge_row_has_the_reference_columns_in_order_and_metadata_as_a_string():
    messages = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]
    line = output_row_json(messages, 17, knowledge_metadata("summary", "raw"), question="Q",
                           document_outline="O", raw_document="R", document="D")
    row = json.loads(line)
    assert list(row) == COLUMNS
    assert (row["question"], row["document_outline"], row["raw_document"], row["document"]) == \
        ("Q", "O", "R", "D")
    assert row["unmask"] is True and row["token_length"] == 17 and row["messages"] == messages
    assert isinstance(row["metadata"], str)
    assert json.loads(row["metadata"]) == {
        "sdg_document": "summary", "dataset": "document_knowledge_qa", "raw_document": "raw"}
    assert list(json.loads(row["metadata"])) == ["sdg_document", "dataset", "raw_document"]
    assert json.loads(output_row_json(messages, 1, knowledge_metadata("block", None)))[
        "metadata"] == '{"sdg_document": "block", "dataset": "document_knowledge_qa", "raw_document": null}'


def test_replay_row_leaves_the_knowledge_columns_null():
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"}]
    row = json.loads(output_row_json(messages, 9, replay_metadata("chat.jsonl", 3, {"id": 1}),
                                     unmask=False))
    assert list(row) == COLUMNS
    assert [row[k] for k in COLUMNS[:4]] == [None] * 4
    assert row["unmask"] is False and row["messages"] == messages
    assert json.loads(row["metadata"]) == {"dataset": "replay", "replay_source": "chat.jsonl",
                                           "line": 3, "source_metadata": {"id": 1}}
    assert replay_metadata("chat.jsonl", 3, None) == {"dataset": "replay",
                                                      "replay_source": "chat.jsonl", "line": 3}


def test_non_ascii_is_written_as_is():
    messages = [{"role": "user", "content": "Ünïcödé — ≈"}, {"role": "assistant", "content": "é"}]
    line = output_row_json(messages, 1, knowledge_metadata("Ü", "—"), document="Ü")
    assert "Ünïcödé — ≈" in line and "\\u" not in line
    assert '\\"sdg_document\\": \\"Ü\\"' in line  # inside the metadata string too


def test_messages_id_is_the_same_for_the_same_messages_only():
    one = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    assert messages_id(one) == messages_id([{"content": "Q", "role": "user"},
                                            {"content": "A", "role": "assistant"}])
    others = [
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "B"}],
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A",
                                           "reasoning_content": ""}],
        [{"role": "user", "content": "Q", "x": "y"}, {"role": "assistant", "content": "A"}],
        [{"role": "user", "content": "QA"}, {"role": "assistant", "content": ""}],
        [{"role": "user"}, {"content": "Q", "role": "assistant"}],  # keys moved between turns
        [{"role": "user", "content": "Q"}],
        [{"role": "user", "content": '"Q"'}, {"role": "assistant", "content": "A"}],
        [{"role": "user", "content": ["Q"]}, {"role": "assistant", "content": "A"}],
        [{"role": "user", "content": None}, {"role": "assistant", "content": "A"}],
        [{"role": "user", "content": "null"}, {"role": "assistant", "content": "A"}],
    ]
    assert len({messages_id(m) for m in [one, *others]}) == 1 + len(others)
    assert len(messages_id(one)) == 16
