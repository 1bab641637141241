"""Write a small step-03 artifact shaped like real sdg_hub knowledge-generation output.

    python examples/make_step_03.py                       # examples/step_03, mixed layouts
    python examples/make_step_03.py OUT --layout old      # every set in the 0.4 – 0.9.0 layout
    python examples/make_step_03.py OUT --layout new      # every set in the 0.9.1+ layout
    python examples/make_step_03.py OUT --layout renamed  # 0.4 – 0.9.0, other column names

Three raw documents of plain English prose. Extractive summaries are sentence selections of the
raw document, detailed summaries restate its key facts, and every summary carries four questions,
so `qa_per_doc` and the cut sizes have something to cut. The raw documents have 6, 5 and 4
summaries per set: cuts 1 and 5 are feasible, 10 is not. Like real output, a few rows repeat an
earlier Q&A pair exactly, and a few spell a raw document or summary with other whitespace (see
`untidy`). The output is deterministic.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DOMAIN = "history of science and technology"

DOCUMENTS = [
    {
        "outline": "The Rosetta Stone and the decipherment of Egyptian hieroglyphs",
        "text": (
            "The Rosetta Stone is a granodiorite stele inscribed with a decree issued at Memphis "
            "in 196 BC on behalf of King Ptolemy V. The decree appears in three scripts: the upper "
            "text is in Ancient Egyptian hieroglyphs, the middle portion in Demotic script, and "
            "the lowest in Ancient Greek. Because the Greek text could be read, the stone became "
            "the key to understanding the other two. French soldiers found the stone in 1799 "
            "while rebuilding a fort near the town of Rashid, which Europeans called Rosetta. "
            "After the French surrender in Egypt, the stone passed to the British under the "
            "Capitulation of Alexandria in 1801 and has been displayed in the British Museum "
            "since 1802. Thomas Young showed in 1814 that the Demotic text used phonetic "
            "characters to spell foreign names. Jean-Francois Champollion announced in 1822 that "
            "hieroglyphs, too, combined phonetic signs with signs that stand for whole words, "
            "and he went on to read royal names and ordinary vocabulary. His work laid the "
            "foundation of modern Egyptology. The stone is about 112 centimetres high, 76 "
            "centimetres wide and weighs roughly 760 kilograms. It is the most visited object "
            "in the British Museum."
        ),
        "facts": [
            "The Rosetta Stone carries a decree issued at Memphis in 196 BC for Ptolemy V.",
            "The decree is written in hieroglyphs, Demotic script and Ancient Greek.",
            "French soldiers found the stone in 1799 near the town of Rashid.",
            "The stone passed to the British in 1801 and has been in the British Museum since 1802.",
            "Thomas Young showed in 1814 that Demotic spelled foreign names phonetically.",
            "Champollion announced in 1822 that hieroglyphs mixed phonetic and word signs.",
        ],
        "qa": [
            ("When was the decree on the Rosetta Stone issued, and for whom?",
             "The decree was issued at Memphis in 196 BC on behalf of King Ptolemy V."),
            ("Which three scripts appear on the Rosetta Stone?",
             "The stone carries the same decree in Ancient Egyptian hieroglyphs, Demotic script "
             "and Ancient Greek."),
            ("Why was the Greek text on the stone so important?",
             "The Greek text could already be read, so it gave scholars a known translation "
             "against which the hieroglyphic and Demotic versions could be compared."),
            ("Who found the Rosetta Stone, and where?",
             "French soldiers found it in 1799 while rebuilding a fort near Rashid, a town "
             "Europeans called Rosetta."),
            ("How did the stone come to the British Museum?",
             "It passed to the British under the Capitulation of Alexandria in 1801 and has been "
             "on display in the British Museum since 1802."),
            ("What did Champollion discover about hieroglyphs?",
             "In 1822 he showed that hieroglyphs combine phonetic signs with signs for whole "
             "words, which let him read royal names and everyday vocabulary."),
        ],
    },
    {
        "outline": "The Bessemer process for making steel",
        "text": (
            "The Bessemer process was the first inexpensive industrial method for the mass "
            "production of steel from molten pig iron. Its key principle is the removal of "
            "impurities from the iron by oxidation, with air blown through the molten metal. "
            "The oxidation also raises the temperature of the iron mass and keeps it molten, so "
            "no additional fuel is needed. Henry Bessemer patented the process in England in "
            "1856, although the American William Kelly had experimented with a similar method "
            "some years earlier. Early Bessemer steel was often brittle because phosphorus in "
            "the ore remained in the metal. In 1878 Sidney Gilchrist Thomas and Percy Gilchrist "
            "solved this by lining the converter with a basic material that absorbed the "
            "phosphorus. A converter could turn fifteen tonnes of iron into steel in about "
            "twenty minutes, where earlier methods had taken a day. The process made steel "
            "cheap enough for railways, bridges and tall buildings. It was gradually replaced by "
            "the open-hearth furnace and, in the twentieth century, by the basic oxygen process, "
            "which blows pure oxygen instead of air."
        ),
        "facts": [
            "The Bessemer process was the first cheap industrial method to mass-produce steel.",
            "Air blown through molten pig iron oxidises the impurities and keeps the metal hot.",
            "Henry Bessemer patented the process in England in 1856.",
            "Thomas and Gilchrist removed phosphorus in 1878 with a basic converter lining.",
            "A converter turned fifteen tonnes of iron into steel in about twenty minutes.",
        ],
        "qa": [
            ("What is the key principle of the Bessemer process?",
             "Impurities are removed from molten pig iron by oxidation, with air blown through "
             "the molten metal."),
            ("Why does the Bessemer process need no additional fuel?",
             "The oxidation of the impurities releases heat, which raises the temperature of the "
             "iron and keeps it molten."),
            ("Who patented the Bessemer process, and when?",
             "Henry Bessemer patented it in England in 1856; William Kelly had experimented with "
             "a similar method in America a few years earlier."),
            ("Why was early Bessemer steel often brittle?",
             "Phosphorus from the ore stayed in the metal and made the steel brittle."),
            ("How did Thomas and Gilchrist improve the process?",
             "In 1878 they lined the converter with a basic material that absorbed the "
             "phosphorus, so phosphorus-rich ores could be used."),
            ("What replaced the Bessemer process?",
             "The open-hearth furnace, and later the basic oxygen process, which blows pure "
             "oxygen instead of air."),
        ],
    },
    {
        "outline": "C4 photosynthesis in tropical grasses",
        "text": (
            "C4 photosynthesis is a carbon fixation pathway that concentrates carbon dioxide "
            "around the enzyme RuBisCO. In most plants, RuBisCO sometimes binds oxygen instead "
            "of carbon dioxide, a wasteful reaction called photorespiration that increases in "
            "hot, dry conditions. C4 plants first fix carbon dioxide in mesophyll cells into a "
            "four-carbon acid, which gives the pathway its name. The acid moves into bundle "
            "sheath cells, where it releases carbon dioxide close to RuBisCO. This arrangement of "
            "cells around the leaf veins is called Kranz anatomy, from the German word for "
            "wreath. Because carbon dioxide is concentrated, C4 plants can keep their stomata "
            "partly closed and lose less water. Maize, sugarcane and sorghum are C4 crops, and "
            "they produce high yields in warm climates. Only about three percent of flowering "
            "plant species use the C4 pathway, yet they account for roughly a quarter of the "
            "primary production on land. Researchers are trying to engineer the pathway into "
            "rice to raise its yield."
        ),
        "facts": [
            "C4 photosynthesis concentrates carbon dioxide around the enzyme RuBisCO.",
            "Photorespiration happens when RuBisCO binds oxygen and rises in hot, dry conditions.",
            "Mesophyll cells fix carbon dioxide into a four-carbon acid first.",
            "Bundle sheath cells release the carbon dioxide next to RuBisCO (Kranz anatomy).",
            "Maize, sugarcane and sorghum are C4 crops with high yields in warm climates.",
        ],
        "qa": [
            ("What problem does C4 photosynthesis solve?",
             "It concentrates carbon dioxide around RuBisCO, which reduces photorespiration, the "
             "wasteful binding of oxygen that increases in hot, dry conditions."),
            ("Where does the name C4 come from?",
             "Carbon dioxide is first fixed in mesophyll cells into an acid with four carbon "
             "atoms."),
            ("What is Kranz anatomy?",
             "It is the wreath-like arrangement of bundle sheath cells around the leaf veins, "
             "where the four-carbon acid releases carbon dioxide next to RuBisCO."),
            ("Why do C4 plants lose less water?",
             "Because carbon dioxide is concentrated inside the leaf, they can keep their stomata "
             "partly closed."),
            ("Which crops use the C4 pathway?",
             "Maize, sugarcane and sorghum are C4 crops and give high yields in warm climates."),
            ("How important are C4 plants for production on land?",
             "Only about three percent of flowering plant species are C4, yet they account for "
             "roughly a quarter of terrestrial primary production."),
        ],
    },
]

SUMMARIES_PER_DOCUMENT = (6, 5, 4)
QUESTIONS_PER_SUMMARY = 4
QA_PER_KEY_FACT = 2
DETAILED_OPENINGS = (
    "The document explains {topic}.",
    "This text gives an account of {topic}.",
    "The passage describes {topic} in some detail.",
    "The document is about {topic}.",
    "This is a detailed summary of {topic}.",
    "The text sets out {topic}.",
)
DETAILED_LINKS = ("It states that", "It adds that", "It also notes that", "Further,", "Finally,")
SEED_COLUMNS = {
    "domain": DOMAIN,
    "icl_document": "The printing press was developed by Johannes Gutenberg around 1440.",
    "icl_query_1": "Who developed the printing press?",
    "icl_query_2": "When was the printing press developed?",
    "icl_query_3": "Why was the printing press important?",
}


def sentences(text: str) -> list[str]:
    parts = [s.strip() for s in text.split(". ")]
    return [p if p.endswith(".") else p + "." for p in parts if p]


def extractive_summaries(doc: dict, count: int) -> list[str]:
    body = sentences(doc["text"])
    summaries = []
    for k in range(count):
        picked = sorted(random.Random(f"{doc['outline']}/{k}").sample(range(len(body)), 4))
        summaries.append(" ".join(body[i] for i in picked))
    return summaries


def detailed_summaries(doc: dict, count: int) -> list[str]:
    summaries = []
    for k in range(count):
        facts = doc["facts"][k % len(doc["facts"]):] + doc["facts"][:k % len(doc["facts"])]
        parts = [DETAILED_OPENINGS[k].format(topic=doc["outline"][0].lower() + doc["outline"][1:])]
        for link, fact in zip(DETAILED_LINKS, facts):
            parts.append(f"{link} {fact[0].lower()}{fact[1:]}")
        summaries.append(" ".join(parts))
    return summaries


def chat(content: str) -> list[dict]:
    return [{"role": "user", "content": content}]


def reply(content: str, reasoning: str | None = None) -> list[dict]:
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return [message]


def marked(answer: str, k: int) -> str:
    """Teachers often leave their answer markers in; mixing removes them."""
    return (f"[ANSWER] {answer} [END]", f"{answer}\n[END]", answer)[k % 3]


def summary_rows(doc: dict, summaries: list[str], set_name: str, old: bool) -> list[dict]:
    judgement = "faithfulness_judgement" if set_name == "extractive_summary" else "faithfulness_judgment"
    rows = []
    for k, summary in enumerate(summaries):
        for j in range(QUESTIONS_PER_SUMMARY):
            question, answer = doc["qa"][(k + j) % len(doc["qa"])]
            response = marked(answer, k + j)
            row = {"document_outline": doc["outline"], **SEED_COLUMNS}
            if old:
                reasoning = (f"The question asks: {question} The summary answers it directly."
                             if (k + j) % 2 == 0 else None)
                row.update({
                    "raw_document": doc["text"],
                    f"{set_name}_prompt": chat(f"Summarise the document.\n\n{doc['text']}"),
                    f"raw_{set_name}": reply(summary),
                    f"raw_{set_name}_content": summary,
                    "document": summary,
                    "question_prompt": chat(f"Write questions about:\n{summary}"),
                    "raw_questions": reply(question),
                    "question": question,
                    "response_prompt": chat(f"{summary}\n\nAnswer: {question}"),
                    "response_dict": reply(response, reasoning),
                    "response": response,
                    "faithfulness_prompt": chat(f"Is this faithful?\n{summary}\n{answer}"),
                    "raw_faithfulness": reply("Explanation: supported.\nAnswer: YES"),
                    "faithfulness_explanation": "Every claim is supported by the document.",
                    judgement: "YES",
                })
            else:
                row.update({
                    "raw_document": doc["text"], "document": summary, "question": question,
                    "response": response,
                    "faithfulness_explanation": "Every claim is supported by the document.",
                    "faithfulness_judgment": "YES",
                })
            rows.append(row)
    return rows


def key_fact_qa(doc: dict, i: int) -> list[tuple[str, str]]:
    """The Q&A pairs of key fact i: one of the document's questions, one on the fact itself."""
    topic = doc["outline"][0].lower() + doc["outline"][1:]
    return [doc["qa"][i % len(doc["qa"])],
            (f"What does key fact {i + 1} state about {topic}?", doc["facts"][i])][:QA_PER_KEY_FACT]


