"""How many copies of each sample a cut takes under a recipe: pure arithmetic on seeded orders.

Every set (and every replay source) has a seeded order of its samples, a permutation fixed by
the seed and the samples' content. Taking `k` samples of a set means walking that order
cyclically: k = 2.5 × n gives every sample twice and the first half of the order a third time;
k = 0.5 × n gives the first half once (sampling without replacement).
"""
from __future__ import annotations

import hashlib
import heapq
import math

from .errors import ParameterError

MAX_COPIES = 100
"""The most copies of one sample a recipe may ask for: a set's weight, or what a token target or
a replay ratio works out to. More is a mistake (and would not fit in memory)."""


def seeded_order(keys: list[bytes], seed: int, purpose: str) -> list[int]:
    """Positions of `keys` in the order of sha256(seed, purpose, key); equal keys keep their
    input order. Content keys make the order independent of file order and sharding."""
    prefix = f"{seed}\0{purpose}\0".encode()
    return sorted(range(len(keys)), key=lambda i: (hashlib.sha256(prefix + keys[i]).digest(), i))


def weighted_count(weight: float, samples: int) -> int:
    """Samples a weight takes from a set: weight × samples, rounded half up."""
    return math.floor(weight * samples + 0.5)


def copies(order: list[int], taken: int) -> list[int]:
    """Per position: how often it is taken when the first `taken` steps of the cyclic walk over
    `order` are taken."""
    if not order:
        return []
    full, rest = divmod(taken, len(order))
    result = [full] * len(order)
    for position in order[:rest]:
        result[position] += 1
    return result


def take_for_tokens(streams: list[tuple[list[int], float]], target: int, name: str) -> list[int]:
    """Per stream (its samples' token lengths in seeded order, and its weight): how many steps
    to take so the total lands as close to `target` tokens as whole samples allow, keeping the
    streams' step counts in the ratio of weight × size. Stream i's step j is due at
    (j + ½) / (weight × size); steps are taken in due order, and the walk stops at the step
    that brings the total closest to the target (within half a sample). A target that would take
    some sample more than MAX_COPIES times is an error naming `name`."""
    weighted = sum(weight * sum(lengths) for lengths, weight in streams if weight > 0)
    heaviest = max((weight for lengths, weight in streams if lengths and weight > 0), default=0)
    if weighted and target / weighted * heaviest > MAX_COPIES:
        raise ParameterError(
            f"{name}: {target:,} tokens would take each sample about "
            f"{target / weighted * heaviest:,.0f} times from the {weighted:,.0f} (weighted) tokens "
            f"there are (at most {MAX_COPIES}); lower it, or give more data")
    taken = [0] * len(streams)
    heap = [(0.5 / (weight * len(lengths)), i) for i, (lengths, weight) in enumerate(streams)
            if lengths and weight > 0]
    heapq.heapify(heap)
    total = 0
    while heap and total < target:
        _, i = heapq.heappop(heap)
        lengths, weight = streams[i]
        step = lengths[taken[i] % len(lengths)]
        if total + step - target > target - total:  # stopping here is closer than overshooting
            break
        total += step
        taken[i] += 1
        heapq.heappush(heap, ((taken[i] + 0.5) / (weight * len(lengths)), i))
    return taken


def held_out(order: list[int], fraction: float) -> set[int]:
    """Positions held out for validation: the first fraction × n of the seeded order."""
    return set(order[:weighted_count(fraction, len(order))])


def fits(rows: list[int], lengths: list[int], min_seq_len: int,
         max_seq_len: int | None) -> list[int]:
    """The rows the trainer keeps: min_seq_len ≤ length < max_seq_len."""
    return [i for i in rows if min_seq_len <= lengths[i]
            and (max_seq_len is None or lengths[i] < max_seq_len)]


def length_account(lengths: list[int], rows: list[int], fitting: list[int], recipe) -> dict:
    """The rows dropped for their length, too short and too long apart."""
    dropped = sorted(set(rows) - set(fitting))
    short = [i for i in dropped if lengths[i] < recipe.min_seq_len]
    return {"under_length": _tokens(lengths, short),
            "over_length": _tokens(lengths, sorted(set(dropped) - set(short)))}


