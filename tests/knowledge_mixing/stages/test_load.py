"""The load stage: both sdg_hub layouts and per-set inputs → the knowledge rows Parquet, with
normalisation, cleaning and bad input named (docs/behaviour.md#input-the-generation-steps-output,
#sdg_hub-layouts, #normalisation)."""
import hashlib
import json
import logging

import pyarrow.parquet as pq
import pytest
from helpers import knowledge_rows, write_jsonl

from knowledge_mixing.errors import InputError
from knowledge_mixing.knowledge_rows import KNOWLEDGE_ROWS_SCHEMA
from knowledge_mixing.sampling import document_id
from knowledge_mixing.sets import SET_NAMES
from knowledge_mixing.stages import load as load_module
from knowledge_mixing.stages.load import (
    LAYOUT_ALL_COLUMNS,
    LAYOUT_OUTPUT_COLUMNS,
    LoadOptions,
    Step03Reader,
    clean_response,
    is_gpt_oss_bad_question,
    load_stage,
    projection,
)
from knowledge_mixing.sets import knowledge_set


def good_row(**overrides):
    row = {"document_outline": "Outline", "document": "A summary.", "raw_document": "Raw text.",
           "question": "What?", "response": "This."}
    row.update(overrides)
    return row


def load(step03_dir, tmp_path, save_gpt_oss_format=False, set_inputs=None):
    """The knowledge rows as a list of dicts, and the stage's metadata."""
    table, metadata = knowledge_rows(step03_dir, tmp_path / "out", save_gpt_oss_format, set_inputs)
    return table.to_pylist(), metadata


def by_set(rows):
    return {name: [r for r in rows if r["set"] == name] for name in SET_NAMES}


@pytest.fixture(scope="module")
def layouts(step03_layouts, tmp_path_factory):
    """Each layout's knowledge rows by set, and the load metadata."""
    loaded = {}
    for layout, folder in step03_layouts.items():
        rows, metadata = load(folder, tmp_path_factory.mktemp(layout))
        loaded[layout] = by_set(rows), metadata
    return loaded


def test_rows_are_written_in_the_knowledge_rows_schema(step03_layouts, tmp_path):
    path = tmp_path / "rows.parquet"
    measured = load_stage(str(step03_layouts["mixed"]), str(path), LoadOptions())
    assert pq.read_schema(path).equals(KNOWLEDGE_ROWS_SCHEMA)
    assert pq.read_metadata(path).num_rows == 172
    assert list(measured.metadata) == ["knowledge_rows"]
    assert measured.metrics["key_facts_to_qa.rows_kept"] == 33
    assert measured.metrics["absent_sets"] == 0


def test_no_row_group_holds_more_than_a_counting_run(step03_layouts, tmp_path, monkeypatch):
    """The counting processes read whole row groups: a parse block of many short rows is
    written as several groups of at most ROW_GROUP_ROWS (here 4 of the example's 172 rows)."""
    whole = tmp_path / "whole.parquet"
    load_stage(str(step03_layouts["mixed"]), str(whole), LoadOptions())
    monkeypatch.setattr(load_module, "ROW_GROUP_ROWS", 4)
    small = tmp_path / "small.parquet"
    load_stage(str(step03_layouts["mixed"]), str(small), LoadOptions())
    metadata = pq.read_metadata(small)
    groups = [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)]
    assert max(groups) == 4 and max(groups) < max(
        pq.read_metadata(whole).row_group(g).num_rows
        for g in range(pq.read_metadata(whole).num_row_groups))
    assert pq.read_table(small).equals(pq.read_table(whole))


