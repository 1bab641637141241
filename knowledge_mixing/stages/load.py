"""The load stage: the knowledge sets (the step-03 folder and/or one input per set) read into
the knowledge rows table, in either sdg_hub layout (docs/behaviour.md#sdg_hub-layouts,
#normalisation).

The input is streamed and only the columns mixing needs are kept, so the prompt and raw-reply
columns of sdg_hub 0.4 – 0.9.0 files never accumulate. Every problem is reported with the file,
the line and the column, and nothing is dropped without being counted.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from pyarrow import json as pa_json

from ..errors import InputError
from ..io.jsonl import FileSha256, ReadAhead, json_lines
from ..io.memory import release_memory_every
from ..io.parquet import table_writer
from ..io.step03 import collect_sources
from ..knowledge_rows import KNOWLEDGE_ROWS_SCHEMA, ROW_GROUP_ROWS
from ..parameters import default
from ..rows import build_messages, messages_id
from .. import sampling
from ..sampling import normalised_whitespace, text_id
from ..sets import (
    GPT_OSS_BAD_QUESTION_MARKERS,
    REASONING_COLUMNS,
    REQUIRED_STRING_COLUMNS,
    RESPONSE_DICT_COLUMN,
    RESPONSE_MARKERS,
    SET_NAMES,
    SETS,
    KnowledgeSet,
)
from ..logs import progress
from . import Measured

log = logging.getLogger(__name__)

READ_BLOCK = 2 << 20
"""Bytes pyarrow parses at a time. Its streaming reader reads 32 blocks ahead of the parse (on
threads of its own, which is what makes it fast), so a task's memory holds about 32 blocks,
whatever the file's size."""
LAYOUT_ALL_COLUMNS = "sdg_hub 0.4 – 0.9.0 (every column)"
LAYOUT_OUTPUT_COLUMNS = "sdg_hub 0.9.1+ (output columns only)"


def projection(kset: KnowledgeSet) -> pa.Schema:
    """The only input columns mixing reads of a set; the parser skips every other one."""
    strings = dict.fromkeys((*REQUIRED_STRING_COLUMNS, "document", kset.summary_column,
                             *kset.raw_document_columns, *REASONING_COLUMNS))
    return pa.schema(
        [pa.field(name, pa.string()) for name in strings if name]
        + [pa.field(RESPONSE_DICT_COLUMN,
                    pa.list_(pa.struct([("reasoning_content", pa.string())])))])


@dataclass
class FileColumns:
    """Which column names one input file used for the document, the raw document and the
    reasoning, and which sdg_hub layout that shows (docs/behaviour.md#sdg_hub-layouts)."""

    used: dict[str, set] = field(default_factory=lambda: {
        "document": set(), "raw_document": set(), "reasoning": set()})
    intermediate: bool = False
    """A column only sdg_hub's output before 0.9.1 keeps (a raw reply, a copy of the document,
    a parser's reasoning, key facts' raw_document) is present."""

    def see(self, row: dict, kset: KnowledgeSet) -> None:
        self.intermediate = self.intermediate or any(
            row.get(c) is not None for c in (RESPONSE_DICT_COLUMN, "base_document",
                                             *REASONING_COLUMNS)) or (
            not kset.raw_document_required and row.get("raw_document") is not None)

    def as_dict(self) -> dict:
        return {"layout": LAYOUT_ALL_COLUMNS if self.intermediate else LAYOUT_OUTPUT_COLUMNS,
                "columns": {role: sorted(names) for role, names in self.used.items()}}


class FirstSpellings:
    """The first spelling, in input order, of every document up to whitespace; gives each text
    its sampling.document_id, and says which texts are another spelling of one seen before
    (docs/behaviour.md#sampling)."""

    def __init__(self):
        self.first: dict[bytes, bytes] = {}  # document id → text_id of its first spelling
        # rows of a summary come together: (text, its document id, another spelling?)
        self.last: tuple[str | None, bytes | None, bool] = (None, None, False)

    def identify(self, text: str | None) -> tuple[bytes | None, bool]:
        """The text's document_id, and whether it is another spelling of an earlier text."""
        if text is None:
            return None, False
        if text != self.last[0]:
            spelled = text_id(text)  # an already normal text is its own document_id's text
            key = spelled if normalised_whitespace(text) == text else sampling.document_id(text)
            self.last = (text, key, self.first.setdefault(key, spelled) != spelled)
        return self.last[1], self.last[2]