def key_facts_rows(doc: dict, old: bool) -> list[dict]:
    block = "\n".join(f"{i}. {fact}" for i, fact in enumerate(doc["facts"], start=1))
    rows = []
    for i, fact in enumerate(doc["facts"]):
        for j, (question, answer) in enumerate(key_fact_qa(doc, i)):
            row = {"document_outline": doc["outline"], **SEED_COLUMNS, "document": block,
                   "key_fact": fact, "raw_key_fact_qa": f"[QUESTION]\n{question}\n[ANSWER]\n{answer}",
                   "question": question, "response": marked(answer, i + j)}
            if old:
                row.update({
                    "raw_document": doc["text"],
                    "icl_document": [SEED_COLUMNS["icl_document"]],  # a list in some seeds
                    "key_facts_prompt": chat(f"List the key facts of:\n{doc['text']}"),
                    "raw_key_facts": reply(block),
                    "key_fact_qa_prompt": chat(f"Write Q&A pairs about: {fact}"),
                    "response_dict": reply(answer),
                })
            rows.append(row)
    return rows


def document_qa_rows(doc: dict, old: bool) -> list[dict]:
    rows = []
    for j, (question, answer) in enumerate(doc["qa"]):
        row = {"document_outline": doc["outline"], **SEED_COLUMNS, "document": doc["text"],
               "question": question, "response": marked(answer, j),
               "faithfulness_explanation": "The answer restates the document.",
               "faithfulness_judgment": "YES"}
        if old:
            row.update({
                "base_document": doc["text"],
                "question_prompt": chat(f"Write questions about:\n{doc['text']}"),
                "raw_questions": reply(question),
                "response_prompt": chat(f"{doc['text']}\n\nAnswer: {question}"),
                "response_dict": reply(answer),
            })
        rows.append(row)
    return rows