def test_each_input_file_is_fingerprinted_under_set_and_name(step03_layouts, layouts):
    _, metadata = layouts["new"]
    assert metadata["input_sha256"] == {
        f"{name}/gen.jsonl": hashlib.sha256(
            (step03_layouts["new"] / name / "gen.jsonl").read_bytes()).hexdigest()
        for name in SET_NAMES}
    assert metadata["sets"]["extractive_summary"] == {
        "files": 1, "rows_read": 61, "dropped_gpt_oss_filter": 0, "dropped_empty_response": 0,
        "rows_kept": 61, "duplicate_samples": 1, "raw_document_whitespace_variants": 6,
        "document_whitespace_variants": 0}


def test_both_layouts_normalise_to_the_same_rows(layouts):
    old, new = layouts["old"][0], layouts["new"][0]
    same = ("document", "document_outline", "question", "response")
    for name in SET_NAMES:
        assert len(old[name]) == len(new[name]) > 0
        assert [{k: r[k] for k in same} for r in old[name]] == \
            [{k: r[k] for k in same} for r in new[name]]
    # summary sets carry raw_document in both layouts
    for name in ("extractive_summary", "detailed_summary"):
        assert [r["raw_document"] for r in old[name]] == [r["raw_document"] for r in new[name]]
        assert all(r["raw_document"] for r in new[name])
    # document QA: raw_document absent in both layouts; base_document (old) / document (new)
    assert all(r["raw_document"] == r["document"]
               for r in old["document_based_qa"] + new["document_based_qa"])
    # key facts: 0.9.1+ has no raw_document, so it stays null
    assert all(r["raw_document"] for r in old["key_facts_to_qa"])
    assert all(r["raw_document"] is None for r in new["key_facts_to_qa"])


def test_other_column_names_load_to_the_same_rows(layouts):
    """`summary` for the summary and `document` for the raw document, reasoning in the flat
    column: the same knowledge rows as the sdg_hub 0.4 – 0.9.0 names give."""
    old, renamed = layouts["old"][0], layouts["renamed"][0]
    for name in SET_NAMES:
        assert renamed[name] == old[name]


def test_each_file_records_its_layout_and_the_column_names_it_used(layouts):
    def described(layout, name):
        return layouts[layout][1]["files"][f"{name}/gen.jsonl"]

    nested = "response_dict[0].reasoning_content"
    assert described("old", "extractive_summary") == {"layout": LAYOUT_ALL_COLUMNS, "columns": {
        "document": ["document"], "raw_document": ["raw_document"], "reasoning": [nested]}}
    assert described("new", "extractive_summary") == {"layout": LAYOUT_OUTPUT_COLUMNS, "columns": {
        "document": ["document"], "raw_document": ["raw_document"], "reasoning": []}}
    assert described("renamed", "detailed_summary") == {"layout": LAYOUT_ALL_COLUMNS, "columns": {
        "document": ["summary"], "raw_document": ["document"],
        "reasoning": ["parse_response_dict_reasoning_content"]}}
    assert described("old", "key_facts_to_qa")["layout"] == LAYOUT_ALL_COLUMNS
    assert described("new", "key_facts_to_qa") == {"layout": LAYOUT_OUTPUT_COLUMNS, "columns": {
        "document": ["document"], "raw_document": [], "reasoning": []}}
    assert described("old", "document_based_qa")["columns"]["raw_document"] == ["base_document"]
    assert described("new", "document_based_qa") == {"layout": LAYOUT_OUTPUT_COLUMNS, "columns": {
        "document": ["document"], "raw_document": ["document"], "reasoning": []}}
    assert set(layouts["mixed"][1]["files"]) == set(layouts["mixed"][1]["input_sha256"])


def test_the_parser_builds_only_the_columns_a_set_reads():
    assert set(projection(knowledge_set("extractive_summary")).names) == {
        "document_outline", "question", "response", "document", "summary", "raw_document",
        "base_document", "parse_response_dict_reasoning_content", "response_reasoning_content",
        "response_dict"}
    assert "summary" not in projection(knowledge_set("document_based_qa")).names


