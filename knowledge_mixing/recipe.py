"""The mixing recipe: what goes into every cut, in one document (YAML or JSON).

A recipe is read from a file (`pipeline.py run --recipe FILE`) or from the `recipe` pipeline
parameter, laid over the defaults (and, on `run`, under the command line's flags), validated key
by key, and recorded with every output in its canonical form with a sha256 fingerprint.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace

import yaml

from .sampling import ParameterError, parse_cut_sizes, validate_cut_sizes, validate_qa_per_doc
from .sets import SET_NAMES


class RecipeError(ParameterError):
    """A recipe key or value is wrong; the message names the key and the recipe's source."""


@dataclass(frozen=True)
class ReplaySource:
    path: str
    """A chat JSONL file (rows with `messages`) on the filesystem the mixing tasks see."""
    token_ratio: float
    """Replay tokens per knowledge token of the cut."""


@dataclass(frozen=True)
class Recipe:
    seed: int = 42
    cut_sizes: tuple[int, ...] = (1, 5, 10)
    qa_per_doc: int = 3
    sets: tuple[tuple[str, float], ...] = tuple((name, 1.0) for name in SET_NAMES)
    """Weight per knowledge set, in set order: 1 as sampled, 2.5 two copies and a seeded half,
    0.5 a seeded half, 0 left out."""
    replay: tuple[ReplaySource, ...] = ()
    max_seq_len: int | None = None
    """Samples with token_length ≥ it are dropped (and counted), as the trainer would drop them."""
    target_tokens: int | None = None
    """Scale the knowledge sets (keeping their weight ratios) to about this many tokens per cut."""
    shuffle: bool = False
    validation_fraction: float = 0.0
    """Seeded share of each set's Q&A rows held out of training into a validation file."""

    def weight(self, set_name: str) -> float:
        return dict(self.sets)[set_name]

    def to_dict(self) -> dict:
        """The effective recipe: every key, in the documented order."""
        return {
            "seed": self.seed,
            "cut_sizes": list(self.cut_sizes),
            "qa_per_doc": self.qa_per_doc,
            "sets": dict(self.sets),
            "replay": [{"path": r.path, "token_ratio": r.token_ratio} for r in self.replay],
            "max_seq_len": self.max_seq_len,
            "target_tokens": self.target_tokens,
            "shuffle": self.shuffle,
            "validation_fraction": self.validation_fraction,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: equal fingerprints, equal recipes."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


RECIPE_KEYS = tuple(f.name for f in fields(Recipe))
REPLAY_KEYS = ("path", "token_ratio")


def read_recipe_text(text: str, source: str) -> dict:
    """A recipe document (YAML, of which JSON is a subset) as a mapping; an empty one is {}."""
    try:
        mapping = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecipeError(f"recipe {source}:{where} not valid YAML or JSON "
                          f"({getattr(e, 'problem', None) or e})") from e
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise RecipeError(f"recipe {source}: expected a mapping of keys ({', '.join(RECIPE_KEYS)}), "
                          f"got {type(mapping).__name__}")
    return mapping


def _number(value, key: str, source: str, *, integer: bool = False, low=None, high=None,
            high_open: bool = False, nullable: bool = False):
    if value is None and nullable:
        return None
    kind = "an integer" if integer else "a number"
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) \
        and (not integer or value == int(value))
    if ok and low is not None:
        ok = value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = ""
        if low is not None and high is not None:
            bounds = f" in [{low}, {high}{')' if high_open else ']'}"
        elif low is not None:
            bounds = f" ≥ {low}"
        raise RecipeError(f"recipe {source}: {key} = {value!r} is not {kind}{bounds}"
                          + (" (or null)" if nullable else ""))
    return int(value) if integer else float(value)