@dataclass
class SetCounts:
    """What happened to one set's rows, for logs, metrics and summary.json."""

    files: int = 0
    rows_read: int = 0
    dropped_gpt_oss_filter: int = 0
    dropped_empty_response: int = 0
    rows_kept: int = 0
    duplicate_samples: int = 0
    """Kept rows whose messages are an earlier row's (of any set), in input order."""
    raw_document_whitespace_variants: int = 0
    """Kept rows whose raw document is an earlier one's but for whitespace (one document)."""
    document_whitespace_variants: int = 0
    """The same for the row's document (summary, key-facts block or raw document)."""
    raw_spellings: FirstSpellings = field(default_factory=FirstSpellings, repr=False)
    document_spellings: FirstSpellings = field(default_factory=FirstSpellings, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}

    def keep(self, raw_document: str | None, document: str) -> tuple[bytes | None, bytes]:
        """Count a kept row; the document_id of its raw document and of its document."""
        self.rows_kept += 1
        raw_document_id, raw_variant = self.raw_spellings.identify(raw_document)
        document_id, variant = self.document_spellings.identify(document)
        self.raw_document_whitespace_variants += raw_variant
        self.document_whitespace_variants += variant
        return raw_document_id, document_id


def clean_response(response: str) -> str:
    """Remove the teacher's answer markers and surrounding whitespace."""
    for marker in RESPONSE_MARKERS:
        response = response.replace(marker, "")
    return response.strip()


def is_gpt_oss_bad_question(question: str) -> bool:
    """True for questions that are a prompt-template echo (the GPT-OSS question filter)."""
    return any(marker in question for marker in GPT_OSS_BAD_QUESTION_MARKERS)


def _string_field(row: dict, column: str, where: str, required: bool) -> str | None:
    value = row.get(column)
    if value is None:
        if required:
            present = ", ".join(sorted(row)) or "none"
            raise InputError(
                f"{where}: column {column!r} is missing or null (columns present: {present}); "
                "every row needs it as a string"
            )
        return None
    if not isinstance(value, str):
        raise InputError(
            f"{where}: column {column!r} must be a string, got {type(value).__name__} "
            f"{json.dumps(value)[:80]}"
        )
    return value


def _one_value(found: list[tuple[str, str]], what: str, where: str, why: str = "") -> str | None:
    """The text that every name of one column holds in this row; two names that differ are an
    error (which would be meant?)."""
    for column, text in found[1:]:
        if text != found[0][1]:
            raise InputError(
                f"{where}: columns {found[0][0]!r} and {column!r} both hold {what}{why} but "
                "differ; give each a single meaning: fix or drop one of them")
    return found[0][1] if found else None


def _document_and_raw_document(row: dict, kset: KnowledgeSet, where: str,
                               columns: FileColumns) -> tuple[str, str | None]:
    """The row's document (summary, key-facts block or raw document) and its raw document, by
    whichever names the file uses (docs/behaviour.md#normalisation)."""
    summary = _string_field(row, kset.summary_column, where, False) if kset.summary_column else None
    document = _string_field(row, "document", where, required=summary is None)
    raw_columns, why = list(kset.raw_document_columns), ""
    if summary is not None and document is not None and document != summary:
        raw_columns.insert(1, "document")  # the summary/document naming
        why = f" (column {kset.summary_column!r} holds the summary, so 'document' is read as the " \
              "raw document)"
    found = [(c, text) for c in raw_columns
             if (text := _string_field(row, c, where, required=False)) is not None]
    raw_document = _one_value(found, "the raw document", where, why)
    if raw_document is None and kset.raw_document_required:
        raise InputError(
            f"{where}: no raw document: one of the columns {', '.join(raw_columns)} must hold it "
            f"as a string for the {kset.name} set")
    columns.used["document"].add("document" if summary is None else kset.summary_column)
    if found:
        columns.used["raw_document"].add(found[0][0])
    return summary if summary is not None else document, raw_document