@pytest.mark.parametrize("set_name,row,columns", [
    ("extractive_summary", good_row(summary="S.", document="Other.", raw_document="Raw text."),
     "'raw_document' and 'document' both hold the raw document (column 'summary' holds the "
     "summary, so 'document' is read as the raw document)"),
    ("detailed_summary", good_row(base_document="Raw text, edited."),
     "'raw_document' and 'base_document' both hold the raw document"),
    ("document_based_qa", good_row(document="Raw text.", base_document="Raw, edited."),
     "'raw_document' and 'base_document' both hold the raw document"),
    ("document_based_qa", good_row(document="Raw text, edited.", raw_document="Raw text."),
     "'raw_document' and 'document' both hold the raw document"),
    ("key_facts_to_qa", good_row(parse_response_dict_reasoning_content="One.",
                                 response_dict=[{"reasoning_content": "Two."}]),
     "'parse_response_dict_reasoning_content' and 'response_dict[0].reasoning_content' both "
     "hold the teacher's reasoning"),
])
def test_two_names_of_one_column_with_different_values_fail(tmp_path, set_name, row, columns):
    fine = good_row(document="Raw text.")  # a summary equal to the raw document: fine anywhere
    path, message = error_of(tmp_path, set_name, [fine, row])
    assert message == (f"{path}, line 2: columns {columns} but differ; give each a single "
                       "meaning: fix or drop one of them")


def test_two_names_of_one_column_may_agree(tmp_path):
    write_jsonl(tmp_path / "in" / "extractive_summary" / "gen.jsonl", [
        good_row(summary="A summary.", base_document="Raw text."),  # document is the summary too
        good_row(summary="A summary.", document="Raw text."),  # document is the raw document
        good_row(parse_response_dict_reasoning_content=" Why. ",
                 response_dict=[{"reasoning_content": "Why."}])])
    rows, metadata = load(tmp_path / "in", tmp_path)
    assert [(r["document"], r["raw_document"], r["reasoning"]) for r in rows] == [
        ("A summary.", "Raw text.", None), ("A summary.", "Raw text.", None),
        ("A summary.", "Raw text.", "Why.")]
    assert metadata["files"]["extractive_summary/gen.jsonl"]["columns"] == {
        "document": ["document", "summary"], "raw_document": ["raw_document"],
        "reasoning": ["parse_response_dict_reasoning_content"]}


def test_a_summary_column_of_another_type_fails_where_it_is_read(tmp_path):
    path, message = error_of(tmp_path, "key_facts_to_qa", [good_row(summary={"text": "x"})])
    assert f"{path}, line 1: column 'summary' must be a string, got dict" in message
    write_jsonl(tmp_path / "other" / "document_based_qa" / "gen.jsonl",
                [good_row(summary={"text": "x"}, raw_document="A summary.")])
    rows, _ = load(tmp_path / "other", tmp_path / "other_out")  # not read for document QA
    assert len(rows) == 1


def test_reasoning_is_read_from_the_nested_reply_and_the_flat_column(layouts, tmp_path):
    old, new = layouts["old"][0], layouts["new"][0]
    with_reasoning = [r for r in old["extractive_summary"] if r["reasoning"]]
    assert 0 < len(with_reasoning) < len(old["extractive_summary"])
    assert with_reasoning[0]["reasoning"].startswith("The question asks:")
    assert all(r["reasoning"] is None for r in new["extractive_summary"])

    write_jsonl(tmp_path / "in" / "extractive_summary" / "gen.jsonl", [
        good_row(parse_response_dict_reasoning_content="  flat reasoning \n"),
        good_row(response_dict=[{"role": "assistant", "content": "x", "reasoning_content": ""}]),
        good_row(response_dict=[{"role": "assistant", "content": "x", "reasoning_content": " n "}]),
        good_row(parse_response_dict_reasoning_content="   "),
    ])
    rows, _ = load(tmp_path / "in", tmp_path)
    assert [r["reasoning"] for r in rows] == ["flat reasoning", None, "n", None]