def repeated(ids: list[bytes]) -> list[bool]:
    """Per row: are its messages an earlier row's (an exact duplicate)?"""
    seen: set[bytes] = set()
    flags = []
    for key in ids:
        flags.append(key in seen)
        seen.add(key)
    return flags


def _tokens(lengths: list[int], rows) -> dict:
    rows = list(rows)
    return {"samples": len(rows), "tokens": sum(lengths[i] for i in rows)}


def knowledge_copies(sets: list[str], lengths: list[int], ids: list[bytes], repeats: list[bool],
                     recipe, set_names: tuple[str, ...]) -> tuple[list[int], list[bool], dict]:
    """For the rows of one cut (their set, token length, sample id, and whether they repeat an
    earlier row's messages): how many copies of each go into training, which are held out for
    validation, and a per-set account of both. Order of work: duplicates out (with dedup;
    counted either way), rows too short or too long out, a fraction of the distinct samples
    held out for validation, then weights (or the token target) on the rest."""
    members: dict[str, list[int]] = {}
    for row, set_name in enumerate(sets):
        members.setdefault(set_name, []).append(row)
    copies_per_row, held = [0] * len(sets), [False] * len(sets)
    report, streams = {}, []
    for name in (n for n in set_names if n in members):
        rows = members[name]
        duplicates = [i for i in rows if repeats[i]]
        candidates = [i for i in rows if not repeats[i]] if recipe.dedup else rows
        fitting = fits(candidates, lengths, recipe.min_seq_len, recipe.max_seq_len)
        # Held out by content, so a sample that occurs twice is not on both sides.
        distinct = list(dict.fromkeys(ids[i] for i in fitting))
        held_ids = {distinct[p] for p in held_out(
            seeded_order(distinct, recipe.seed, f"validation:{name}"), recipe.validation_fraction)}
        training = [i for i in fitting if ids[i] not in held_ids]
        for i in fitting:
            held[i] = ids[i] in held_ids
        order = seeded_order([ids[i] for i in training], recipe.seed, f"weight:{name}")
        streams.append((name, training, order))
        report[name] = {
            "weight": recipe.weight(name),
            "in_cut": _tokens(lengths, rows),
            "duplicates": _tokens(lengths, duplicates),
            **length_account(lengths, candidates, fitting, recipe),
            "validation": _tokens(lengths, (i for i in fitting if held[i])),
        }
    if recipe.target_tokens is None:
        taken = [weighted_count(recipe.weight(name), len(training)) for name, training, _ in streams]
    else:
        taken = take_for_tokens([([lengths[training[p]] for p in order], recipe.weight(name))
                                 for name, training, order in streams], recipe.target_tokens,
                                f"recipe target_tokens {recipe.target_tokens:,}")
    for (name, training, order), count in zip(streams, taken):
        for position, k in enumerate(copies(order, count)):
            copies_per_row[training[position]] = k
        report[name]["mixed"] = {"samples": count, "tokens": sum(
            copies_per_row[i] * lengths[i] for i in training)}
    return copies_per_row, held, report


def replay_copies(lengths: list[int], ids: list[bytes], token_ratio: float, knowledge_tokens: int,
                  recipe, purpose: str, name: str) -> tuple[list[int], dict]:
    """Copies of each row of one replay source so its tokens come within half a sample of
    token_ratio × the cut's knowledge tokens (cycling through the source if it is short)."""
    rows = list(range(len(lengths)))
    fitting = fits(rows, lengths, recipe.min_seq_len, recipe.max_seq_len)
    order = seeded_order([ids[i] for i in fitting], recipe.seed, purpose)
    target = round(token_ratio * knowledge_tokens)
    [taken] = take_for_tokens([([lengths[fitting[p]] for p in order], 1.0)], target, name)
    copies_per_row = [0] * len(lengths)
    for position, k in enumerate(copies(order, taken)):
        copies_per_row[fitting[position]] = k
    return copies_per_row, {
        "token_ratio": token_ratio,
        "target_tokens": target,
        "available": _tokens(lengths, rows),
        **length_account(lengths, rows, fitting, recipe),
        "mixed": {"samples": taken, "tokens": sum(k * n for k, n in zip(copies_per_row, lengths))},
    }