def _reasoning(row: dict, where: str, columns: FileColumns) -> str | None:
    """The teacher's reasoning text, if the file carries any (a flat column, or nested in the
    raw reply); a blank text is none."""
    found = [(c, text.strip()) for c in REASONING_COLUMNS
             if (text := _string_field(row, c, where, required=False)) and text.strip()]
    reply = row.get(RESPONSE_DICT_COLUMN)
    if reply is not None:
        if not (isinstance(reply, list) and all(isinstance(m, dict) for m in reply)):
            raise InputError(
                f"{where}: column {RESPONSE_DICT_COLUMN!r} must be a list of message objects, "
                f"got {type(reply).__name__}"
            )
        nested = _string_field(reply[0], "reasoning_content",
                               f"{where} ({RESPONSE_DICT_COLUMN}[0])", required=False) \
            if reply else None
        if nested and nested.strip():
            found.append((f"{RESPONSE_DICT_COLUMN}[0].reasoning_content", nested.strip()))
    if found:
        columns.used["reasoning"].add(found[0][0])
    return _one_value(found, "the teacher's reasoning", where)


@dataclass(frozen=True)
class LoadOptions:
    save_gpt_oss_format: bool = False
    max_sample_chars: int = default("max_sample_chars")
    """A row whose sample (outline, document, question, response, reasoning) is longer is an
    error: no real sample is, and one such row would hold the whole run's memory."""

    @property
    def max_line_bytes(self) -> int:
        """A line longer than this is refused before it is parsed: far longer than any sample,
        even in old layouts (they repeat the document in prompt columns) at 4 bytes a character."""
        return 16 * self.max_sample_chars


def _normalise(row: dict, kset: KnowledgeSet, options: LoadOptions, counts: SetCounts,
               where: str, columns: FileColumns) -> tuple | None:
    """One input row as a KNOWLEDGE_ROWS_SCHEMA tuple, or None when a rule drops it (counted)."""
    counts.rows_read += 1
    document_outline, question, response = (
        _string_field(row, c, where, required=True) for c in REQUIRED_STRING_COLUMNS
    )
    document, raw_document = _document_and_raw_document(row, kset, where, columns)
    reasoning = _reasoning(row, where, columns)
    columns.see(row, kset)
    size = sum(len(text) for text in (document_outline, document, question, response,
                                      reasoning or ""))
    if size > options.max_sample_chars:
        raise InputError(f"{where}: the sample is {size:,} characters long, more than "
                         f"max_sample_chars ({options.max_sample_chars:,}); is the row broken? "
                         "Fix or remove it, or raise --max-sample-chars")
    save_gpt_oss_format = options.save_gpt_oss_format
    if save_gpt_oss_format and is_gpt_oss_bad_question(question):
        counts.dropped_gpt_oss_filter += 1
        return None
    response = clean_response(response)
    if not response:
        counts.dropped_empty_response += 1
        return None
    raw_document_id, document_id = counts.keep(raw_document, document)
    messages = build_messages(kset, document_outline, document, question, response, reasoning,
                              save_gpt_oss_format)
    return (kset.name, raw_document, document, document_outline, question, response, reasoning,
            raw_document_id, document_id, messages_id(messages))


def _explain(path: Path, kset: KnowledgeSet, options: LoadOptions, error: Exception):
    """The fast reader failed: re-read line by line to name the line and column at fault."""
    for line_number, row in json_lines(path, max_line_bytes=options.max_line_bytes):
        _normalise(row, kset, options, SetCounts(), f"{path}, line {line_number}", FileColumns())
    raise InputError(f"{path}: cannot be read as JSON Lines ({error})") from error


NO_ROWS = "the file holds no rows; re-run the {} flow or remove the file"


class LineTooLong(Exception):
    """A line far longer than any sample: the line-by-line reader names it."""


def line_blocks(source, block_size: int, max_line_bytes: int):
    """The file in blocks of whole lines, about `block_size` bytes each (a longer line is a block
    of its own)."""
    pending = b""
    while data := source.read(block_size):
        data = pending + data
        end = data.rfind(b"\n") + 1
        if end == 0:  # no line ends in this block yet
            if len(data) > max_line_bytes:
                raise LineTooLong
            pending = data
            continue
        yield memoryview(data)[:end]
        pending = data[end:]
    if pending:
        yield memoryview(pending)


