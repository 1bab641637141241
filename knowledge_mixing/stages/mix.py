"""The mix stage: one cut size → its training JSONL under the recipe, with its validation rows,
its data card and what went in and why (docs/behaviour.md#recipe-order, #outputs)."""
from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..data_card import data_card_markdown
from ..errors import ParameterError
from ..io.memory import release_memory_every
from ..io.whole_files import write_text_whole, written_whole
from ..logs import progress
from ..recipe import Recipe
from ..report import token_length_histogram, token_length_percentiles, from_metadata
from ..run_summary import card_file_name, cut_file_name, validation_file_name
from ..sampling import cut_mask, parse_cut_sizes
from ..sets import SET_NAMES
from ..trainer_check import check_cut, summary_line
from ..weighting import knowledge_copies, repeated, replay_copies
from . import Measured
from .plan import read_plan

log = logging.getLogger(__name__)

SHUFFLE_CHUNK = 1024
"""Lines written at a time when a shuffled cut is written out."""


class CutStatistics:
    """Samples, tokens, distinct raw documents and summaries per set, gathered batch by batch.
    A key-facts row without a raw document is identified by its key-facts block (one block per
    raw document). Distinct texts are kept as 16-byte digests (document_id: whitespace variants
    are one document), not as text."""

    def __init__(self):
        self.sets: dict[str, dict] = {}
        self.lengths: list[int] = []

    def add(self, rows: pa.Table) -> None:
        for set_name in pc.unique(rows["set"]).to_pylist():
            of_set = rows.filter(pc.equal(rows["set"], set_name))
            stats = self.sets.setdefault(set_name, {"samples": 0, "tokens": 0, "raw": set(),
                                                    "summaries": set()})
            stats["samples"] += of_set.num_rows
            stats["tokens"] += pc.sum(of_set["token_length"]).as_py() or 0
            raw = pc.coalesce(of_set["raw_document_id"], of_set["document_id"])
            stats["raw"].update(pc.unique(raw).to_pylist())
            stats["summaries"].update(pc.unique(of_set["document_id"]).to_pylist())
        self.lengths += rows["token_length"].to_pylist()

    def per_set(self) -> dict[str, dict[str, int]]:
        return {name: {"samples": s["samples"], "tokens": s["tokens"],
                       "raw_documents": len(s["raw"]), "summaries": len(s["summaries"])}
                for name in SET_NAMES if (s := self.sets.get(name))}


def _expanded(rows: pa.Table, copies_per_row: list[int]) -> pa.Table:
    """Each row as many times as it is taken, in place."""
    return rows.take(pa.array([i for i, k in enumerate(copies_per_row) for _ in range(k)],
                              pa.int64()))


class _Lines:
    """Where a cut's lines go: straight to the file, or (shuffle) held until the seeded shuffle.
    Lines end with their newline, so a batch of them is written as the bytes Arrow holds them
    in, one after the other."""

    def __init__(self, path: Path, shuffle_seed: str | None):
        self.shuffle_seed = shuffle_seed
        self.file = open(path, "wb")
        self.held: list[pa.Array] = []
        self.count = 0
        self.digest, self.bytes = hashlib.sha256(), 0

    def add(self, lines: pa.ChunkedArray) -> None:
        self.count += len(lines)
        if self.shuffle_seed is None:
            self._write(lines)
        else:
            self.held += lines.chunks

    def _write(self, lines) -> None:
        for chunk in getattr(lines, "chunks", [lines]):
            if len(chunk):
                _, offsets, data = chunk.buffers()
                offsets = memoryview(offsets).cast("i")  # int32: a string array's offsets
                block = memoryview(data)[offsets[chunk.offset]:offsets[chunk.offset + len(chunk)]]
                self.file.write(block)
                self.digest.update(block)
                self.bytes += len(block)

    def close(self) -> dict:
        """Write what is held in the seeded order, and the file to disk (it takes its name once
        the cut is complete). Returns its record (sha256, bytes, rows), measured as it was
        written: the output folder takes the file by a second name and need not read it again."""
        if self.held:
            lines = pa.chunked_array(self.held, pa.string())
            order = list(range(len(lines)))
            random.Random(self.shuffle_seed).shuffle(order)
            for start in range(0, len(order), SHUFFLE_CHUNK):
                self._write(lines.take(pa.array(order[start:start + SHUFFLE_CHUNK])))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return {"sha256": self.digest.hexdigest(), "bytes": self.bytes, "rows": self.count}