@pytest.mark.parametrize("layout", ["old", "new"])
def test_whitespace_variants_keep_their_text_and_are_counted(layouts, layout):
    """The example spells the first raw document with line breaks in six extractive rows, and one
    detailed summary with a trailing newline: the rows keep their own text, and the load counts
    say how many rows are another spelling of an earlier document."""
    rows, metadata = layouts[layout]
    raw_spellings = {r["raw_document"] for r in rows["extractive_summary"]
                     if r["document_outline"].startswith("The Rosetta Stone")}
    assert len(raw_spellings) == 2 and len({" ".join(t.split()) for t in raw_spellings}) == 1
    assert sum(r["document"].endswith("\n") for r in rows["detailed_summary"]) == 1
    # and each row carries the one identity of all the spellings, as the plan and count read it
    for row in (r for rows_of_set in rows.values() for r in rows_of_set):
        assert row["raw_document_id"] == document_id(row["raw_document"])
        assert row["document_id"] == document_id(row["document"])
    assert len({r["raw_document_id"] for r in rows["extractive_summary"]
                if r["document_outline"].startswith("The Rosetta Stone")}) == 1
    counts = metadata["sets"]
    assert counts["extractive_summary"]["raw_document_whitespace_variants"] == 6
    assert counts["detailed_summary"]["document_whitespace_variants"] == 1
    assert counts["detailed_summary"]["raw_document_whitespace_variants"] == 0
    # exact duplicates (the same messages as an earlier row), counted, not dropped, at load
    assert {name: c["duplicate_samples"] for name, c in counts.items()} == {
        "extractive_summary": 1, "detailed_summary": 0, "key_facts_to_qa": 1,
        "document_based_qa": 0}
    assert counts["key_facts_to_qa"]["rows_kept"] == 33


def test_responses_are_cleaned_of_markers_and_whitespace():
    assert clean_response("[ANSWER] The decree.\n[END]  ") == "The decree."
    assert clean_response("Kept [END] inside") == "Kept  inside"


def test_example_answers_are_cleaned(layouts):
    rows = [r for rows in layouts["mixed"][0].values() for r in rows]
    assert not any("[END]" in r["response"] or "[ANSWER]" in r["response"] for r in rows)
    assert all(r["response"] == r["response"].strip() for r in rows)


@pytest.mark.parametrize("question,bad", [
    ("What happened...", True), ("<question>", True), ("<Insert question here>", True),
    ("What happened in 1799?", False),
])
def test_gpt_oss_question_filter(question, bad):
    assert is_gpt_oss_bad_question(question) is bad


def test_gpt_oss_filter_and_empty_responses_are_counted_not_silent(tmp_path):
    write_jsonl(tmp_path / "in" / "detailed_summary" / "gen.jsonl", [
        good_row(), good_row(question="<Insert question here>"), good_row(question="Why..."),
        good_row(response=" [END] "),
    ])
    rows, plain = load(tmp_path / "in", tmp_path / "plain")
    assert len(rows) == 3
    assert plain["sets"]["detailed_summary"]["dropped_empty_response"] == 1
    assert [r["question"] for r in rows] == ["What?", "<Insert question here>", "Why..."]
    rows, filtered = load(tmp_path / "in", tmp_path / "filtered", save_gpt_oss_format=True)
    assert filtered["sets"]["detailed_summary"] == {
        "files": 1, "rows_read": 4, "dropped_gpt_oss_filter": 2, "dropped_empty_response": 1,
        "rows_kept": 1, "duplicate_samples": 0, "raw_document_whitespace_variants": 0,
        "document_whitespace_variants": 0}
    assert [r["question"] for r in rows] == ["What?"]


