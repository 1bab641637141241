"""Token-length statistics and the comparison of the cuts shown in the KFP UI."""
from knowledge_mixing.report import (
    cuts_comparison_markdown,
    token_length_histogram,
    token_length_histogram_markdown,
    token_length_percentiles,
    from_metadata,
)


def test_histogram_covers_every_sample_in_equal_bins():
    lengths = [50, 51, 99, 100, 149, 150, 352]
    bins = token_length_histogram(lengths)
    assert sum(b["samples"] for b in bins) == len(lengths)
    assert bins[0]["from"] == 50 and bins[-1]["to"] >= 352
    assert len({b["to"] - b["from"] for b in bins}) == 1
    assert len(bins) <= 10
    assert all(b["to"] + 1 == c["from"] for b, c in zip(bins, bins[1:]))
    assert token_length_histogram([]) == []
    assert token_length_histogram([7, 7]) == [{"from": 7, "to": 7, "samples": 2}]


def report(cut, samples):
    """What the comparison reads of a cut's report."""
    return {"cut": cut, "samples": samples, "tokens": samples * 100,
            "sets": {"extractive_summary": {"samples": samples, "tokens": samples * 100,
                                            "raw_documents": 3, "summaries": cut * 3}}}


def test_percentiles_are_nearest_rank():
    lengths = list(range(1, 101))
    assert token_length_percentiles(lengths) == {"min": 1, "p50": 50, "p90": 90, "p95": 95,
                                                 "p99": 99, "max": 100}
    assert token_length_percentiles([7]) == {"min": 7, "p50": 7, "p90": 7, "p95": 7, "p99": 7,
                                             "max": 7}
    assert token_length_percentiles([]) == {}


def test_histogram_table_has_a_bar_per_bin():
    lines = token_length_histogram_markdown(token_length_histogram([100, 200, 300, 300]))
    assert lines[:2] == ["| tokens | samples | |", "|---|---:|---|"]
    assert lines[-1].endswith("| 2 | " + "█" * 30 + " |")  # the last bin holds the two 300s
    assert token_length_histogram_markdown([]) == []


def test_comparison_marks_the_training_cut():
    text = cuts_comparison_markdown([report(5, 42), report(1, 9)], training_cut=5)
    assert text.startswith("# Cuts produced (training uses cut 5)")
    assert text.index("| 1 | 9 |") < text.index("| 5 ← training | 42 |")


def test_from_metadata_restores_integers_only():
    assert from_metadata({"a": [1.0, 2.5], "b": {"c": 3.0}}) == {"a": [1, 2.5], "b": {"c": 3}}
    assert type(from_metadata(3.0)) is int and from_metadata("3.0") == "3.0"


def test_from_metadata_puts_keys_in_one_order_whatever_order_they_come_in():
    """KFP (a protobuf Struct locally, a Go map on a cluster) hands keys back in any order."""
    came = {"rows_read": 3.0, "files": {"key_facts_to_qa/b.jsonl": 1, "extractive_summary/a.jsonl": 2,
                                       "key_facts_to_qa/a.jsonl": 3},
            "sets": {"document_based_qa": 1, "extractive_summary": 2}, "dropped": 0}
    restored = from_metadata(came)
    assert list(restored) == ["dropped", "files", "rows_read", "sets"]
    assert list(restored["files"]) == ["extractive_summary/a.jsonl", "key_facts_to_qa/a.jsonl",
                                       "key_facts_to_qa/b.jsonl"]
    assert list(restored["sets"]) == ["extractive_summary", "document_based_qa"]
    assert from_metadata(dict(reversed(list(came.items())))) == restored
