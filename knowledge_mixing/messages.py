"""Chat turns, metadata and the output row of one Q&A pair (SPEC §2.6, §2.7, §2.9, §3)."""
from __future__ import annotations

import json

from .sets import KnowledgeSet

METADATA_DATASET = "document_knowledge_qa"


def user_content(kset: KnowledgeSet, document_outline: str, document: str, question: str) -> str:
    return kset.user_template.format(
        document_outline=document_outline, document=document, question=question
    )


def assistant_message(response: str, reasoning: str | None, gpt_oss_format: bool) -> dict:
    """The assistant turn. Reasoning goes in `reasoning_content` (what instructlab-training and
    the Qwen/DeepSeek templates read), or in `thinking` for the gpt-oss template; without real
    reasoning neither key is written, because an empty `thinking` key stops the trainer from
    learning the end-of-turn token (SPEC §3)."""
    message = {"role": "assistant", "content": response}
    if reasoning:
        message["thinking" if gpt_oss_format else "reasoning_content"] = reasoning
    return message


def build_messages(kset: KnowledgeSet, document_outline: str, document: str, question: str,
                   response: str, reasoning: str | None, gpt_oss_format: bool) -> list[dict]:
    return [
        {"role": "user", "content": user_content(kset, document_outline, document, question)},
        assistant_message(response, reasoning, gpt_oss_format),
    ]


def metadata_json(document: str, raw_document: str | None) -> str:
    return json.dumps(
        {"sdg_document": document, "dataset": METADATA_DATASET, "raw_document": raw_document},
        ensure_ascii=False,
    )


def output_row_json(question: str, document_outline: str, raw_document: str | None, document: str,
                    messages: list[dict], token_length: int) -> str:
    """One line of a combined_cut_{N}x.jsonl file, columns in the reference's order (SPEC §2.9)."""
    return json.dumps(
        {
            "question": question,
            "document_outline": document_outline,
            "raw_document": raw_document,
            "document": document,
            "messages": messages,
            "metadata": metadata_json(document, raw_document),
            "unmask": True,
            "token_length": token_length,
        },
        ensure_ascii=False,
    )
