"""Reports shown in the KFP UI: the histogram and the Markdown tables."""
from knowledge_mixing.report import (
    cut_report_markdown,
    cuts_comparison_markdown,
    token_length_histogram,
    whole_numbers,
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
    return {"cut": cut, "samples": samples, "tokens": samples * 100, "max_token_length": 300,
            "sets": {"extractive_summary": {"samples": samples, "tokens": samples * 100,
                                            "raw_documents": 3, "summaries": cut * 3}},
            "token_length_histogram": token_length_histogram([100, 200, 300]),
            "recipe_sha256": "ab" * 32, "recipe": {"dedup": False},
            "knowledge": {"extractive_summary": {
                "weight": 2.0, "in_cut": {"samples": samples // 2 + 1, "tokens": samples * 50 + 100},
                "duplicates": {"samples": 1, "tokens": 90},
                "under_length": {"samples": 2, "tokens": 30},
                "over_length": {"samples": 1, "tokens": 100},
                "validation": {"samples": 0, "tokens": 0},
                "mixed": {"samples": samples, "tokens": samples * 100}}},
            "replay": [{"path": "chat.jsonl", "token_ratio": 0.1, "target_tokens": samples * 10,
                        "available": {"samples": 20, "tokens": 2000},
                        "under_length": {"samples": 0, "tokens": 0},
                        "over_length": {"samples": 0, "tokens": 0},
                        "mixed": {"samples": 4, "tokens": 400}}]}


def test_cut_report_has_the_set_table_and_histogram():
    text = cut_report_markdown(report(5, 42))
    assert text.startswith("# Cut 5: 42 samples, 4,200 tokens")
    assert "| extractive_summary | 42 | 4,200 | 3 | 15 |" in text
    assert "## Token lengths (longest: 300)" in text and "█" in text
    assert "## Recipe `abababababab`" in text
    assert "| duplicates (kept: trained twice) |" in text
    assert ("| extractive_summary | 2 | 22 / 2,200 | 1 / 90 | 2 / 30 | 1 / 100 | 0 / 0 | "
            "42 / 4,200 |") in text
    assert ("| replay chat.jsonl (ratio 0.1, target 420 tokens) | | 20 / 2,000 | | 0 / 0 | "
            "0 / 0 | | 4 / 400 |") in text


def test_comparison_marks_the_training_cut():
    text = cuts_comparison_markdown([report(5, 42), report(1, 9)], training_cut=5)
    assert text.startswith("# Cuts produced (training uses cut 5)")
    assert text.index("| 1 | 9 |") < text.index("| 5 ← training | 42 |")


def test_whole_numbers_restores_integers_only():
    assert whole_numbers({"a": [1.0, 2.5], "b": {"c": 3.0}}) == {"a": [1, 2.5], "b": {"c": 3}}
    assert type(whole_numbers(3.0)) is int and whole_numbers("3.0") == "3.0"
