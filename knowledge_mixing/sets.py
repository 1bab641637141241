"""The four knowledge sets of the step-03 artifact and how each one normalises
(docs/behaviour.md#input-the-generation-steps-output, #normalisation, #row-format).

Everything that differs between sets lives here, so the loader, the message builder and the
sampler stay set-agnostic.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnowledgeSet:
    name: str
    """Folder name in the step-03 artifact, and the set's name everywhere else."""
    sampled: bool
    """Summaries are sampled per cut (extractive, detailed); otherwise every row goes in every cut."""
    raw_document_columns: tuple[str, ...]
    """Columns that hold the raw document: the first non-null is read, and every other non-null
    one must hold the same text; none present → null."""
    raw_document_required: bool
    user_template: str
    """Python format string over document_outline, document and question."""
    flow_id: str
    """The sdg_hub flow that generates the set (its registry id, for the per-flow `sdg` task)."""
    summary_column: str | None = None
    """Another name of the set's `document` (sdg_hub's flow docs call it `summary`). In a row
    that has it, `document` (where it differs) is read as the raw document: the summary/document
    naming of a revision of sdg_hub's knowledge-mixing example, for document/raw_document."""


SUMMARY_TEMPLATE = "{document_outline}\n{document}\n\n{question}"
KEY_FACTS_TEMPLATE = "In {document_outline}, {question}"

SETS: tuple[KnowledgeSet, ...] = (
    # sdg_hub 0.4 – 0.9.0 also copy the raw document to base_document in the summary flows
    KnowledgeSet("extractive_summary", True, ("raw_document", "base_document"), True,
                 SUMMARY_TEMPLATE, "epic-jade-656", "summary"),
    KnowledgeSet("detailed_summary", True, ("raw_document", "base_document"), True,
                 SUMMARY_TEMPLATE, "mild-thunder-748", "summary"),
    # sdg_hub 0.9.1+ writes no raw_document for key facts: the key-facts block in `document`
    # still identifies the raw document (one block per raw document).
    KnowledgeSet("key_facts_to_qa", False, ("raw_document",), False, KEY_FACTS_TEMPLATE,
                 "heavy-heart-77", "summary"),
    # Document QA's `document` *is* the raw document; older layouts also copy it elsewhere.
    KnowledgeSet(
        "document_based_qa", False, ("raw_document", "base_document", "document"), True,
        SUMMARY_TEMPLATE, "stellar-peak-605",
    ),
)
SET_NAMES: tuple[str, ...] = tuple(s.name for s in SETS)
SAMPLED_SET_NAMES: tuple[str, ...] = tuple(s.name for s in SETS if s.sampled)
FLOW_IDS: dict[str, str] = {s.name: s.flow_id for s in SETS}


_BY_NAME = {s.name: s for s in SETS}


def set_position(name: str) -> tuple | None:
    """Where a set's name, or a `set/file` name, goes in set order (then by file name); None
    for any other name."""
    set_name, _, file_name = name.partition("/")
    return (SET_NAMES.index(set_name), file_name) if set_name in _BY_NAME else None


def knowledge_set(name: str) -> KnowledgeSet:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown knowledge set {name!r}; expected one of {', '.join(SET_NAMES)}") from None


REQUIRED_STRING_COLUMNS = ("document_outline", "question", "response")
"""Every set needs these as strings in every row, and `document` (or its other name)."""

# Reasoning text of a reasoning teacher: a flat column (sdg_hub 0.3.x's parser wrote
# parse_response_dict_reasoning_content; sdg_hub's knowledge-mixing example read
# response_reasoning_content before that) or nested in the raw reply (0.4 – 0.9.0,
# `response_dict[0]["reasoning_content"]`); 0.9.1+ keeps none.
REASONING_COLUMNS = ("parse_response_dict_reasoning_content", "response_reasoning_content")
RESPONSE_DICT_COLUMN = "response_dict"

# Response markers the teacher's prompt asks for, removed from every answer.
RESPONSE_MARKERS = ("[END]", "[ANSWER]")
# Questions that are a template echo rather than a question (the GPT-OSS option's filter).
GPT_OSS_BAD_QUESTION_MARKERS = ("...", "<question>", "<Insert question here>")