def _weights(value, source: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise RecipeError(f"recipe {source}: sets must map set names to weights, got {value!r}")
    weights = {}
    for name, weight in value.items():
        if name not in SET_NAMES:
            raise RecipeError(f"recipe {source}: sets.{name} is not a knowledge set; "
                              f"use {', '.join(SET_NAMES)}")
        weights[name] = _number(weight, f"sets.{name}", source, low=0)
    return weights


def _replay(value, source: str) -> tuple[ReplaySource, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RecipeError(f"recipe {source}: replay must be a list of {{path, token_ratio}}, "
                          f"got {value!r}")
    sources = []
    for index, item in enumerate(value):
        key = f"replay[{index}]"
        if not isinstance(item, dict):
            raise RecipeError(f"recipe {source}: {key} must be a mapping with path and "
                              f"token_ratio, got {item!r}")
        unknown = sorted(set(item) - set(REPLAY_KEYS))
        if unknown:
            raise RecipeError(f"recipe {source}: {key}.{unknown[0]} is not a replay key; use "
                              f"{', '.join(REPLAY_KEYS)}")
        path = item.get("path")
        if not isinstance(path, str) or not path:
            raise RecipeError(f"recipe {source}: {key}.path must name a chat JSONL file")
        ratio = _number(item.get("token_ratio"), f"{key}.token_ratio", source, low=0, high=1)
        sources.append(ReplaySource(path, ratio))
    return tuple(sources)


def apply_recipe(mapping: dict, base: Recipe = Recipe(), source: str = "parameter") -> Recipe:
    """`base` with the mapping's keys laid over it, every value checked."""
    unknown = sorted(set(mapping) - set(RECIPE_KEYS))
    if unknown:
        raise RecipeError(f"recipe {source}: unknown key {unknown[0]!r}; known keys: "
                          f"{', '.join(RECIPE_KEYS)}")
    changes = {}
    for key, value in mapping.items():
        try:
            if key == "seed":
                changes[key] = _number(value, key, source, integer=True)
            elif key == "cut_sizes":
                sizes = parse_cut_sizes(value) if isinstance(value, str) else validate_cut_sizes(
                    list(value) if isinstance(value, list) else [value])
                changes[key] = tuple(sizes)
            elif key == "qa_per_doc":
                changes[key] = validate_qa_per_doc(value)
            elif key == "sets":
                changes[key] = tuple({**dict(base.sets), **_weights(value, source)}.items())
            elif key == "replay":
                changes[key] = _replay(value, source)
            elif key in ("max_seq_len", "target_tokens"):
                changes[key] = _number(value, key, source, integer=True, low=1, nullable=True)
            elif key == "shuffle":
                if not isinstance(value, bool):
                    raise RecipeError(f"recipe {source}: shuffle = {value!r} is not true or false")
                changes[key] = value
            elif key == "validation_fraction":
                changes[key] = _number(value, key, source, low=0, high=1, high_open=True)
        except RecipeError:
            raise
        except ParameterError as e:  # cut_sizes, qa_per_doc: same checks as their parameters
            raise RecipeError(f"recipe {source}: {e}") from e
    recipe = replace(base, **changes)
    if not any(weight > 0 for _, weight in recipe.sets):
        raise RecipeError(f"recipe {source}: every set has weight 0, so no cut would hold any "
                          "knowledge; give at least one set a weight > 0")
    return recipe


def recipe_from_text(text: str, base: Recipe = Recipe(), source: str = "parameter") -> Recipe:
    return apply_recipe(read_recipe_text(text, source), base, source)


def effective_recipe(cut_sizes, qa_per_doc, seed, recipe_text: str) -> Recipe:
    """The recipe of a pipeline run: its cut_sizes, qa_per_doc and seed parameters, with the
    keys of its `recipe` parameter laid over them (a key in `recipe` wins)."""
    base = apply_recipe({"cut_sizes": list(cut_sizes), "qa_per_doc": qa_per_doc, "seed": seed},
                        source="parameters")
    return recipe_from_text(recipe_text or "", base, source="parameter `recipe`")