def test_unknown_columns_and_non_string_seed_columns_are_ignored(tmp_path):
    write_jsonl(tmp_path / "in" / "key_facts_to_qa" / "gen.jsonl", [
        good_row(icl_document=["a", "list"], brand_new_column={"x": 1}, domain=7)])
    rows, _ = load(tmp_path / "in", tmp_path)
    assert [{k: v for k, v in r.items() if k != "messages_id"} for r in rows] == [{"set": "key_facts_to_qa", "raw_document": "Raw text.", "document": "A summary.",
                     "document_outline": "Outline", "question": "What?", "response": "This.",
                     "reasoning": None, "raw_document_id": document_id("Raw text."),
                     "document_id": document_id("A summary.")}]


def test_absent_folder_warns_and_is_reported(tmp_path, caplog):
    write_jsonl(tmp_path / "in" / "extractive_summary" / "gen.jsonl", [good_row()])
    with caplog.at_level(logging.WARNING):
        _, metadata = load(tmp_path / "in", tmp_path)
    assert metadata["absent_sets"] == ["detailed_summary", "key_facts_to_qa", "document_based_qa"]
    assert "set detailed_summary: absent from the input" in caplog.text


def test_files_are_read_in_name_order(tmp_path):
    write_jsonl(tmp_path / "in" / "key_facts_to_qa" / "b.jsonl", [good_row(question="second?")])
    write_jsonl(tmp_path / "in" / "key_facts_to_qa" / "a.jsonl", [good_row(question="first?")])
    rows, metadata = load(tmp_path / "in", tmp_path)
    assert [r["question"] for r in rows] == ["first?", "second?"]
    assert metadata["sets"]["key_facts_to_qa"]["files"] == 2
    assert list(metadata["input_sha256"]) == ["key_facts_to_qa/a.jsonl", "key_facts_to_qa/b.jsonl"]


def error_of(tmp_path, set_name, lines):
    path = write_jsonl(tmp_path / "in" / set_name / "gen.jsonl", lines)
    with pytest.raises(InputError) as raised:
        load(tmp_path / "in", tmp_path)
    return path, str(raised.value)


def test_a_load_that_fails_after_writing_rows_leaves_no_table(tmp_path):
    write_jsonl(tmp_path / "in" / "extractive_summary" / "a.jsonl", [good_row()] * 3)
    write_jsonl(tmp_path / "in" / "extractive_summary" / "b.jsonl", [good_row(), "[1]"])
    with pytest.raises(InputError, match="line 2: expected a JSON object"):
        load_stage(str(tmp_path / "in"), str(tmp_path / "rows.parquet"), LoadOptions())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_no_set_folder_at_all_fails(tmp_path):
    (tmp_path / "in" / "unrelated").mkdir(parents=True)
    with pytest.raises(InputError, match="none of the set folders.*found: unrelated"):
        load(tmp_path / "in", tmp_path)


def test_input_that_is_not_a_directory_fails(tmp_path):
    with pytest.raises(InputError, match="is not a directory"):
        load(tmp_path / "missing", tmp_path)


def test_set_folder_without_jsonl_fails(tmp_path):
    (tmp_path / "in" / "detailed_summary").mkdir(parents=True)
    with pytest.raises(InputError, match="detailed_summary: the folder exists but holds no .jsonl"):
        load(tmp_path / "in", tmp_path)


def test_empty_file_fails_naming_it(tmp_path):
    path, message = error_of(tmp_path, "document_based_qa", [])
    assert str(path) in message and "holds no rows" in message


def test_line_that_is_not_json_names_file_line_and_column(tmp_path):
    path, message = error_of(tmp_path, "extractive_summary", [good_row(), '{"question": "x",, }'])
    assert f"{path}, line 2, column 18: not valid JSON" in message


def test_line_that_is_not_an_object_fails(tmp_path):
    path, message = error_of(tmp_path, "extractive_summary", ['["a", "list"]'])
    assert f"{path}, line 1: expected a JSON object, got list" in message