LAYOUTS = {
    # set → True for the sdg_hub 0.4 – 0.9.0 layout, False for 0.9.1+
    "mixed": {"extractive_summary": True, "detailed_summary": False, "key_facts_to_qa": True,
              "document_based_qa": False},
    "old": dict.fromkeys(("extractive_summary", "detailed_summary", "key_facts_to_qa",
                          "document_based_qa"), True),
    "new": dict.fromkeys(("extractive_summary", "detailed_summary", "key_facts_to_qa",
                          "document_based_qa"), False),
}


def respelled(text: str) -> str:
    """The same text with other whitespace, as a run that kept the document's line breaks
    writes it."""
    return text.replace(". ", ".\n", 3) + "\n"


def untidy(sets: dict[str, list[dict]]) -> None:
    """What real sdg_hub output holds and mixing must handle: exact duplicate Q&A pairs (the
    teacher repeating itself) and whitespace variants of one raw document or summary."""
    def rows_of(doc: int, summary: int) -> int:  # first row of a summary in a summary set
        return (sum(SUMMARIES_PER_DOCUMENT[:doc]) + summary) * QUESTIONS_PER_SUMMARY

    extractive = sets["extractive_summary"]
    # the last six rows of the first document: two of its fifth summary, all of its sixth
    for row in extractive[rows_of(0, 4) + 2:rows_of(0, 6)]:
        row["raw_document"] = respelled(row["raw_document"])
    first = rows_of(1, 0)  # the first summary of the second document asks its first question twice
    extractive.insert(first + 1, dict(extractive[first]))
    detailed = sets["detailed_summary"][rows_of(2, 1) + 1]
    detailed["document"] = detailed["document"] + "\n"
    key_facts = sets["key_facts_to_qa"]
    first_document_rows = len(DOCUMENTS[0]["facts"]) * QA_PER_KEY_FACT
    key_facts.insert(first_document_rows, dict(key_facts[0]))


