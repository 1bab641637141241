"""The stage bodies behind the KFP components: plain paths and values in, files and dicts out.

load → summaries.parquet (one normalised schema, all sets)
count → samples.parquet (one row per Q&A pair any feasible cut can take: its output line,
        token count and sampling keys), counted once for all cuts
mix   → combined_cut_{N}x.jsonl for one cut, a row filter and a write
"""
from __future__ import annotations

import logging
import os
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .load import load_step03
from .messages import build_messages, output_row_json
from .report import token_length_histogram
from .sampling import (
    ParameterError,
    plan_cuts,
    rank_rows,
    summaries_per_raw_document,
    validate_cut_sizes,
    validate_qa_per_doc,
)
from .sets import SAMPLED_SET_NAMES, SET_NAMES, knowledge_set
from .tokens import count_tokens, load_tokenizer

log = logging.getLogger(__name__)

SAMPLES_SCHEMA = pa.schema(
    [
        pa.field("set", pa.string(), nullable=False),
        pa.field("raw_document", pa.string()),
        pa.field("document", pa.string(), nullable=False),
        pa.field("summary_rank", pa.int32(), nullable=False),
        pa.field("qa_index", pa.int32(), nullable=False),
        pa.field("token_length", pa.int32(), nullable=False),
        pa.field("row_json", pa.string(), nullable=False),
    ]
)
QA_PER_DOC_KEY = "knowledge_mixing.qa_per_doc"
"""Samples-file metadata: the qa_per_doc the rows were selected with, so every cut uses it."""


def configure_logging() -> None:
    """One timestamped line per step on stdout, where KFP and the local runner collect logs."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)


def load_stage(step03_dir: str, summaries_path: str, save_gpt_oss_format: bool) -> dict:
    """Load and normalise the step-03 folder; write it as Parquet; return counts per set."""
    result = load_step03(step03_dir, save_gpt_oss_format)
    pq.write_table(result.table, summaries_path)
    log.info("load: wrote %d rows of %d sets to Parquet (absent sets: %s)", result.table.num_rows,
             len(result.counts), ", ".join(result.absent_sets) or "none")
    return {
        "sets": {name: counts.as_dict() for name, counts in result.counts.items()},
        "absent_sets": result.absent_sets,
    }


def count_stage(summaries_path: str, samples_path: str, cut_sizes: list, qa_per_doc,
                seed: int, tokenizer: str, save_gpt_oss_format: bool,
                trust_remote_code: bool = False) -> dict:
    """Plan the cuts, build every row a feasible cut can take, count its tokens once.
    `tokenizer` is anything load_tokenizer takes; in the pipeline, the fetched tokenizer's files."""
    cut_sizes = validate_cut_sizes(list(cut_sizes))
    qa_per_doc = validate_qa_per_doc(qa_per_doc)
    table = pq.read_table(summaries_path)
    columns = table.to_pydict()
    averages = summaries_per_raw_document(columns["set"], columns["raw_document"],
                                          columns["document"], SAMPLED_SET_NAMES)
    plan = plan_cuts(cut_sizes, averages)
    for cut, reason in plan.infeasible.items():
        log.warning("plan: cut %d dropped as infeasible: %s", cut, reason)
    log.info("plan: feasible cuts %s; summaries per raw document: %s", plan.feasible,
             ", ".join(f"{k} {v:.2f}" for k, v in averages.items()) or "no sampled set present")

    started = time.perf_counter()
    ranks, qa_indexes = rank_rows(columns["set"], columns["raw_document"], columns["document"],
                                  SAMPLED_SET_NAMES, seed)
    ranked = table.append_column("summary_rank", pa.array(ranks, pa.int32())) \
                  .append_column("qa_index", pa.array(qa_indexes, pa.int32()))
    largest_cut = max(plan.feasible)
    kept = select_rows(ranked, largest_cut, qa_per_doc).to_pydict()
    conversations = [
        build_messages(knowledge_set(set_name), outline, document, question, response, reasoning,
                       save_gpt_oss_format)
        for set_name, outline, document, question, response, reasoning in zip(
            kept["set"], kept["document_outline"], kept["document"], kept["question"],
            kept["response"], kept["reasoning"])
    ]
    log.info("select: %d of %d rows go into at least one cut (%d beyond cut %d or qa_per_doc %d) "
             "(%.2fs)", len(conversations), table.num_rows, table.num_rows - len(conversations),
             largest_cut, qa_per_doc, time.perf_counter() - started)

    lengths = count_tokens(load_tokenizer(tokenizer, trust_remote_code), conversations)
    kept["token_length"] = lengths
    kept["row_json"] = [
        output_row_json(question, outline, raw_document, document, messages, length)
        for question, outline, raw_document, document, messages, length in zip(
            kept["question"], kept["document_outline"], kept["raw_document"], kept["document"],
            conversations, lengths)
    ]
    samples = pa.Table.from_pydict({f.name: kept[f.name] for f in SAMPLES_SCHEMA},
                                   schema=SAMPLES_SCHEMA)
    pq.write_table(samples.replace_schema_metadata({QA_PER_DOC_KEY: str(qa_per_doc)}),
                   samples_path)
    return {
        "feasible_cuts": plan.feasible,
        "infeasible_cuts": {str(cut): reason for cut, reason in plan.infeasible.items()},
        "summaries_per_raw_document": averages,
        "qa_per_doc": qa_per_doc,
        "seed": seed,
        "rows_counted": len(lengths),
        "tokens_counted": sum(lengths),
    }