@pytest.mark.parametrize("column", ["question", "response", "document", "document_outline"])
def test_row_without_a_required_column_fails(tmp_path, column):
    row = good_row()
    del row[column]
    path, message = error_of(tmp_path, "detailed_summary", [good_row(), row])
    assert f"{path}, line 2: column {column!r} is missing or null" in message


def test_malformed_row_fails_even_if_a_filter_would_drop_it(tmp_path):
    path, message = error_of(tmp_path, "detailed_summary",
                             [good_row(response=" [END] ", question=42)])
    assert f"{path}, line 1: column 'question' must be a string" in message


def test_non_string_where_a_string_must_be_fails(tmp_path):
    path, message = error_of(tmp_path, "key_facts_to_qa", [good_row(question=42)])
    assert f"{path}, line 1: column 'question' must be a string, got int 42" in message


def test_summary_set_without_raw_document_fails(tmp_path):
    row = good_row()
    del row["raw_document"]
    path, message = error_of(tmp_path, "extractive_summary", [row])
    assert f"{path}, line 1: no raw document" in message


def test_malformed_reply_column_fails(tmp_path):
    _, message = error_of(tmp_path, "extractive_summary", [good_row(response_dict="oops")])
    assert "'response_dict' must be a list of message objects" in message


def test_a_line_longer_than_a_parse_block_is_read(tmp_path, monkeypatch):
    from knowledge_mixing.stages import load as load_module

    monkeypatch.setattr(load_module, "READ_BLOCK", 1 << 10)
    rows = [good_row(question=f"q{i}?") for i in range(40)]
    rows[25] = good_row(question="long " * 2000 + "?")
    path = write_jsonl(tmp_path / "in" / "key_facts_to_qa" / "gen.jsonl", rows)
    loaded, metadata = load(tmp_path / "in", tmp_path)
    assert [r["question"] for r in loaded] == [r["question"] for r in rows]
    assert metadata["sets"]["key_facts_to_qa"]["rows_read"] == 40
    assert metadata["input_sha256"]["key_facts_to_qa/gen.jsonl"] == \
        hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_long_line_is_parsed_in_blocks_of_whole_lines_no_longer_than_it(tmp_path, monkeypatch):
    """pyarrow's streaming reader reads 32 blocks ahead: grown to a 10 KB line, that is 320 KB
    read ahead (a 30 MB raw document: a gigabyte). The restart parses one block of whole lines
    at a time instead, none longer than the long line and a block."""
    from knowledge_mixing.stages import load as load_module

    monkeypatch.setattr(load_module, "READ_BLOCK", 1 << 10)
    parsed, read_json = [], load_module.pa_json.read_json

    def recorded(source, **options):
        parsed.append(options["read_options"].block_size)
        return read_json(source, **options)

    monkeypatch.setattr(load_module.pa_json, "read_json", recorded)
    rows = [good_row(question=f"q{i}?") for i in range(200)]
    rows[150] = good_row(question="long " * 2000 + "?")
    write_jsonl(tmp_path / "in" / "key_facts_to_qa" / "gen.jsonl", rows)
    loaded, _ = load(tmp_path / "in", tmp_path)
    assert [r["question"] for r in loaded] == [r["question"] for r in rows]
    longest = max(len(json.dumps(row).encode()) for row in rows)
    assert len(parsed) > 20 and max(parsed) <= longest + (1 << 10) + 1


@pytest.mark.parametrize("text", [" " * 5000, " " * 5000 + "\n", "\r\n" * 3000 + " " * 3000])
def test_a_file_of_whitespace_longer_than_a_block_holds_no_rows(tmp_path, monkeypatch, text):
    from knowledge_mixing.stages import load as load_module

    monkeypatch.setattr(load_module, "READ_BLOCK", 1 << 10)
    path = tmp_path / "in" / "key_facts_to_qa" / "gen.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(InputError, match="gen.jsonl: the file holds no rows; re-run the "
                                         "key_facts_to_qa flow or remove the file"):
        load(tmp_path / "in", tmp_path)