def mix_cut_file(samples_path: str, replay_path: str, recipe: Recipe, cut: int, output_path: str,
                 validation_path: str) -> dict:
    """Write one cut's JSONL under the recipe: the cut's summaries and every key-facts and
    document-QA row, exact duplicates dropped (dedup) or counted, rows too short or too long
    dropped, validation rows held out to their own file, weighted, then the replay samples; in
    set and input order, or shuffled. Files appear complete or not at all. Returns what went in
    and why, and the first line of each set and replay source (`examples`, for the card)."""
    started = time.perf_counter()
    cut = parse_cut_sizes([cut])[0]
    samples = pq.ParquetFile(samples_path)
    keys = samples.read(columns=["set", "summary_rank", "qa_index", "sample_id", "messages_id",
                                 "token_length"])
    in_cut = pc.indices_nonzero(cut_mask(keys["summary_rank"], keys["qa_index"], cut,
                                         recipe.qa_per_doc)).to_pylist()
    keys = keys.take(pa.array(in_cut, pa.int64())).to_pydict()
    copies_per_row, held, knowledge = knowledge_copies(
        keys["set"], keys["token_length"], keys["sample_id"], repeated(keys["messages_id"]),
        recipe, SET_NAMES)
    del keys
    check_not_empty(cut, knowledge, recipe)
    knowledge_tokens = sum(s["mixed"]["tokens"] for s in knowledge.values())
    # per row of the samples file, not only of the cut, to walk its row groups
    copies_by_row, held_by_row = [0] * samples.metadata.num_rows, [False] * samples.metadata.num_rows
    for row, k, h in zip(in_cut, copies_per_row, held):
        copies_by_row[row], held_by_row[row] = k, h

    with written_whole(output_path) as training_file, \
            written_whole(validation_path) as validation_file:
        shuffle_seed = f"{recipe.seed}:shuffle:{cut}" if recipe.shuffle else None
        training = _Lines(training_file, shuffle_seed)
        validation = _Lines(validation_file, shuffle_seed)
        statistics, validation_statistics = CutStatistics(), CutStatistics()
        examples: dict[str, str] = {}  # the first line of each set and replay source (the card)
        offset = 0
        for group in range(samples.metadata.num_row_groups):
            # on one thread: the cuts run side by side, and Arrow's threads made the reads of cut
            # 20 of the benchmark's medium input take 0.7 s instead of 0.15 s
            rows = samples.read_row_group(group, use_threads=False)
            n = rows.num_rows
            taken = _expanded(rows, copies_by_row[offset:offset + n])
            training.add(taken["row_json"])
            statistics.add(taken)
            for name in SET_NAMES:
                first = pc.index(taken["set"], name).as_py()
                if name not in examples and first >= 0:
                    examples[name] = taken["row_json"][first].as_py()
            kept = rows.filter(pa.array(held_by_row[offset:offset + n], pa.bool_()))
            validation.add(kept["row_json"])
            validation_statistics.add(kept)
            offset += n
            del rows, taken, kept
            release_memory_every(group + 1)

        replay_sources = []
        if recipe.replay:
            replay = pq.read_table(replay_path)
            for index, source in enumerate(recipe.replay):
                rows = replay.filter(pc.equal(replay["source"], index))
                lengths = rows["token_length"].to_pylist()
                name = (f"recipe replay[{index}] ({source.path}, "
                        f"token_ratio {source.token_ratio:g})")
                copies_of_source, report = replay_copies(lengths, rows["sample_id"].to_pylist(),
                                                         source.token_ratio, knowledge_tokens,
                                                         recipe, f"replay:{index}", name)
                dropped = report["under_length"]["samples"] + report["over_length"]["samples"]
                if report["target_tokens"] and dropped == len(lengths):
                    bounds = f"min_seq_len {recipe.min_seq_len} ≤ tokens" + (
                        f" < max_seq_len {recipe.max_seq_len}" if recipe.max_seq_len else "")
                    raise ParameterError(
                        f"{name}: no row is within {bounds}, so its "
                        f"{report['target_tokens']:,} tokens cannot be met; change min_seq_len "
                        "or max_seq_len")
                taken = _expanded(rows, copies_of_source)
                training.add(taken["row_json"])
                statistics.lengths += taken["token_length"].to_pylist()
                if taken.num_rows:
                    examples[f"replay {source.path}"] = taken["row_json"][0].as_py()
                replay_sources.append({"path": source.path, **report})
            del replay
        training_record, validation_record = training.close(), validation.close()

    per_set = statistics.per_set()
    replay_samples = sum(s["mixed"]["samples"] for s in replay_sources)
    replay_tokens = sum(s["mixed"]["tokens"] for s in replay_sources)
    samples_written = sum(s["samples"] for s in per_set.values()) + replay_samples
    tokens = sum(s["tokens"] for s in per_set.values()) + replay_tokens
    progress(log, "mix cut %d: wrote %d rows, %d tokens (%s%s)%s (%.2fs)", cut, samples_written, tokens,
             ", ".join(f"{k} {v['samples']}" for k, v in per_set.items()),
             f", replay {replay_samples}" if recipe.replay else "",
             f"; validation {validation.count} rows" if recipe.validation_fraction else "",
             time.perf_counter() - started)
    return {
        "cut": cut,
        "samples": samples_written,
        "tokens": tokens,
        "max_token_length": max(statistics.lengths, default=0),
        "sets": per_set,
        "token_length_histogram": token_length_histogram(statistics.lengths),
        "token_length_percentiles": token_length_percentiles(statistics.lengths),
        "knowledge": knowledge,
        "replay": replay_sources,
        "file_record": training_record,
        "validation_file_record": validation_record,
        "validation": {"samples": validation.count,
                       "tokens": sum(validation_statistics.lengths),
                       "sets": validation_statistics.per_set()},
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.fingerprint(),
        "examples": examples,
    }


