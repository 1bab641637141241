"""summary.json and the table `run` prints, from the artifacts' metadata as KFP hands it back
(numbers as floats, keys in any order) (docs/behaviour.md#outputs)."""
import json

from knowledge_mixing.run_summary import (
    cut_file_name,
    in_set_order,
    run_summary,
    summary_table,
    validation_file_name,
)


def account(samples, tokens):
    return {"samples": float(samples), "tokens": float(tokens)}


def cut_report(cut, validation):
    return {
        "cut": float(cut), "samples": 10.0 * cut, "tokens": 1000.0 * cut, "max_token_length": 300.0,
        "sets": {"key_facts_to_qa": {"samples": 4.0, "tokens": 400.0, "raw_documents": 1.0,
                                     "summaries": 1.0},
                 "extractive_summary": {"samples": 10.0 * cut - 4 - 2, "tokens": 1000.0 * cut - 600,
                                        "raw_documents": 1.0, "summaries": float(cut)}},
        "knowledge": {"key_facts_to_qa": {"weight": 1.0, "in_cut": account(5, 500),
                                          "duplicates": account(cut == 5, 100),
                                          "under_length": account(0, 0),
                                          "over_length": account(1, 100),
                                          "validation": account(0, 0), "mixed": account(4, 400)},
                      "extractive_summary": {"weight": 1.0, "in_cut": account(8, 800),
                                             "duplicates": account(0, 0),
                                             "under_length": account(2, 30),
                                             "over_length": account(0, 0),
                                             "validation": account(0, 0),
                                             "mixed": account(8, 800)}},
        "replay": [{"path": "chat.jsonl", "token_ratio": 0.1, "target_tokens": 100.0,
                    "available": account(20, 2000), "under_length": account(0, 0),
                    "over_length": account(0, 0),
                    "mixed": account(2, 200)}],
        "validation": {"samples": 3.0, "tokens": 30.0, "sets": {}} if validation else
        {"samples": 0.0, "tokens": 0.0, "sets": {}},
        "token_length_histogram": [{"from": 1.0, "to": 300.0, "samples": 10.0}],
        "token_length_percentiles": {"p99": 297.0, "min": 1.0, "p50": 150.0, "p90": 270.0,
                                     "p95": 285.0, "max": 300.0},
        "trainer_check": CHECKS[cut],
        "input_sha256": {"key_facts_to_qa/gen.jsonl": "aa", f"chat{cut}.jsonl": "bb"},
    }


CHECKS = {1: {"available": False, "message": "trainer check skipped: not installed"},
          5: {"available": True, "rows": 50.0, "accepted": 49.0, "end_of_turn_trained": 50.0,
              "token_length_agrees": 50.0}}


def reversed_keys(value):
    if isinstance(value, dict):
        return {k: reversed_keys(v) for k, v in reversed(list(value.items()))}
    return [reversed_keys(v) for v in value] if isinstance(value, list) else value


def summary(validation_fraction=0.0, arrival=lambda metadata: metadata):
    plan = {"recipe": {"validation_fraction": validation_fraction, "min_seq_len": 20,
                       "max_seq_len": 250, "dedup": False},
            "recipe_sha256": "cd" * 32, "feasible_cuts": [1, 5],
            "infeasible_cuts": {"20": "x averages 5.00", "10": "x averages 5.00"},
            "summaries_per_raw_document": {"detailed_summary": 5.0, "extractive_summary": 5.0}}
    load = {"sets": {"key_facts_to_qa": {"rows_read": 32.0}, "extractive_summary": {"rows_read": 60.0}},
            "absent_sets": ["document_based_qa"],
            "files": {"key_facts_to_qa/gen.jsonl": {"layout": "x", "columns": {
                          "reasoning": [], "document": ["d"], "raw_document": ["r"]}},
                      "extractive_summary/b.jsonl": {"layout": "y", "columns": {}},
                      "extractive_summary/a.jsonl": {"layout": "y", "columns": {}}}}
    counted = {"rows_counted": 134.0, "tokens_counted": 22287.0, "tokenizer": "bundled-qwen",
               "tokenizer_sha256": {"files": {"tokenizer.json": "ef"}, "chat_template": "01"}}
    cuts = [cut_report(5, validation_fraction), cut_report(1, validation_fraction)]
    return run_summary({"seed": 42}, arrival(load), plan, arrival(counted), arrival(cuts), 5.0)