def whole_line_batches(source, parse_options, max_line_bytes: int):
    """The file parsed a block of whole lines at a time, for a file with a line longer than
    READ_BLOCK: pyarrow's streaming reader would need blocks as long as that line, and read 32
    of them ahead."""
    for block in line_blocks(source, READ_BLOCK, max_line_bytes):
        if not bytes(block).isspace():
            yield from pa_json.read_json(
                pa.BufferReader(block), parse_options=parse_options,
                read_options=pa_json.ReadOptions(block_size=len(block), use_threads=False),
            ).to_batches()


def read_set_file(path: Path, kset: KnowledgeSet, options: LoadOptions, counts: SetCounts,
                  sha256: dict[Path, str], columns: FileColumns):
    """Yield one JSONL file's normalised rows in batches, counting every row read or dropped and
    noting in `columns` the names it used; once the whole file is read, record its sha256 in
    `sha256`.

    pyarrow parses the file in blocks, keeping only the columns of `projection` (the prompt and
    raw-reply columns of old layouts are skipped by the parser, never built). A line longer than
    a block restarts the parse a block of whole lines at a time, past the rows already yielded;
    on any other problem the file is re-read line by line so the error names its line and
    column."""
    rows_before = counts.rows_read
    parse_options = pa_json.ParseOptions(explicit_schema=projection(kset),
                                         unexpected_field_behavior="ignore")
    with FileSha256(path) as fingerprint:
        for whole_lines in (False, True):
            try:
                skip = counts.rows_read - rows_before  # yielded before a restart
                # a native file (its reads never call into Python from pyarrow's threads), the
                # reader (its read-ahead thread stopped first) closed before it: no thread of the
                # read outlives it
                with pa.OSFile(str(path)) as source, contextlib.closing(ReadAhead(
                        whole_line_batches(source, parse_options, options.max_line_bytes)
                        if whole_lines else pa_json.open_json(
                            source, parse_options=parse_options,
                            read_options=pa_json.ReadOptions(block_size=READ_BLOCK)))) as reader:
                    for batch in reader:
                        fresh = batch.to_pylist()[skip:]
                        skip = max(0, skip - batch.num_rows)
                        rows = [_normalise(row, kset, options, counts, f"{path}", columns)
                                for row in fresh]
                        yield [row for row in rows if row is not None]
                sha256[path] = fingerprint.hexdigest()
            except pa.ArrowInvalid as error:
                if "straddl" in str(error) and not whole_lines:
                    continue
                if counts.rows_read == rows_before and "Empty JSON stream" in str(error):
                    raise InputError(f"{path}: {NO_ROWS.format(kset.name)}") from error
                _explain(path, kset, options, error)
            except (InputError, UnicodeDecodeError, LineTooLong) as error:
                _explain(path, kset, options, error)  # pyarrow leaves UTF-8 to Python
            if counts.rows_read == rows_before:  # whitespace only, read a block of lines at a time
                raise InputError(f"{path}: {NO_ROWS.format(kset.name)}")
            return