def check_not_empty(cut: int, knowledge: dict, recipe: Recipe) -> None:
    """A cut with no knowledge sample left after the recipe is an error that says why."""
    if any(account["mixed"]["samples"] for account in knowledge.values()):
        return
    reasons = []
    under_length = sum(a["under_length"]["samples"] for a in knowledge.values())
    if under_length:
        reasons.append(f"{under_length:,} samples are shorter than min_seq_len "
                       f"{recipe.min_seq_len} tokens")
    over_length = sum(a["over_length"]["samples"] for a in knowledge.values())
    if over_length:
        reasons.append(f"{over_length:,} samples are max_seq_len {recipe.max_seq_len} tokens or "
                       "longer")
    held = sum(a["validation"]["samples"] for a in knowledge.values())
    if held:
        reasons.append(f"{held:,} are held out for validation (validation_fraction "
                       f"{recipe.validation_fraction:g})")
    if any(a["weight"] == 0 for a in knowledge.values()):
        reasons.append("sets of weight 0 are left out: "
                       + ", ".join(n for n, a in knowledge.items() if a["weight"] == 0))
    raise ParameterError(f"recipe: cut {cut} would hold no knowledge sample: "
                         + ("; ".join(reasons) or "the cut has no rows")
                         + "; change the recipe")


def mix_stage(samples_path: str, replay_path: str, plan_path: str, cut: int, output_path: str,
              validation_path: str, card_path: str, replay_sources: list[dict], counted: dict,
              tokenizer_dir: str, check_with_trainer: bool = False) -> Measured:
    """One cut under the plan's recipe: its training file, validation file and data card; the
    metadata records the recipe, its fingerprint and the inputs' fingerprints (step-03 files
    from the plan, replay sources as counted) with counts per set and per replay source, the
    tokenizer (`counted`: what the count measured) and, with `check_with_trainer`, what
    instructlab-training makes of the cut (counted with the tokenizer files in
    `tokenizer_dir`)."""
    planned, recipe = read_plan(plan_path)
    stats = mix_cut_file(samples_path, replay_path, recipe, cut, output_path, validation_path)
    examples, validation_record = stats.pop("examples"), stats.pop("validation_file_record")
    stats["input_sha256"] = {**planned["input_sha256"],
                             **{s["path"]: s["sha256"] for s in replay_sources}}
    for account, source in zip(stats["replay"], replay_sources):
        account["empty_reasoning"] = source["empty_reasoning"]
    stats["tokenizer"] = {key: counted.get(key) for key in ("tokenizer", "tokenizer_sha256")}
    stats["trainer_check"] = None
    if check_with_trainer:
        stats["trainer_check"] = check_cut(output_path, tokenizer_dir, recipe.max_seq_len)
        progress(log, "mix cut %d: %s", stats["cut"], summary_line(stats["trainer_check"]))
    stats["file_name"] = cut_file_name(stats["cut"])
    stats["card_file_name"] = card_file_name(stats["cut"])
    write_text_whole(card_path,
                     data_card_markdown(stats, from_metadata(planned["load"]), examples))
    metrics = {"cut": stats["cut"], "samples": stats["samples"], "tokens": stats["tokens"],
               "max_token_length": stats["max_token_length"],
               "validation_samples": stats["validation"]["samples"]}
    for set_name, account in stats["knowledge"].items():
        for step in ("in_cut", "duplicates", "under_length", "over_length", "validation", "mixed"):
            for key, value in account[step].items():
                metrics[f"{set_name}.{step}.{key}"] = value
    for index, source in enumerate(stats["replay"]):
        for step in ("available", "under_length", "over_length", "mixed"):
            for key, value in source[step].items():
                metrics[f"replay{index}.{step}.{key}"] = value
    return Measured({
        "mixed": stats,
        "validation": {**stats["validation"], "cut": stats["cut"],
                       "file_name": validation_file_name(stats["cut"]),
                       "file_record": validation_record},
    }, metrics)
