"""Write the benchmark's step-03 input: realistic shapes and sizes, re-runnable by anyone.

    python bench/make_data.py medium bench/data/medium    # 44,200 rows, sdg_hub 0.4 – 0.9.0 layout
    python bench/make_data.py large bench/data/large      # 10× the raw documents, 0.9.1+ layout
    python bench/make_data.py medium bench/data/medium-0.1 --scale 0.1   # for the scaling table

Prose comes from the docstrings of Python's standard library (real English, on every machine);
the same Python version and arguments give the same files. Shape "medium" (per raw document):
~2,000 characters; per summary set 20 summaries (extractive ~1,000 characters, detailed ~1,500)
with 5 questions (~90 characters) and answers (~350); key facts: 8 facts × 2 Q&A; document QA: 5.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import random
import re
import warnings
from pathlib import Path

MODULES = (
    "argparse", "asyncio", "bisect", "calendar", "collections", "csv", "dataclasses", "datetime",
    "decimal", "email.message", "enum", "fractions", "functools", "heapq", "http.client",
    "inspect", "itertools", "json", "logging", "pathlib", "random", "shutil", "sqlite3",
    "statistics", "string", "subprocess", "tarfile", "textwrap", "threading", "typing",
    "unittest", "urllib.request", "zipfile",
)
SHAPES = {
    # name: (raw documents, layout)
    "medium": (200, "old"),
    "large": (2000, "new"),
}
SUMMARIES = 20
QUESTIONS = 5
FACTS = 8
QA_PER_FACT = 2
DOCUMENT_QUESTIONS = 5
ICL_DOCUMENT_CHARS = 1500
OLD_PROMPT_CHARS = 400  # instructions + in-context examples in each 0.4 – 0.9.0 prompt column


def sentence_pool() -> list[str]:
    """Plain English sentences from standard-library docstrings, deduplicated and sorted."""
    sentences = set()
    with warnings.catch_warnings():  # typing.io and friends are deprecated aliases
        warnings.simplefilter("ignore", DeprecationWarning)
        docs = []
        for name in MODULES:
            module = importlib.import_module(name)
            docs.append(inspect.getdoc(module) or "")
            docs += [inspect.getdoc(member) or "" for _, member in inspect.getmembers(module)
                     if inspect.isclass(member) or inspect.isfunction(member)]
    for doc in docs:
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(doc.split())):
            letters = sum(c.isalpha() or c == " " for c in sentence)
            if (40 <= len(sentence) <= 220 and sentence[0].isupper() and sentence[-1] == "."
                    and letters / len(sentence) > 0.9 and "`" not in sentence):
                sentences.add(sentence)
    return sorted(sentences)


class Prose:
    def __init__(self, rng: random.Random, pool: list[str]):
        self.rng, self.pool = rng, pool

    def text(self, chars: int) -> str:
        parts, size = [], 0
        while size < chars:
            sentence = self.rng.choice(self.pool)
            parts.append(sentence)
            size += len(sentence) + 1
        return " ".join(parts)

    def question(self) -> str:
        words = self.rng.choice(self.pool).rstrip(".").split()
        start = self.rng.choice(("What does", "How does", "Why does", "When does", "Which part of"))
        return f"{start} {' '.join(words[:12]).lower()} matter?"


def chat(content: str) -> list[dict]:
    return [{"role": "user", "content": content}]


def reply(content: str) -> list[dict]:
    return [{"role": "assistant", "content": content}]


def document_rows(d: int, prose: Prose, old: bool) -> dict[str, list[dict]]:
    """Every row the four flows would write for one raw document."""
    raw = prose.text(2000)
    seed = {"document_outline": f"Notes on the standard library, part {d + 1}", "domain": "software",
            "icl_document": prose.text(ICL_DOCUMENT_CHARS), "icl_query_1": prose.question(),
            "icl_query_2": prose.question(), "icl_query_3": prose.question()}
    instructions = prose.text(OLD_PROMPT_CHARS) if old else ""
    rows: dict[str, list[dict]] = {}
    for set_name, chars in (("extractive_summary", 1000), ("detailed_summary", 1500)):
        judgement = "faithfulness_judgement" if set_name == "extractive_summary" else "faithfulness_judgment"
        rows[set_name] = []
        for _ in range(SUMMARIES):
            summary = prose.text(chars)
            questions = [prose.question() for _ in range(QUESTIONS)]
            for question in questions:
                answer = prose.text(350)
                row = {**seed, "raw_document": raw, "document": summary, "question": question,
                       "response": answer, "faithfulness_explanation": prose.text(150),
                       judgement if old else "faithfulness_judgment": "YES"}
                if old:
                    row.update({
                        f"{set_name}_prompt": chat(f"{instructions}\n\n{raw}"),
                        f"raw_{set_name}": reply(summary), f"raw_{set_name}_content": summary,
                        "question_prompt": chat(f"{instructions}\n\n{summary}"),
                        "raw_questions": reply("\n".join(questions)),
                        "response_prompt": chat(f"{instructions}\n\n{summary}\n\n{question}"),
                        "response_dict": reply(answer), "response_content": answer,
                        "faithfulness_prompt": chat(f"{instructions}\n\n{summary}\n\n{answer}"),
                        "raw_faithfulness": reply("Answer: YES"),
                    })
                rows[set_name].append(row)
    facts = [prose.text(120) for _ in range(FACTS)]
    block = "\n".join(f"{i}. {fact}" for i, fact in enumerate(facts, start=1))
    rows["key_facts_to_qa"] = []
    for fact in facts:
        for _ in range(QA_PER_FACT):
            question, answer = prose.question(), prose.text(350)
            row = {**seed, "document": block, "key_fact": fact,
                   "raw_key_fact_qa": f"[QUESTION]\n{question}\n[ANSWER]\n{answer}",
                   "question": question, "response": answer}
            if old:
                row.update({"raw_document": raw, "key_facts_prompt": chat(f"{instructions}\n\n{raw}"),
                            "raw_key_facts": reply(block),
                            "key_fact_qa_prompt": chat(f"{instructions}\n\n{fact}"),
                            "response_dict": reply(answer)})
            rows["key_facts_to_qa"].append(row)
    rows["document_based_qa"] = []
    for _ in range(DOCUMENT_QUESTIONS):
        question, answer = prose.question(), prose.text(350)
        row = {**seed, "document": raw, "question": question, "response": answer,
               "faithfulness_explanation": prose.text(150), "faithfulness_judgment": "YES"}
        if old:
            row.update({"base_document": raw,
                        "question_prompt": chat(f"{instructions}\n\n{raw}"),
                        "response_prompt": chat(f"{instructions}\n\n{raw}\n\n{question}"),
                        "response_dict": reply(answer)})
        rows["document_based_qa"].append(row)
    return rows


def write(output: Path, raw_documents: int, layout: str, seed: int = 0) -> dict[str, int]:
    """Write the four set folders (one gen.jsonl each, as pandas writes it); return row counts."""
    prose = Prose(random.Random(seed), sentence_pool())
    files = {}
    counts = {}
    try:
        for d in range(raw_documents):
            for set_name, rows in document_rows(d, prose, layout == "old").items():
                if set_name not in files:
                    (output / set_name).mkdir(parents=True, exist_ok=True)
                    files[set_name] = open(output / set_name / "gen.jsonl", "w", encoding="utf-8")
                    counts[set_name] = 0
                for row in rows:
                    files[set_name].write(json.dumps(row) + "\n")
                counts[set_name] += len(rows)
    finally:
        for f in files.values():
            f.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("output", type=Path)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the raw documents")
    args = parser.parse_args()
    raw_documents, layout = SHAPES[args.shape]
    counts = write(args.output, max(1, round(raw_documents * args.scale)), layout)
    size = sum(p.stat().st_size for p in args.output.rglob("*.jsonl"))
    print(f"wrote {args.output}: {sum(counts.values()):,} rows {counts}, {size / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
