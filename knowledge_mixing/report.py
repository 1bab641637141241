"""Token-length statistics of a cut, and the Markdown comparison of all cuts for the KFP UI
(each cut's own page is its data card: data_card.py)."""
from __future__ import annotations

import math

from .sets import SET_NAMES, set_position

HISTOGRAM_BINS = 10
BAR_WIDTH = 30


def from_metadata(value):
    """What KFP hands back from artifact metadata and parameters as it was written: numbers come
    back as floats (the integers are restored) and mappings with their keys in any order (put in
    one order, so that what is written from them is the same from run to run: set names and
    `set/file` names in set order, other keys sorted)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: from_metadata(value[k]) for k in sorted(value, key=_key_order)}
    if isinstance(value, list):
        return [from_metadata(v) for v in value]
    return value


def _key_order(key) -> tuple:
    position = set_position(str(key))
    return (0, *position) if position is not None else (1, 0, str(key))


def token_length_histogram(lengths: list[int], bins: int = HISTOGRAM_BINS) -> list[dict]:
    """Equal-width bins from the shortest to the longest sample: [{from, to, samples}]."""
    if not lengths:
        return []
    low, high = min(lengths), max(lengths)
    width = max(1, math.ceil((high - low + 1) / bins))
    counts = [0] * math.ceil((high - low + 1) / width)
    for length in lengths:
        counts[(length - low) // width] += 1
    return [{"from": low + i * width, "to": low + (i + 1) * width - 1, "samples": count}
            for i, count in enumerate(counts)]


def token_length_percentiles(lengths: list[int]) -> dict:
    """min, p50, p90, p95, p99 and max of the token lengths (nearest rank); {} without any."""
    if not lengths:
        return {}
    ordered = sorted(lengths)
    at = {f"p{p}": ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in (50, 90, 95, 99)}
    return {"min": ordered[0], **at, "max": ordered[-1]}


def token_length_histogram_markdown(histogram: list[dict]) -> list[str]:
    """The histogram as a table with bars."""
    if not histogram:
        return []
    peak = max(b["samples"] for b in histogram)
    lines = ["| tokens | samples | |", "|---|---:|---|"]
    for b in histogram:
        bar = "█" * round(BAR_WIDTH * b["samples"] / peak)
        lines.append(f"| {b['from']:,}–{b['to']:,} | {b['samples']:,} | {bar} |")
    return lines


def cuts_comparison_markdown(reports: list[dict], training_cut: int) -> str:
    """All produced cuts side by side, with the one training uses marked."""
    set_names = [name for name in SET_NAMES if any(name in r["sets"] for r in reports)]
    lines = [
        f"# Cuts produced (training uses cut {training_cut})",
        "",
        "| cut | samples | tokens | " + " | ".join(f"{n} samples" for n in set_names) + " |",
        "|---|---:|---:|" + "---:|" * len(set_names),
    ]
    for r in sorted(reports, key=lambda r: r["cut"]):
        marker = " ← training" if r["cut"] == training_cut else ""
        per_set = " | ".join(f"{r['sets'][n]['samples']:,}" if n in r["sets"] else "0"
                             for n in set_names)
        lines.append(f"| {r['cut']}{marker} | {r['samples']:,} | {r['tokens']:,} | {per_set} |")
    return "\n".join(lines) + "\n"