def test_bytes_that_are_not_utf8_name_line_and_column(tmp_path):
    path = tmp_path / "in" / "extractive_summary" / "gen.jsonl"
    write_jsonl(path, [good_row()])
    with open(path, "ab") as f:
        f.write(b'{"question": "\xff"}\n')
    with pytest.raises(InputError, match=r"gen.jsonl, line 2, column 15: not UTF-8 text"):
        load(tmp_path / "in", tmp_path)


def per_set_files(folder, tmp_path):
    files = {}
    for name in SET_NAMES:
        files[name] = tmp_path / f"{name}.data"  # KFP Dataset files carry no extension
        files[name].write_bytes((folder / name / "gen.jsonl").read_bytes())
    return files


def test_per_set_inputs_load_as_the_folder_does(step03_layouts, tmp_path):
    folder = step03_layouts["mixed"]
    files = per_set_files(folder, tmp_path)
    whole, whole_metadata = knowledge_rows(folder, tmp_path / "whole")
    per_set, per_set_metadata = knowledge_rows(None, tmp_path / "per_set", set_inputs=files)
    assert whole.equals(per_set)
    assert whole_metadata["sets"] == per_set_metadata["sets"]
    assert set(whole_metadata["input_sha256"].values()) == set(per_set_metadata["input_sha256"].values())
    # a folder of JSONL files per set, and the step-03 folder for the sets not given
    (tmp_path / "kf").mkdir()
    (tmp_path / "kf" / "a.jsonl").write_bytes(files["key_facts_to_qa"].read_bytes())
    partial = tmp_path / "partial"
    for name in ("extractive_summary", "detailed_summary", "document_based_qa"):
        (partial / name).mkdir(parents=True)
        (partial / name / "gen.jsonl").write_bytes(files[name].read_bytes())
    mixed, _ = knowledge_rows(partial, tmp_path / "mixed", set_inputs={"key_facts_to_qa": tmp_path / "kf"})
    assert whole.equals(mixed)
    assert Step03Reader(partial, set_inputs={"key_facts_to_qa": tmp_path / "kf"}).origins == {
        "extractive_summary": f"folder {partial / 'extractive_summary'}",
        "detailed_summary": f"folder {partial / 'detailed_summary'}",
        "document_based_qa": f"folder {partial / 'document_based_qa'}",
        "key_facts_to_qa": "input `key_facts_to_qa`"}


def test_per_set_input_errors_name_the_input(step03_layouts, tmp_path):
    folder = step03_layouts["new"]
    files = per_set_files(folder, tmp_path)
    with pytest.raises(InputError, match="no input given: pass the step-03 folder"):
        Step03Reader(set_inputs={})
    with pytest.raises(InputError, match=r"set key_facts_to_qa is given twice: as input "
                       r"`key_facts_to_qa` \(.*\) and as the folder .*key_facts_to_qa of the step-03"):
        Step03Reader(folder, set_inputs={"key_facts_to_qa": files["key_facts_to_qa"]})
    with pytest.raises(InputError, match="input `facts` is not a knowledge set"):
        Step03Reader(set_inputs={"facts": files["key_facts_to_qa"]})
    with pytest.raises(InputError, match=r"input `detailed_summary` .*nope: no such file or folder"):
        Step03Reader(set_inputs={"detailed_summary": tmp_path / "nope"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"input `detailed_summary` \(.*empty\): the folder holds no "
                       r"\.jsonl file"):
        Step03Reader(set_inputs={"detailed_summary": tmp_path / "empty"})
    files["key_facts_to_qa"].write_text("question,response\nq,a\n")  # CSV, not JSONL
    with pytest.raises(InputError, match=r"^input `key_facts_to_qa`: .*key_facts_to_qa.data, line 1, "
                       r"column 1: not valid JSON"):
        load(None, tmp_path, set_inputs=files)
