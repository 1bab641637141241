"""The data card of a cut: one Markdown page, next to the cut file and in the KFP UI, that says
what the cut holds and where it came from (docs/behaviour.md#data-card).

It is rendered from what the mix stage measured (the cut's report) and what the load measured
(the plan carries it): inputs and their fingerprints, counts and what was dropped and why, token
lengths, the effective recipe, the tokenizer, the trainer check, one sample row per set. What
came through KFP metadata comes back with its keys in any order: tables are put in set order.
"""
from __future__ import annotations

import json

from .report import token_length_histogram_markdown
from .run_summary import files_in_set_order, in_set_order

SHOWN_CHARACTERS = 240
"""A sample row's strings are cut to this many characters on the card."""


def shortened(value, limit: int = SHOWN_CHARACTERS):
    """The value with every string longer than `limit` cut, saying how much was left out."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}… [{len(value) - limit:,} more characters]"
    if isinstance(value, dict):
        return {k: shortened(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [shortened(v, limit) for v in value]
    return value


def _pair(account: dict) -> str:
    return f"{account['samples']:,} / {account['tokens']:,}"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "—"


def inputs_markdown(report: dict, load: dict) -> list[str]:
    lines = ["## Inputs", "", "| input | sha256 | sdg_hub layout | document from | raw document "
             "from | reasoning from |", "|---|---|---|---|---|---|"]
    files = load.get("files", {})
    knowledge = list(files_in_set_order({n: files[n] for n in report["input_sha256"] if n in files}))
    replay = [n for n in report["input_sha256"] if n not in files]
    for name in knowledge + replay:
        sha256, described = report["input_sha256"][name], files.get(name)
        if described is None:  # a replay source
            lines.append(f"| replay {name} | `{sha256}` | chat JSONL | | | |")
            continue
        columns = described["columns"]
        lines.append(f"| {name} | `{sha256}` | {described['layout']} | "
                     f"{_names(columns['document'])} | {_names(columns['raw_document'])} | "
                     f"{_names(columns['reasoning'])} |")
    return lines


def load_markdown(load: dict) -> list[str]:
    lines = ["", "## Loaded (every row of the input)", "",
             "| set | rows read | dropped: GPT-OSS question filter | dropped: empty response | "
             "kept | exact duplicates | raw document spelled otherwise | document spelled "
             "otherwise |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, c in in_set_order(load.get("sets", {})).items():
        lines.append(f"| {name} | {c['rows_read']:,} | {c['dropped_gpt_oss_filter']:,} | "
                     f"{c['dropped_empty_response']:,} | {c['rows_kept']:,} | "
                     f"{c['duplicate_samples']:,} | {c['raw_document_whitespace_variants']:,} | "
                     f"{c['document_whitespace_variants']:,} |")
    if load.get("absent_sets"):
        lines += ["", f"Absent from the input: {', '.join(load['absent_sets'])}."]
    lines += ["", "Spelled otherwise: the text of an earlier row but for whitespace; such rows "
              "count as that document."]
    return lines


def cut_markdown(report: dict) -> list[str]:
    recipe = report["recipe"]
    duplicates = "removed" if recipe["dedup"] else "kept, trained twice"
    longest = f" < {recipe['max_seq_len']:,}" if recipe["max_seq_len"] else ""
    lines = ["", "## This cut", "",
             f"Samples / tokens. Kept: {recipe['min_seq_len']:,} ≤ tokens{longest}, as the "
             "trainer keeps them.", "",
             f"| set | weight | in cut | duplicates ({duplicates}) | too short (dropped) | "
             "too long (dropped) | validation | mixed | raw documents | summaries |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, a in report["knowledge"].items():
        written = report["sets"].get(name, {"raw_documents": 0, "summaries": 0})
        lines.append(f"| {name} | {a['weight']:g} | {_pair(a['in_cut'])} | "
                     f"{_pair(a['duplicates'])} | {_pair(a['under_length'])} | "
                     f"{_pair(a['over_length'])} | {_pair(a['validation'])} | {_pair(a['mixed'])} "
                     f"| {written['raw_documents']:,} | {written['summaries']:,} |")
    for r in report["replay"]:
        lines.append(f"| replay {r['path']} (ratio {r['token_ratio']:g}, target "
                     f"{r['target_tokens']:,} tokens) | | {_pair(r['available'])} | | "
                     f"{_pair(r['under_length'])} | {_pair(r['over_length'])} | | "
                     f"{_pair(r['mixed'])} | | |")
    lines.append(f"| **total** | | | | | | {_pair(report['validation'])} | "
                 f"{report['samples']:,} / {report['tokens']:,} | | |")
    for r in report["replay"]:
        if r["empty_reasoning"]:
            lines += ["", f"{r['empty_reasoning']:,} rows of replay {r['path']} carry an empty "
                      "`thinking` or `reasoning_content`: the trainer treats it as reasoning (it "
                      "wraps it, and with some chat templates then leaves the end-of-turn token "
                      "untrained); their counts are the trainer's."]
    return lines


def lengths_markdown(report: dict) -> list[str]:
    p = report["token_length_percentiles"]
    if not p:
        return []
    return ["", "## Token lengths", "",
            "| min | p50 | p90 | p95 | p99 | max |", "|---:|---:|---:|---:|---:|---:|",
            f"| {p['min']:,} | {p['p50']:,} | {p['p90']:,} | {p['p95']:,} | {p['p99']:,} | "
            f"{p['max']:,} |", "", *token_length_histogram_markdown(
                report["token_length_histogram"])]


def recipe_markdown(report: dict) -> list[str]:
    return ["", f"## Recipe (sha256 `{report['recipe_sha256']}`)", "", "```json",
            json.dumps(report["recipe"], indent=2), "```"]


def tokenizer_markdown(tokenizer: dict) -> list[str]:
    sha256 = tokenizer.get("tokenizer_sha256", {})
    lines = ["", f"## Tokenizer: {tokenizer.get('tokenizer') or 'unknown'}", "",
             f"Chat template sha256: `{sha256.get('chat_template') or 'unknown'}`", ""]
    if sha256.get("files"):
        lines += ["| file | sha256 |", "|---|---|"]
        lines += [f"| {name} | `{digest}` |" for name, digest in sorted(sha256["files"].items())]
    else:
        lines.append("Its files were not seen (a hub id, read from the hub's cache).")
    return lines


def trainer_check_markdown(check: dict | None) -> list[str]:
    lines = ["", "## Trainer check", ""]
    if check is None:
        return lines + ["Not run (`--check-with-trainer` runs instructlab-training's own data "
                        "processing on the cut)."]
    if not check["available"]:
        return lines + [check["message"]]
    rows, versions = check["rows"], dict(check["versions"])
    trainer = versions.pop("instructlab-training", "?")
    return lines + [
        f"instructlab-training {trainer} ({', '.join(f'{k} {v}' for k, v in versions.items())}), "
        f"length bounds {check['min_seq_len']} ≤ tokens"
        + (f" < {check['max_seq_len']:,}" if check["max_seq_len"] else "") + ":", "",
        "| rows | accepted | end-of-turn trained | token count = `token_length` |",
        "|---:|---:|---:|---:|",
        f"| {rows:,} | {check['accepted']:,} | {check['end_of_turn_trained']:,} | "
        f"{check['token_length_agrees']:,} |",
        *([""] + [f"- {problem}" for problem in check["problems"]] if check["problems"] else [])]


def samples_markdown(examples: dict[str, str]) -> list[str]:
    lines = ["", "## One sample per set and replay source (strings shortened)"]
    for name, row_json in examples.items():
        lines += ["", f"### {name}", "", "```json",
                  json.dumps(shortened(json.loads(row_json)), indent=2, ensure_ascii=False), "```"]
    return lines


def data_card_markdown(report: dict, load: dict, examples: dict[str, str]) -> str:
    """The card of one cut: `report` is what the mix stage measured, `load` what the load
    measured (per set counts, per file layout and columns), `examples` one output line per set
    (and replay source)."""
    recipe = report["recipe"]
    lines = [f"# Data card: {report['file_name']} (cut {report['cut']})", "",
             f"{report['samples']:,} samples, {report['tokens']:,} tokens; cut {report['cut']} "
             f"takes up to {report['cut']} summaries per raw document and the first "
             f"{recipe['qa_per_doc']} Q&A pairs of each, seed {recipe['seed']}.", ""]
    lines += inputs_markdown(report, load)
    lines += load_markdown(load)
    lines += cut_markdown(report)
    lines += lengths_markdown(report)
    lines += recipe_markdown(report)
    lines += tokenizer_markdown(report["tokenizer"])
    lines += trainer_check_markdown(report["trainer_check"])
    lines += samples_markdown(examples)
    return "\n".join(lines) + "\n"
