"""Cut sizes, feasibility and the seeded, nested summary selection (SPEC §2.3, §2.5, §3)."""
import random

import pytest

from knowledge_mixing.sampling import (
    ParameterError,
    parse_cut_sizes,
    plan_cuts,
    rank_rows,
    summaries_per_raw_document,
    text_id,
    validate_cut_sizes,
    validate_qa_per_doc,
)

SAMPLED = ("extractive_summary",)


def test_parse_cut_sizes_sorts_and_accepts_spaces():
    assert parse_cut_sizes("10, 1,5") == [1, 5, 10]


@pytest.mark.parametrize("text,item", [("5,x", "item 2 ('x')"), ("0", "item 1 ('0')"),
                                       ("1,-3", "item 2 ('-3')"), ("1.5", "item 1 ('1.5')"),
                                       ("", "item 1 ('')"), ("1,,5", "item 2 ('')")])
def test_parse_cut_sizes_names_the_bad_item(text, item):
    with pytest.raises(ParameterError, match=rf"cut_sizes: {item.replace('(', '[(]').replace(')', '[)]')}"):
        parse_cut_sizes(text)


@pytest.mark.parametrize("sizes", [[], [0], [2.5], [True], ["3"], [5, 5]])
def test_validate_cut_sizes_rejects(sizes):
    with pytest.raises(ParameterError, match="cut_sizes"):
        validate_cut_sizes(sizes)


def test_validate_cut_sizes_accepts_whole_floats_from_kfp():
    assert validate_cut_sizes([5.0, 1]) == [1, 5]


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3"])
def test_qa_per_doc_must_be_at_least_one(value):
    with pytest.raises(ParameterError, match="qa_per_doc"):
        validate_qa_per_doc(value)


NAMES = {}


def ident(text):
    """text_id, remembering the text so a test can read choices back."""
    NAMES[text_id(text)] = text
    return text_id(text)


def corpus(summaries_per_doc=(6, 5, 4), questions=4):
    sets, raws, docs = [], [], []
    for d, count in enumerate(summaries_per_doc):
        for s in range(count):
            for _ in range(questions):
                sets.append("extractive_summary")
                raws.append(ident(f"raw {d}"))
                docs.append(ident(f"summary {d}.{s}"))
    return sets, raws, docs


def chosen(ranks, docs, cut):
    return {NAMES[doc] for rank, doc in zip(ranks, docs) if rank < cut}


def test_cuts_are_nested_and_take_up_to_n_summaries_per_raw_document():
    sets, raws, docs = corpus()
    ranks, _ = rank_rows(sets, raws, docs, SAMPLED, seed=42)
    previous = set()
    for cut in range(1, 7):
        picked = chosen(ranks, docs, cut)
        assert previous <= picked
        for d, count in enumerate((6, 5, 4)):
            assert len({p for p in picked if p.startswith(f"summary {d}.")}) == min(cut, count)
        previous = picked


def test_selection_is_seeded_and_independent_of_row_order():
    sets, raws, docs = corpus()
    ranks, _ = rank_rows(sets, raws, docs, SAMPLED, seed=42)
    again, _ = rank_rows(sets, raws, docs, SAMPLED, seed=42)
    assert ranks == again
    order = list(range(len(docs)))
    random.Random(0).shuffle(order)
    shuffled, _ = rank_rows([sets[i] for i in order], [raws[i] for i in order],
                            [docs[i] for i in order], SAMPLED, seed=42)
    assert chosen(shuffled, [docs[i] for i in order], 2) == chosen(ranks, docs, 2)
    other_seeds = [chosen(rank_rows(sets, raws, docs, SAMPLED, seed=s)[0], docs, 2) for s in range(1, 6)]
    assert any(picked != chosen(ranks, docs, 2) for picked in other_seeds)


def test_qa_index_counts_each_summarys_pairs_in_file_order():
    sets = ["extractive_summary"] * 5 + ["key_facts_to_qa"]
    raws = [ident("r")] * 6
    docs = [ident(d) for d in ["a", "b", "a", "a", "b", "k"]]
    ranks, qa = rank_rows(sets, raws, docs, SAMPLED, seed=1)
    assert qa == [0, 0, 1, 2, 1, 0]
    assert ranks[-1] == 0  # unsampled sets: every cut takes every row


def test_feasibility_uses_the_average_number_of_summaries():
    sets, raws, docs = corpus((6, 5, 4))
    averages = summaries_per_raw_document(sets, raws, docs, SAMPLED)
    assert averages == {"extractive_summary": 5.0}
    plan = plan_cuts([1, 5, 10], {"extractive_summary": 5.0, "detailed_summary": 4.5})
    assert plan.feasible == [1]
    assert "extractive_summary averages 5.00" in plan.infeasible[10]
    assert "detailed_summary averages 4.50" in plan.infeasible[5]
    assert "extractive_summary" not in plan.infeasible[5]


def test_no_feasible_cut_fails_naming_sets_and_averages():
    with pytest.raises(ParameterError) as raised:
        plan_cuts([10, 20], {"extractive_summary": 5.0, "detailed_summary": 4.33})
    message = str(raised.value)
    assert "extractive_summary 5.00" in message and "detailed_summary 4.33" in message
    assert "cut sizes ≤ 4" in message


def test_without_sampled_sets_every_cut_is_feasible():
    assert plan_cuts([1, 50], {}).feasible == [1, 50]
