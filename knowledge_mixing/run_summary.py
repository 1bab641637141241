"""The run summary (summary.json) and the table `pipeline.py run` prints, from the artifacts'
metadata (docs/behaviour.md#outputs)."""
from __future__ import annotations

from .report import from_metadata
from .sets import SET_NAMES, set_position
from .trainer_check import summary_line


def in_set_order(per_set: dict) -> dict:
    """KFP metadata comes back with its keys in any order; tables read best in set order."""
    return {name: per_set[name] for name in SET_NAMES if name in per_set}


def in_order(mapping: dict, keys) -> dict:
    """The mapping's entries in the order of `keys` (KFP metadata comes back in any order)."""
    return {key: mapping[key] for key in keys if key in mapping}


def files_in_set_order(files: dict) -> dict:
    """Input files (`set/file`) in set order, then by name, each with its column roles in order."""
    return {name: {**files[name], "columns": in_order(
        files[name]["columns"], ("document", "raw_document", "reasoning"))}
            for name in sorted(files, key=set_position)}


def cut_file_name(cut: int) -> str:
    return f"combined_cut_{cut}x.jsonl"


def card_file_name(cut: int) -> str:
    return f"combined_cut_{cut}x.card.md"


def validation_file_name(cut: int) -> str:
    return f"validation_cut_{cut}x.jsonl"


def run_summary(parameters: dict, load: dict, plan: dict, counted: dict, cuts: list[dict],
                training_cut) -> dict:
    """One document that explains a run's outputs: what was read, planned and written, under
    which recipe, from which input bytes."""
    load, counted, cuts = from_metadata(load), from_metadata(counted), from_metadata(cuts)
    recipe = plan["recipe"]
    return {
        "parameters": {name: from_metadata(value) for name, value in parameters.items()},
        "recipe": recipe,
        "recipe_sha256": plan["recipe_sha256"],
        "input_sha256": {k: v for report in cuts for k, v in report["input_sha256"].items()},
        "load": {"sets": in_set_order(load["sets"]), "absent_sets": load["absent_sets"],
                 "files": files_in_set_order(load["files"])},
        "plan": {
            "feasible_cuts": plan["feasible_cuts"],
            "infeasible_cuts": dict(sorted(plan["infeasible_cuts"].items(), key=lambda kv: int(kv[0]))),
            "summaries_per_raw_document": in_set_order(plan["summaries_per_raw_document"]),
            "rows_counted": counted["rows_counted"],
            "tokens_counted": counted["tokens_counted"],
            "tokenizer": counted["tokenizer"],
            "tokenizer_sha256": {
                "files": dict(sorted(counted["tokenizer_sha256"]["files"].items())),
                "chat_template": counted["tokenizer_sha256"]["chat_template"]},
        },
        "cuts": {
            str(report["cut"]): {
                "file": cut_file_name(report["cut"]),
                "card": card_file_name(report["cut"]),
                "samples": report["samples"],
                "tokens": report["tokens"],
                "max_token_length": report["max_token_length"],
                "sets": in_set_order(report["sets"]),
                "knowledge": in_set_order(report["knowledge"]),
                "replay": report["replay"],
                "validation": {"file": validation_file_name(report["cut"]),
                               **report["validation"]} if recipe["validation_fraction"] else None,
                "token_length_histogram": report["token_length_histogram"],
                "token_length_percentiles": in_order(report["token_length_percentiles"],
                                                     ("min", "p50", "p90", "p95", "p99", "max")),
                "trainer_check": report["trainer_check"],
            }
            for report in sorted(cuts, key=lambda r: r["cut"])
        },
        "training_cut": from_metadata(training_cut),
    }


def summary_table(summary: dict) -> str:
    """The per-cut, per-set table printed at the end of a run."""
    header = ("cut", "set", "samples", "tokens", "raw docs", "summaries")
    rows = []
    for cut, report in summary["cuts"].items():
        for set_name, stats in report["sets"].items():
            rows.append((cut, set_name, stats["samples"], stats["tokens"], stats["raw_documents"],
                         stats["summaries"]))
        for source in report["replay"]:
            rows.append((cut, f"replay {source['path']}", source["mixed"]["samples"],
                         source["mixed"]["tokens"], "", ""))
        rows.append((cut, "total", report["samples"], report["tokens"], "", ""))
        if report["validation"]:
            rows.append((cut, "validation (held out)", report["validation"]["samples"],
                         report["validation"]["tokens"], "", ""))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                       for i, (v, w) in enumerate(zip(r, widths))).rstrip() for r in [header, *rows]]
    recipe = summary["recipe"]
    for cut, report in summary["cuts"].items():
        accounts = [*report["knowledge"].values(), *report["replay"]]
        duplicates = sum(a["duplicates"]["samples"] for a in report["knowledge"].values())
        if duplicates:
            lines.append(f"cut {cut}: exact duplicates (the messages of an earlier sample): "
                         f"{duplicates}, " + ("removed (dedup)" if recipe["dedup"] else
                                              "kept (trained twice; --dedup removes them)"))
        short = sum(a["under_length"]["samples"] for a in accounts)
        if short:
            lines.append(f"cut {cut}: {short} samples of fewer than {recipe['min_seq_len']} tokens "
                         "dropped (min_seq_len)")
        dropped = sum(a["over_length"]["samples"] for a in accounts)
        if dropped:
            lines.append(f"cut {cut}: {dropped} samples of {recipe['max_seq_len']} tokens or more "
                         "dropped (max_seq_len)")
    checks = {cut: report["trainer_check"] for cut, report in summary["cuts"].items()
              if report["trainer_check"]}
    for cut, check in checks.items():
        if check["available"]:
            lines.append(f"cut {cut}: {summary_line(check)}")
    lines += sorted({check["message"] for check in checks.values() if not check["available"]})
    for cut, reason in summary["plan"]["infeasible_cuts"].items():
        lines.append(f"cut {cut} not produced: {reason}")
    for set_name in summary["load"]["absent_sets"]:
        lines.append(f"set {set_name} absent from the input")
    lines.append(f"training uses cut {summary['training_cut']}")
    return "\n".join(lines)