def test_summary_is_the_same_whatever_order_the_metadata_keys_come_in():
    """KFP hands metadata back with its keys in any order; summary.json is the same bytes."""
    assert json.dumps(summary(0.1, reversed_keys)) == json.dumps(summary(0.1))


def test_file_names():
    assert cut_file_name(5) == "combined_cut_5x.jsonl"
    assert validation_file_name(5) == "validation_cut_5x.jsonl"


def test_in_set_order():
    assert list(in_set_order({"document_based_qa": 1, "extractive_summary": 2})) == [
        "extractive_summary", "document_based_qa"]


def test_summary_restores_integers_and_orders_sets_cuts_and_reasons():
    s = summary()
    assert list(s) == ["parameters", "recipe", "recipe_sha256", "input_sha256", "load", "plan",
                       "cuts", "training_cut"]
    assert s["training_cut"] == 5 and type(s["training_cut"]) is int
    assert list(s["cuts"]) == ["1", "5"]
    cut = s["cuts"]["5"]
    assert cut["file"] == "combined_cut_5x.jsonl" and cut["samples"] == 50
    assert cut["card"] == "combined_cut_5x.card.md"
    assert list(cut["token_length_percentiles"].items()) == [
        ("min", 1), ("p50", 150), ("p90", 270), ("p95", 285), ("p99", 297), ("max", 300)]
    assert cut["trainer_check"]["accepted"] == 49 and type(cut["trainer_check"]["rows"]) is int
    assert s["plan"]["tokenizer_sha256"] == {"files": {"tokenizer.json": "ef"}, "chat_template": "01"}
    assert type(cut["samples"]) is int and type(cut["token_length_histogram"][0]["from"]) is int
    assert list(cut["sets"]) == ["extractive_summary", "key_facts_to_qa"]
    assert list(cut["knowledge"]) == ["extractive_summary", "key_facts_to_qa"]
    assert cut["validation"] is None  # no hold-out
    assert list(s["load"]["sets"]) == ["extractive_summary", "key_facts_to_qa"]
    assert list(s["load"]["files"]) == ["extractive_summary/a.jsonl", "extractive_summary/b.jsonl",
                                        "key_facts_to_qa/gen.jsonl"]
    assert list(s["load"]["files"]["key_facts_to_qa/gen.jsonl"]["columns"]) == [
        "document", "raw_document", "reasoning"]
    assert list(s["plan"]["infeasible_cuts"]) == ["10", "20"]  # numerically
    assert list(s["plan"]["summaries_per_raw_document"]) == ["extractive_summary", "detailed_summary"]
    assert s["plan"]["rows_counted"] == 134 and s["plan"]["tokenizer"] == "bundled-qwen"
    assert s["input_sha256"] == {"key_facts_to_qa/gen.jsonl": "aa", "chat5.jsonl": "bb",
                                 "chat1.jsonl": "bb"}


def test_validation_is_reported_with_its_file_under_a_hold_out():
    cut = summary(0.1)["cuts"]["1"]
    assert cut["validation"] == {"file": "validation_cut_1x.jsonl", "samples": 3, "tokens": 30,
                                 "sets": {}}


def test_table_lists_sets_replay_totals_and_what_was_left_out():
    text = summary_table(summary(0.1))
    lines = text.splitlines()
    assert lines[0].split() == ["cut", "set", "samples", "tokens", "raw", "docs", "summaries"]
    assert lines[1].split() == ["1", "extractive_summary", "4", "400", "1", "1"]
    assert "1    replay chat.jsonl" in text
    assert any(line.split() == ["5", "total", "50", "5000"] for line in lines)
    assert any(line.split() == ["5", "validation", "(held", "out)", "3", "30"] for line in lines)
    assert lines[-11:] == ["cut 1: 2 samples of fewer than 20 tokens dropped (min_seq_len)",
                          "cut 1: 1 samples of 250 tokens or more dropped (max_seq_len)",
                          "cut 5: exact duplicates (the messages of an earlier sample): 1, kept "
                          "(trained twice; --dedup removes them)",
                          "cut 5: 2 samples of fewer than 20 tokens dropped (min_seq_len)",
                          "cut 5: 1 samples of 250 tokens or more dropped (max_seq_len)",
                          "cut 5: trainer check: 49 of 50 rows accepted, end-of-turn trained in "
                          "50, token count = token_length in 50",
                          "trainer check skipped: not installed",
                          "cut 10 not produced: x averages 5.00",
                          "cut 20 not produced: x averages 5.00",
                          "set document_based_qa absent from the input",
                          "training uses cut 5"]
