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
    """Columns that hold the raw document, first present non-null wins; none present → null."""
    raw_document_required: bool
    user_template: str
    """Python format string over document_outline, document and question."""
    flow_id: str
    """The sdg_hub flow that generates the set (its registry id, for the per-flow `sdg` task)."""


SUMMARY_TEMPLATE = "{document_outline}\n{document}\n\n{question}"
KEY_FACTS_TEMPLATE = "In {document_outline}, {question}"

SETS: tuple[KnowledgeSet, ...] = (
    KnowledgeSet("extractive_summary", True, ("raw_document",), True, SUMMARY_TEMPLATE,
                 "epic-jade-656"),
    KnowledgeSet("detailed_summary", True, ("raw_document",), True, SUMMARY_TEMPLATE,
                 "mild-thunder-748"),
    # sdg_hub 0.9.1+ writes no raw_document for key facts: the key-facts block in `document`
    # still identifies the raw document (one block per raw document).
    KnowledgeSet("key_facts_to_qa", False, ("raw_document",), False, KEY_FACTS_TEMPLATE,
                 "heavy-heart-77"),
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


def knowledge_set(name: str) -> KnowledgeSet:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown knowledge set {name!r}; expected one of {', '.join(SET_NAMES)}") from None


REQUIRED_STRING_COLUMNS = ("document_outline", "document", "question", "response")
"""Every set needs these as strings in every row."""

# Reasoning text of a reasoning teacher: a flat column (sdg_hub 0.3.x) or nested in the raw
# reply (0.4 – 0.9.0, `response_dict[0]["reasoning_content"]`); 0.9.1+ drops it.
REASONING_COLUMN = "parse_response_dict_reasoning_content"
RESPONSE_DICT_COLUMN = "response_dict"

# Response markers the teacher's prompt asks for, removed from every answer.
RESPONSE_MARKERS = ("[END]", "[ANSWER]")
# Questions that are a template echo rather than a question (the GPT-OSS option's filter).
GPT_OSS_BAD_QUESTION_MARKERS = ("...", "<question>", "<Insert question here>")
