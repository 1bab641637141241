"""summary.json and the table `pipeline.py run` prints, from the artifacts' metadata."""
from __future__ import annotations

from .report import whole_numbers
from .sets import SET_NAMES


def in_set_order(per_set: dict) -> dict:
    """KFP metadata comes back with its keys in any order; tables read best in SPEC order."""
    return {name: per_set[name] for name in SET_NAMES if name in per_set}


def cut_file_name(cut: int) -> str:
    return f"combined_cut_{cut}x.jsonl"


def run_summary(parameters: dict, load: dict, plan: dict, cuts: list[dict], training_cut) -> dict:
    """One document that explains a run's outputs: what was read, planned and written."""
    load, plan, cuts = whole_numbers(load), whole_numbers(plan), whole_numbers(cuts)
    return {
        "parameters": parameters,
        "load": {"sets": in_set_order(load["sets"]), "absent_sets": load["absent_sets"]},
        "plan": {
            "feasible_cuts": plan["feasible_cuts"],
            "infeasible_cuts": dict(sorted(plan["infeasible_cuts"].items(), key=lambda kv: int(kv[0]))),
            "summaries_per_raw_document": in_set_order(plan["summaries_per_raw_document"]),
            "rows_counted": plan["rows_counted"],
            "tokens_counted": plan["tokens_counted"],
            "tokenizer": plan["tokenizer"],
        },
        "cuts": {
            str(report["cut"]): {
                "file": cut_file_name(report["cut"]),
                "samples": report["samples"],
                "tokens": report["tokens"],
                "max_token_length": report["max_token_length"],
                "sets": in_set_order(report["sets"]),
                "token_length_histogram": report["token_length_histogram"],
            }
            for report in sorted(cuts, key=lambda r: r["cut"])
        },
        "training_cut": whole_numbers(training_cut),
    }


def summary_table(summary: dict) -> str:
    """The per-cut, per-set table printed at the end of a run."""
    header = ("cut", "set", "samples", "tokens", "raw docs", "summaries")
    rows = []
    for cut, report in summary["cuts"].items():
        for set_name, stats in report["sets"].items():
            rows.append((cut, set_name, stats["samples"], stats["tokens"], stats["raw_documents"],
                         stats["summaries"]))
        rows.append((cut, "total", report["samples"], report["tokens"], "", ""))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                       for i, (v, w) in enumerate(zip(r, widths))).rstrip() for r in [header, *rows]]
    for cut, reason in summary["plan"]["infeasible_cuts"].items():
        lines.append(f"cut {cut} not produced: {reason}")
    for set_name in summary["load"]["absent_sets"]:
        lines.append(f"set {set_name} absent from the input")
    lines.append(f"training uses cut {summary['training_cut']}")
    return "\n".join(lines)
