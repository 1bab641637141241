"""Cut sizes, feasibility and the seeded, nested summary selection
(docs/behaviour.md#feasibility, #sampling, #nesting)."""
import random

import pyarrow as pa
import pytest

from knowledge_mixing.errors import ParameterError
from knowledge_mixing.sampling import (
    cut_mask,
    document_id,
    parse_cut_sizes,
    plan_cuts,
    rank_rows,
    summaries_per_raw_document,
    summary_sort_key,
    text_id,
)

SAMPLED = ("extractive_summary",)


def test_parse_cut_sizes_sorts_and_accepts_spaces():
    assert parse_cut_sizes("10, 1,5") == [1, 5, 10]
    assert parse_cut_sizes(" 7 ") == [7]


def test_parse_cut_sizes_takes_lists_and_kfps_whole_floats():
    assert parse_cut_sizes([5.0, 1]) == [1, 5]
    assert parse_cut_sizes((10, 5)) == [5, 10]
    assert parse_cut_sizes(4) == [4]


@pytest.mark.parametrize("text,item", [("5,x", "item 2 ('x')"), ("0", "item 1 ('0')"),
                                       ("1,-3", "item 2 ('-3')"), ("1.5", "item 1 ('1.5')"),
                                       ("", "item 1 ('')"), ("1,,5", "item 2 ('')"),
                                       ("²", "item 1 ('²')"), ("+3", "item 1 ('+3')")])
def test_parse_cut_sizes_names_the_bad_item(text, item):
    with pytest.raises(ParameterError) as raised:
        parse_cut_sizes(text)
    assert str(raised.value) == (f"cut_sizes: {item} of {text!r} is not a positive integer; give "
                                 "a comma-separated list such as 1,5,10")


def test_parse_cut_sizes_names_the_setting_it_reads():
    with pytest.raises(ParameterError, match=r"^CUT_SIZES: item 2 \('x'\) of '5,x'"):
        parse_cut_sizes("5,x", "CUT_SIZES")
    with pytest.raises(ParameterError, match="^--cut-sizes: 3 given more than once"):
        parse_cut_sizes("3,3", "--cut-sizes")


@pytest.mark.parametrize("sizes,message", [
    ([], "cut_sizes: give at least one cut size, such as [1, 5, 10]"),
    ([0], "cut_sizes: 0 is not an integer ≥ 1"),
    ([2.5], "cut_sizes: 2.5 is not an integer ≥ 1"),
    ([True], "cut_sizes: True is not an integer ≥ 1"),
    ([float("inf")], "cut_sizes: inf is not an integer ≥ 1"),
    ([None], "cut_sizes: None is not an integer ≥ 1"),
    ([5, 5], "cut_sizes: 5 given more than once"),
    ([1, 5.0, 5], "cut_sizes: 5 given more than once"),
])
def test_parse_cut_sizes_rejects_lists(sizes, message):
    with pytest.raises(ParameterError) as raised:
        parse_cut_sizes(sizes)
    assert str(raised.value) == message


def test_documents_differing_only_in_whitespace_are_one_document():
    one = document_id("The stone was found in 1799.")
    assert document_id("  The stone\twas found\n\nin 1799.\n") == one
    assert document_id("The\u00a0stone was\u2003found in\u20281799.") == one  # Unicode spaces
    assert document_id("The stone was found in1799.") != one
    assert document_id("the stone was found in 1799.") != one
    assert document_id(None) is None
    assert document_id("plain text") == text_id("plain text")  # tidy text: its own text_id


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


def test_text_id_is_a_16_byte_digest():
    assert len(text_id("a")) == 16 and text_id("a") == text_id("a") != text_id("b")
    assert text_id(None) is None


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


def test_ranks_follow_the_seeded_sort_key():
    sets, raws, docs = corpus((3,), questions=1)
    ranks, _ = rank_rows(sets, raws, docs, SAMPLED, seed=5)
    keys = [summary_sort_key(5, "extractive_summary", r, d) for r, d in zip(raws, docs)]
    assert ranks == [sorted(keys).index(k) for k in keys]


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


def test_cut_mask_takes_ranks_below_the_cut_and_the_first_qa_pairs():
    ranks = pa.array([0, 0, 1, 1, 2, 0], pa.int32())
    qa = pa.array([0, 3, 0, 2, 0, 0], pa.int32())
    assert cut_mask(ranks, qa, 1, 3).to_pylist() == [True, False, False, False, False, True]
    assert cut_mask(ranks, qa, 2, 3).to_pylist() == [True, False, True, True, False, True]
    assert cut_mask(ranks, qa, 2, 1).to_pylist() == [True, False, True, False, False, True]
    assert cut_mask(ranks, qa, 3, 4).to_pylist() == [True] * 6


def test_feasibility_uses_the_average_number_of_summaries():
    sets, raws, docs = corpus((6, 5, 4))
    averages = summaries_per_raw_document(sets, raws, docs, SAMPLED)
    assert averages == {"extractive_summary": 5.0}
    plan = plan_cuts([1, 5, 10], {"extractive_summary": 5.0, "detailed_summary": 4.5})
    assert plan.feasible == [1]
    assert plan.infeasible[10] == ("extractive_summary averages 5.00 summaries per raw document "
                                   "(< 10); detailed_summary averages 4.50 summaries per raw "
                                   "document (< 10)")
    assert plan.infeasible[5] == "detailed_summary averages 4.50 summaries per raw document (< 5)"


def test_averages_count_distinct_summaries_per_set_in_set_order():
    sets = ["detailed_summary", "extractive_summary", "extractive_summary", "key_facts_to_qa"]
    raws = [ident("r1"), ident("r1"), ident("r2"), ident("r1")]
    docs = [ident("d"), ident("a"), ident("a"), ident("k")]
    assert list(summaries_per_raw_document(sets, raws, docs,
                                           ("extractive_summary", "detailed_summary")).items()) \
        == [("extractive_summary", 1.0), ("detailed_summary", 1.0)]


def test_no_feasible_cut_fails_naming_sets_and_averages():
    with pytest.raises(ParameterError) as raised:
        plan_cuts([10, 20], {"extractive_summary": 5.0, "detailed_summary": 4.33})
    assert str(raised.value) == (
        "cut_sizes: no cut size in [10, 20] is feasible. Distinct summaries per raw document on "
        "average: extractive_summary 5.00, detailed_summary 4.33. Every sampled set must reach "
        "the cut size; choose cut sizes ≤ 4")


def test_without_sampled_sets_every_cut_is_feasible():
    assert plan_cuts([1, 50], {}).feasible == [1, 50]
