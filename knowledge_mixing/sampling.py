"""Cut sizes: which are feasible and which rows each one takes (docs/behaviour.md#feasibility,
#sampling, #nesting).

Every summary gets a seeded rank among the summaries of its raw document; cut N takes the
summaries ranked below N. Ranks come from a hash of (seed, set, raw document, summary), so the
choice does not depend on file order or sharding, and cut N is a subset of every larger cut.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass


from .errors import ParameterError
from .numbers import number


def parse_cut_sizes(value, name: str = "cut_sizes") -> list[int]:
    """Cut sizes as distinct positive integers, ascending, from text ('1,5,10': a flag or an
    environment variable) or a list (a recipe; a pipeline parameter, whose numbers KFP may hand
    back as floats). Errors name the setting (`name`) and the item at fault."""
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
        for position, item in enumerate(items, start=1):
            if not (item.isascii() and item.isdigit()) or int(item) < 1:
                raise ParameterError(
                    f"{name}: item {position} ({item!r}) of {value!r} is not a positive integer; "
                    "give a comma-separated list such as 1,5,10")
    else:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ParameterError(f"{name}: give at least one cut size, such as [1, 5, 10]")
    sizes = [number(item, name, integer=True, low=1) for item in items]
    duplicates = sorted({s for s in sizes if sizes.count(s) > 1})
    if duplicates:
        raise ParameterError(f"{name}: {', '.join(map(str, duplicates))} given more than once")
    return sorted(sizes)


def text_id(text: str | None) -> bytes | None:
    """A 16-byte identity of a text: rows are grouped and ranked by it without holding the text."""
    return None if text is None else hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def normalised_whitespace(text: str) -> str:
    """Every run of whitespace (Python's str.split: spaces, tabs, line breaks, no-break and other
    Unicode spaces) made one space, the ends stripped."""
    return " ".join(text.split())


def document_id(text: str | None) -> bytes | None:
    """The identity of a raw document or summary: the text_id of its normalised whitespace, so
    texts that differ only in whitespace are one document (docs/behaviour.md#sampling)."""
    return None if text is None else text_id(normalised_whitespace(text))


def summary_sort_key(seed: int, set_name: str, raw_document_id: bytes, document_id: bytes) -> bytes:
    """A seeded pseudo-random key: a raw document's summaries are taken in ascending key order."""
    return hashlib.sha256(f"{seed}\0{set_name}\0".encode() + raw_document_id + document_id).digest()


def rank_rows(sets: list[str], raw_documents: list, documents: list,
              sampled: tuple[str, ...], seed: int,
              messages_ids: list | None = None) -> tuple[list[int], list[int]]:
    """Per row: the seeded rank of its summary within its raw document, and its position among
    its summary's Q&A pairs in file order. Rows of unsampled sets get (0, 0): every cut takes them.
    Raw documents and summaries are given by their document_id. With `messages_ids` (dedup), a
    row whose messages are an earlier row's takes that row's rank and position, and positions
    count distinct pairs only: a cut holds a duplicate exactly when it holds its first."""
    keys_by_raw_document: dict[tuple[str, str], set[str]] = defaultdict(set)
    for set_name, raw_document, document in zip(sets, raw_documents, documents):
        if set_name in sampled:
            keys_by_raw_document[(set_name, raw_document)].add(document)
    summary_rank: dict[tuple[str, str, str], int] = {}
    for (set_name, raw_document), summaries in keys_by_raw_document.items():
        ordered = sorted(summaries, key=lambda d: summary_sort_key(seed, set_name, raw_document, d))
        for rank, document in enumerate(ordered):
            summary_rank[(set_name, raw_document, document)] = rank
    ranks, qa_indexes = [], []
    seen_per_summary: dict[tuple[str, str, str], int] = defaultdict(int)
    first: dict[bytes, tuple[int, int]] = {}  # messages_id → (rank, qa_index) of its first row
    for row, (set_name, raw_document, document) in enumerate(zip(sets, raw_documents, documents)):
        if messages_ids is not None and messages_ids[row] in first:
            rank, qa_index = first[messages_ids[row]]
        elif set_name not in sampled:
            rank, qa_index = 0, 0
        else:
            summary = (set_name, raw_document, document)
            rank, qa_index = summary_rank[summary], seen_per_summary[summary]
            seen_per_summary[summary] += 1
        if messages_ids is not None:
            first.setdefault(messages_ids[row], (rank, qa_index))
        ranks.append(rank)
        qa_indexes.append(qa_index)
    return ranks, qa_indexes


def summaries_per_raw_document(sets: list[str], raw_documents: list, documents: list[str],
                               sampled: tuple[str, ...]) -> dict[str, float]:
    """Average number of distinct summaries per raw document, for each sampled set present,
    in the order of `sampled`."""
    raw = defaultdict(set)
    summaries = defaultdict(set)
    for set_name, raw_document, document in zip(sets, raw_documents, documents):
        if set_name in sampled:
            raw[set_name].add(raw_document)
            summaries[set_name].add((raw_document, document))
    return {name: len(summaries[name]) / len(raw[name]) for name in sampled if name in raw}


@dataclass
class CutPlan:
    feasible: list[int]
    infeasible: dict[int, str]
    """Cut size → why it was dropped."""
    averages: dict[str, float]


def plan_cuts(cut_sizes: list[int], averages: dict[str, float]) -> CutPlan:
    """Keep the cuts every sampled set can fill on average; fail if none is left."""
    feasible, infeasible = [], {}
    for cut in cut_sizes:
        short = [f"{name} averages {avg:.2f} summaries per raw document (< {cut})"
                 for name, avg in averages.items() if avg < cut]
        if short:
            infeasible[cut] = "; ".join(short)
        else:
            feasible.append(cut)
    if not feasible:
        sets = ", ".join(f"{name} {avg:.2f}" for name, avg in averages.items())
        raise ParameterError(
            f"cut_sizes: no cut size in {cut_sizes} is feasible. Distinct summaries per raw "
            f"document on average: {sets}. Every sampled set must reach the cut size; choose "
            f"cut sizes ≤ {int(min(averages.values()))}"
        )
    return CutPlan(feasible, infeasible, averages)


def cut_mask(summary_rank, qa_index, cut: int, qa_per_doc: int):
    """Which rows cut N takes (Arrow arrays in, a boolean array out): summaries ranked below N,
    their first qa_per_doc Q&A pairs; rows of unsampled sets have rank 0 and Q&A index 0, so
    every cut takes them."""
    import pyarrow.compute as pc  # here, not at the top: compiling the pipeline needs only kfp

    return pc.and_(pc.less(summary_rank, cut), pc.less(qa_index, qa_per_doc))