class Step03Reader:
    """The knowledge sets — from the step-03 folder, per-set inputs, or both — as a stream of
    KNOWLEDGE_ROWS_SCHEMA record batches, set after set. Either form gives the same batches."""

    def __init__(self, step03_dir: str | Path | None = None, options: LoadOptions = LoadOptions(),
                 set_inputs: dict[str, str | Path] | None = None):
        self.files, self.origins = collect_sources(step03_dir, set_inputs or {})
        self.absent_sets = [name for name in SET_NAMES if name not in self.files]
        self.options = options
        self.counts: dict[str, SetCounts] = {}
        self.sha256: dict[Path, str] = {}
        """Every file read so far → its sha256, computed while it was parsed."""
        self.columns: dict[Path, FileColumns] = {}
        """Every file read so far → the column names it used and its layout."""
        self.samples_seen: set[bytes] = set()
        """The messages_id of every row kept so far, to count exact duplicates."""
        for name in self.absent_sets:
            log.warning("set %s: absent from the input (no folder %s/, no input `%s`); "
                        "continuing without it", name, name, name)

    def file_names(self) -> dict[Path, str]:
        """`set/file` for every input file: the name its fingerprint is recorded under."""
        return {path: f"{name}/{path.name}" for name, paths in self.files.items() for path in paths}

    def batches(self):
        for kset in SETS:
            if kset.name not in self.files:
                continue
            started = time.perf_counter()
            counts = self.counts[kset.name] = SetCounts(files=len(self.files[kset.name]))
            read: dict[str, Path] = {}  # sha256 → the file of this set that had it
            for path in self.files[kset.name]:
                try:
                    columns = self.columns[path] = FileColumns()
                    for rows in read_set_file(path, kset, self.options, counts, self.sha256,
                                              columns):
                        for row in rows:
                            counts.duplicate_samples += row[-1] in self.samples_seen
                            self.samples_seen.add(row[-1])
                        if rows:  # built column by column: no dict per row
                            yield pa.RecordBatch.from_arrays(
                                [pa.array(values, field.type) for values, field
                                 in zip(zip(*rows), KNOWLEDGE_ROWS_SCHEMA)],
                                schema=KNOWLEDGE_ROWS_SCHEMA)
                    described = columns.as_dict()
                    log.info("load %s/%s: %s; columns read: %s", kset.name, path.name,
                             described["layout"], "; ".join(
                                 f"{role} from {', '.join(names) or 'none'}"
                                 for role, names in described["columns"].items()))
                    twin = read.setdefault(self.sha256[path], path)
                    if twin != path:
                        raise InputError(
                            f"{twin} and {path} hold the same bytes (sha256 "
                            f"{self.sha256[path][:12]}…): the {kset.name} set would count every "
                            "row twice; remove one of them")
                except InputError as e:
                    origin = self.origins[kset.name]
                    if origin.startswith("input"):  # name the pipeline input, not only the path
                        raise InputError(f"{origin}: {e}") from e
                    raise
            log.info(
                "load %s (%s): %d files, %d rows read, %d dropped by the GPT-OSS question "
                "filter, %d dropped with an empty response, %d kept (of which %d exact duplicates "
                "of an earlier sample); whitespace variants of an earlier raw document %d, of an "
                "earlier document %d (%.2fs)",
                kset.name, self.origins[kset.name], counts.files, counts.rows_read,
                counts.dropped_gpt_oss_filter, counts.dropped_empty_response, counts.rows_kept,
                counts.duplicate_samples,
                counts.raw_document_whitespace_variants, counts.document_whitespace_variants,
                time.perf_counter() - started,
            )


def load_stage(step03_dir: str | None, knowledge_rows_path: str, options: LoadOptions,
               set_inputs: dict[str, str] | None = None) -> Measured:
    """Load and normalise the knowledge sets (the step-03 folder and/or per-set inputs),
    streaming them into the knowledge rows Parquet; measure counts per set and every input
    file's sha256."""
    started = time.perf_counter()
    reader = Step03Reader(step03_dir, options, set_inputs)
    rows = 0
    with table_writer(knowledge_rows_path, KNOWLEDGE_ROWS_SCHEMA) as writer:
        for number, batch in enumerate(reader.batches(), 1):
            writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
            rows += batch.num_rows
            del batch
            release_memory_every(number)
    read = sum(counts.rows_read for counts in reader.counts.values())
    progress(log, "load: %d rows read, %d kept, of %d sets (absent: %s) (%.1fs)", read, rows,
             len(reader.counts), ", ".join(reader.absent_sets) or "none",
             time.perf_counter() - started)
    sets = {name: counts.as_dict() for name, counts in reader.counts.items()}
    metrics = {f"{name}.{key}": value for name, counts in sets.items()
               for key, value in counts.items()}
    metrics["absent_sets"] = len(reader.absent_sets)
    return Measured({"knowledge_rows": {
        "sets": sets,
        "absent_sets": reader.absent_sets,
        "input_sha256": {name: reader.sha256[path] for path, name in reader.file_names().items()},
        "files": {name: reader.columns[path].as_dict()
                  for path, name in reader.file_names().items()},
    }}, metrics)