def renamed(row: dict) -> dict:
    """A row under the other names mixing reads: the summary as `summary` and the raw document
    as `document` (the naming of a revision of sdg_hub's knowledge-mixing example), and the
    teacher's reasoning in the flat column sdg_hub 0.3's parser wrote."""
    row = dict(row)
    if "raw_document" in row:
        row["summary"], row["document"] = row["document"], row.pop("raw_document")
    reply = row.pop("response_dict", None)
    if reply and reply[0].get("reasoning_content"):
        row["parse_response_dict_reasoning_content"] = reply[0]["reasoning_content"]
    return row


def build_sets(layout: str = "mixed") -> dict[str, list[dict]]:
    if layout == "renamed":
        return {name: [renamed(row) if name != "document_based_qa" else row for row in rows]
                for name, rows in build_sets("old").items()}
    old = LAYOUTS[layout]
    sets: dict[str, list[dict]] = {name: [] for name in old}
    for doc, count in zip(DOCUMENTS, SUMMARIES_PER_DOCUMENT):
        sets["extractive_summary"] += summary_rows(
            doc, extractive_summaries(doc, count), "extractive_summary", old["extractive_summary"])
        sets["detailed_summary"] += summary_rows(
            doc, detailed_summaries(doc, count), "detailed_summary", old["detailed_summary"])
        sets["key_facts_to_qa"] += key_facts_rows(doc, old["key_facts_to_qa"])
        sets["document_based_qa"] += document_qa_rows(doc, old["document_based_qa"])
    untidy(sets)
    return sets


def write_step_03(output: Path, layout: str = "mixed") -> None:
    for name, rows in build_sets(layout).items():
        folder = output / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "gen.jsonl", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, nargs="?", default=Path(__file__).parent / "step_03")
    parser.add_argument("--layout", choices=sorted([*LAYOUTS, "renamed"]), default="mixed")
    args = parser.parse_args()
    write_step_03(args.output, args.layout)
    print(f"wrote {args.output} ({args.layout} layout)")


if __name__ == "__main__":
    main()
