"""Copies per sample under weights, token targets, hold-out and replay ratios: the arithmetic
on seeded orders (docs/behaviour.md#recipe-order). On real cuts: stages/test_mix.py."""
from collections import Counter
from dataclasses import replace

from knowledge_mixing.recipe import apply_recipe
from knowledge_mixing.weighting import (
    copies,
    fits,
    held_out,
    knowledge_copies,
    repeated,
    replay_copies,
    seeded_order,
    take_for_tokens,
    weighted_count,
)

SETS = ("a", "b")


def ids(n, tag=b""):
    return [tag + bytes([i]) * 15 for i in range(n)]


def test_weights_take_copies_and_a_seeded_fraction():
    order = seeded_order([bytes([i]) * 16 for i in range(5)], seed=42, purpose="weight:x")
    assert sorted(order) == list(range(5))
    assert weighted_count(2.5, 5) == 13 and weighted_count(0.5, 32) == 16
    assert weighted_count(0.5, 5) == 3  # half up
    taken = copies(order, weighted_count(2.5, 5))
    assert sum(taken) == 13 and Counter(taken) == {2: 2, 3: 3}
    assert [taken[p] for p in order] == [3, 3, 3, 2, 2]  # the extra half follows the seeded order
    assert copies(order, 0) == [0] * 5 and copies([], 3) == []
    other = seeded_order([bytes([i]) * 16 for i in range(5)], seed=7, purpose="weight:x")
    assert other != order
    assert seeded_order([bytes([i]) * 16 for i in range(5)], seed=42, purpose="weight:y") != order


def test_equal_keys_keep_their_input_order():
    order = seeded_order([b"k", b"j", b"k", b"k"], seed=1, purpose="p")
    assert [p for p in order if p != 1] == [0, 2, 3]


def test_take_for_tokens_lands_within_half_a_sample_and_keeps_the_ratios():
    a, b = [100, 120, 80, 90] * 10, [300, 200] * 10
    for target in (0, 50, 1000, 7777, 30000):
        taken = take_for_tokens([(a, 2.0), (b, 1.0)], target, "target")
        total = sum(a[i % len(a)] for i in range(taken[0])) + sum(b[i % len(b)] for i in range(taken[1]))
        assert abs(total - target) <= 300 / 2
        if target > 5000:  # steps due in the ratio of weight × size: 2 × 40 to 1 × 20
            assert abs(taken[0] / taken[1] - 4) < 0.3
    assert take_for_tokens([([], 1.0), (a, 0.0)], 500, "target") == [0, 0]


def test_held_out_and_fits():
    assert held_out([3, 1, 0, 2], 0.5) == {3, 1}
    assert held_out([3, 1, 0, 2], 0.0) == set()
    assert held_out([3, 1, 0, 2], 0.3) == {3}  # 1.2 rounds to 1
    assert fits([0, 1, 2], [10, 20, 30], 0, 20) == [0]  # 20 tokens is too long for 20
    assert fits([0, 1, 2], [10, 20, 30], 0, None) == [0, 1, 2]
    assert fits([0, 1, 2], [10, 20, 30], 20, None) == [1, 2]  # 20 ≤ length: kept


