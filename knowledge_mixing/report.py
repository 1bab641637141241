"""Human-readable reports of the cuts, rendered as Markdown for the KFP UI."""
from __future__ import annotations

import math

HISTOGRAM_BINS = 10
BAR_WIDTH = 30


def whole_numbers(value):
    """KFP hands numbers back from artifact metadata as floats; restore the integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


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


def cut_report_markdown(report: dict) -> str:
    """One cut: totals, the per-set table and the token-length histogram."""
    lines = [
        f"# Cut {report['cut']}: {report['samples']:,} samples, {report['tokens']:,} tokens",
        "",
        "| set | samples | tokens | raw documents | summaries |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, stats in report["sets"].items():
        lines.append(f"| {name} | {stats['samples']:,} | {stats['tokens']:,} | "
                     f"{stats['raw_documents']:,} | {stats['summaries']:,} |")
    lines += recipe_markdown(report)
    histogram = report["token_length_histogram"]
    if histogram:
        peak = max(b["samples"] for b in histogram)
        lines += ["", f"## Token lengths (longest: {report['max_token_length']:,})", "",
                  "| tokens | samples | |", "|---|---:|---|"]
        for b in histogram:
            bar = "█" * round(BAR_WIDTH * b["samples"] / peak)
            lines.append(f"| {b['from']:,}–{b['to']:,} | {b['samples']:,} | {bar} |")
    return "\n".join(lines) + "\n"


def recipe_markdown(report: dict) -> list[str]:
    """What the recipe did to the cut, set by set and replay source by source."""
    def pair(account: dict) -> str:
        return f"{account['samples']:,} / {account['tokens']:,}"

    duplicates = "removed" if report["recipe"]["dedup"] else "kept: trained twice"
    lines = ["", f"## Recipe `{report['recipe_sha256'][:12]}`", "",
             "Samples / tokens before and after the recipe.", "",
             f"| set | weight | in cut | duplicates ({duplicates}) | too short (dropped) | "
             "too long (dropped) | validation | mixed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, a in report["knowledge"].items():
        lines.append(f"| {name} | {a['weight']:g} | {pair(a['in_cut'])} | {pair(a['duplicates'])} | "
                     f"{pair(a['under_length'])} | {pair(a['over_length'])} | "
                     f"{pair(a['validation'])} | {pair(a['mixed'])} |")
    for r in report["replay"]:
        lines.append(f"| replay {r['path']} (ratio {r['token_ratio']:g}, target "
                     f"{r['target_tokens']:,} tokens) | | {pair(r['available'])} | | "
                     f"{pair(r['under_length'])} | {pair(r['over_length'])} | | "
                     f"{pair(r['mixed'])} |")
    return lines


def cuts_comparison_markdown(reports: list[dict], training_cut: int) -> str:
    """All produced cuts side by side, with the one training uses marked."""
    set_names = list(dict.fromkeys(name for r in reports for name in r["sets"]))
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