def select_rows(ranked: pa.Table, cut: int, qa_per_doc: int) -> pa.Table:
    """The rows of cut N: summaries ranked below N, their first qa_per_doc Q&A pairs (SPEC §2.3);
    unsampled sets have rank 0 and Q&A index 0, so every cut takes them (SPEC §2.4)."""
    return ranked.filter(pc.and_(pc.less(ranked["summary_rank"], cut),
                                 pc.less(ranked["qa_index"], qa_per_doc)))


def set_statistics(rows: pa.Table) -> dict[str, dict[str, int]]:
    """Samples, tokens, distinct raw documents and summaries per set. A key-facts row without a
    raw document is identified by its key-facts block (one block per raw document)."""
    stats = {}
    columns = rows.select(["set", "raw_document", "document", "token_length"]).to_pydict()
    for name in SET_NAMES:
        picked = [i for i, s in enumerate(columns["set"]) if s == name]
        if not picked:
            continue
        raw_documents = {columns["raw_document"][i] if columns["raw_document"][i] is not None
                         else columns["document"][i] for i in picked}
        stats[name] = {
            "samples": len(picked),
            "tokens": sum(columns["token_length"][i] for i in picked),
            "raw_documents": len(raw_documents),
            "summaries": len({columns["document"][i] for i in picked}),
        }
    return stats


def write_lines_atomically(path: str, lines: list[str]) -> None:
    """Readers never see a half-written file: write beside it, then rename."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line)
            f.write("\n")
    os.replace(partial, path)


def mix_stage(samples_path: str, cut: int, output_path: str) -> dict:
    """Write one cut's JSONL (sets in SPEC order, rows in input order); return its statistics."""
    started = time.perf_counter()
    cut = validate_cut_sizes([cut])[0]
    samples = pq.read_table(samples_path)
    qa_per_doc = int(samples.schema.metadata[QA_PER_DOC_KEY.encode()])
    rows = select_rows(samples, cut, qa_per_doc)
    write_lines_atomically(output_path, rows["row_json"].to_pylist())
    per_set = set_statistics(rows)
    tokens = sum(s["tokens"] for s in per_set.values())
    lengths = rows["token_length"].to_pylist()
    log.info("mix cut %d: wrote %d rows, %d tokens (%s) (%.2fs)", cut, rows.num_rows, tokens,
             ", ".join(f"{k} {v['samples']}" for k, v in per_set.items()),
             time.perf_counter() - started)
    return {
        "cut": cut,
        "samples": rows.num_rows,
        "tokens": tokens,
        "max_token_length": max(lengths, default=0),
        "sets": per_set,
        "token_length_histogram": token_length_histogram(lengths),
    }


def select_training_cut(produced_cuts: list, train_cut: int) -> int:
    """Index of the cut training should use: `train_cut`, or the largest produced when it is 0."""
    cuts = [int(c) for c in produced_cuts]
    if not cuts:
        raise ParameterError("train_cut: no cut was produced, so there is nothing to train on")
    if train_cut in (0, None):
        return cuts.index(max(cuts))
    if int(train_cut) not in cuts:
        raise ParameterError(
            f"train_cut: cut {train_cut} was not produced (produced: {sorted(cuts)}); pick one of "
            "them, or 0 for the largest"
        )
    return cuts.index(int(train_cut))