def test_knowledge_copies_in_recipe_order():
    """Over-length rows out, then a hold-out of distinct samples, then weights on the rest;
    duplicates counted (and kept without dedup)."""
    sets = ["a"] * 6 + ["b"] * 4
    lengths = [10, 20, 30, 40, 50, 60, 5, 5, 5, 5]
    sample_ids = ids(6, b"a") + ids(4, b"b")
    sample_ids[1] = sample_ids[0]  # a sample present twice
    recipe = replace(apply_recipe({"min_seq_len": 0, "max_seq_len": 55,
                                   "validation_fraction": 0.25}), sets=(("a", 2.0), ("b", 0.5)))
    copies_per_row, held, report = knowledge_copies(sets, lengths, sample_ids, repeated(sample_ids),
                                                    recipe, SETS)
    assert report["a"]["duplicates"] == {"samples": 1, "tokens": 20}
    assert report["b"]["duplicates"] == {"samples": 0, "tokens": 0}
    assert copies_per_row[5] == 0 and not held[5]  # 60 ≥ 55: dropped
    assert held[0] == held[1]  # both copies of a sample on the same side
    assert report["a"]["over_length"] == {"samples": 1, "tokens": 60}
    assert report["a"]["in_cut"] == {"samples": 6, "tokens": 210}
    # a: 4 distinct fitting samples, 1 held out (with every copy of it); b: 4, 1 held out
    assert len({sample_ids[i] for i in range(6) if held[i]}) == 1 and sum(held[6:]) == 1
    training_a = [i for i in range(5) if not held[i]]
    assert all(copies_per_row[i] == 2 for i in training_a)  # weight 2: every row twice
    assert report["a"]["mixed"] == {"samples": 2 * len(training_a),
                                    "tokens": 2 * sum(lengths[i] for i in training_a)}
    assert sum(copies_per_row[6:]) == 2 == report["b"]["mixed"]["samples"]  # half of 3, half up
    assert all(copies_per_row[i] == 0 for i in range(10) if held[i])
    assert report["a"]["validation"]["samples"] == sum(held[:6])
    assert report["a"]["weight"] == 2.0 and list(report) == ["a", "b"]


def test_dedup_removes_later_copies_before_anything_else():
    sets, lengths = ["a"] * 4, [10, 20, 30, 40]
    sample_ids = [b"x" * 16, b"y" * 16, b"x" * 16, b"x" * 16]
    assert repeated(sample_ids) == [False, False, True, True]
    recipe = replace(apply_recipe({"dedup": True, "min_seq_len": 0, "max_seq_len": 35}),
                     sets=(("a", 1.0),))
    copies_per_row, held, report = knowledge_copies(sets, lengths, sample_ids,
                                                    repeated(sample_ids), recipe, ("a",))
    assert copies_per_row == [1, 1, 0, 0] and held == [False] * 4
    assert report["a"]["duplicates"] == {"samples": 2, "tokens": 70}
    assert report["a"]["over_length"] == {"samples": 0, "tokens": 0}  # the 40 was a duplicate
    assert report["a"]["mixed"] == {"samples": 2, "tokens": 30}


def test_too_short_and_too_long_are_dropped_and_counted_apart():
    sets, lengths = ["a"] * 5, [19, 20, 21, 99, 100]
    recipe = replace(apply_recipe({"max_seq_len": 100}), sets=(("a", 1.0),))  # min_seq_len 20
    copies_per_row, _, report = knowledge_copies(sets, lengths, ids(5), [False] * 5, recipe,
                                                 ("a",))
    assert copies_per_row == [0, 1, 1, 1, 0]  # the trainer keeps 20 ≤ length < 100
    assert report["a"]["under_length"] == {"samples": 1, "tokens": 19}
    assert report["a"]["over_length"] == {"samples": 1, "tokens": 100}


def test_replay_copies_land_within_half_a_sample_of_the_ratio():
    lengths = [100, 250, 80, 5000, 120, 12]
    recipe = apply_recipe({"max_seq_len": 1000})
    copies_per_row, report = replay_copies(lengths, ids(6), 0.5, 3000, recipe, "replay:0", "replay[0]")
    assert copies_per_row[3] == copies_per_row[5] == 0  # over length, under length
    tokens = sum(k * n for k, n in zip(copies_per_row, lengths))
    assert abs(tokens - 1500) <= 250 / 2
    assert report == {"token_ratio": 0.5, "target_tokens": 1500,
                      "available": {"samples": 6, "tokens": 5562},
                      "under_length": {"samples": 1, "tokens": 12},
                      "over_length": {"samples": 1, "tokens": 5000},
                      "mixed": {"samples": sum(copies_per_row), "tokens": tokens}}
    assert replay_copies(lengths, ids(6), 0.0, 3000, recipe, "replay:0", "replay[0]")[0] == [0] * 6
