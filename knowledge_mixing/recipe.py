"""The mixing recipe: what goes into every cut, in one document (YAML or JSON).

A recipe is read from a file (`pipeline.py run --recipe FILE`) or from the `recipe` pipeline
parameter, laid over the defaults (and, on `run`, under the command line's flags), validated key
by key, and recorded with every output in its canonical form with a sha256 fingerprint
(docs/behaviour.md#recipe-order). Defaults and bounds are the settings table's
(parameters.py).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace

import yaml

from .errors import ParameterError, RecipeError
from .numbers import number
from .parameters import BY_NAME, default
from .sets import SET_NAMES
from .weighting import MAX_COPIES


@dataclass(frozen=True)
class ReplaySource:
    path: str
    """A chat JSONL file (rows with `messages`) on the filesystem the mixing tasks see."""
    token_ratio: float
    """Replay tokens per knowledge token of the cut."""


@dataclass(frozen=True)
class Recipe:
    seed: int = default("seed")
    cut_sizes: tuple[int, ...] = tuple(default("cut_sizes"))
    qa_per_doc: int = default("qa_per_doc")
    dedup: bool = default("dedup")
    """Exact-duplicate samples (the same messages) are removed, the first in input order kept;
    Q&A indexes count distinct pairs (docs/behaviour.md#duplicates)."""
    sets: tuple[tuple[str, float], ...] = tuple((name, 1.0) for name in SET_NAMES)
    """Weight per knowledge set, in set order: 1 as sampled, 2.5 two copies and a seeded half,
    0.5 a seeded half, 0 left out."""
    replay: tuple[ReplaySource, ...] = ()
    min_seq_len: int = default("min_seq_len")
    """Samples with token_length below it are dropped (and counted), as the trainer drops them."""
    max_seq_len: int | None = default("max_seq_len")
    """Samples with token_length ≥ it are dropped (and counted), as the trainer would drop them."""
    target_tokens: int | None = default("target_tokens")
    """Scale the knowledge sets (keeping their weight ratios) to about this many tokens per cut."""
    shuffle: bool = default("shuffle")
    validation_fraction: float = default("validation_fraction")
    """Seeded share of each set's Q&A rows held out of training into a validation file."""

    def weight(self, set_name: str) -> float:
        return dict(self.sets)[set_name]

    def to_dict(self) -> dict:
        """The effective recipe: every key, in the documented order."""
        return {
            "seed": self.seed,
            "cut_sizes": list(self.cut_sizes),
            "qa_per_doc": self.qa_per_doc,
            "dedup": self.dedup,
            "sets": dict(self.sets),
            "replay": [{"path": r.path, "token_ratio": r.token_ratio} for r in self.replay],
            "min_seq_len": self.min_seq_len,
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
MAX_RECIPE_BYTES = 1 << 20
"""A recipe is a few lines; a larger document is refused before it is parsed."""


class _RecipeLoader(yaml.SafeLoader):
    """YAML without anchors and aliases (a few lines of aliases can expand to gigabytes) and
    without duplicate keys (the last one would win unseen)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (&, *) are not allowed in a recipe",
                event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_recipe_text(text: str, source: str) -> dict:
    """A recipe document (YAML, of which JSON is a subset) as a mapping; an empty one is {}."""
    if len(text.encode("utf-8")) > MAX_RECIPE_BYTES:
        raise RecipeError(f"recipe {source}: {len(text.encode('utf-8')):,} bytes, more than a "
                          f"recipe needs (limit {MAX_RECIPE_BYTES:,}); is this the right file?")
    try:
        mapping = yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise RecipeError(f"recipe {source}:{where} not valid YAML or JSON "
                          f"({getattr(e, 'problem', None) or e})") from None
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise RecipeError(f"recipe {source}: expected a mapping of keys ({', '.join(RECIPE_KEYS)}), "
                          f"got {type(mapping).__name__}")
    return mapping


def _checked(key: str, value, source: str):
    """A key's value, checked as its setting is (parameters.py); null where the default is."""
    if value is None and BY_NAME[key].default is None:
        return None
    return BY_NAME[key].parse(value, f"recipe {source}: {key}")


def _weights(value, source: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise RecipeError(f"recipe {source}: sets must map set names to weights, got {value!r}")
    weights = {}
    for name, weight in value.items():
        if name not in SET_NAMES:
            raise RecipeError(f"recipe {source}: sets.{name} is not a knowledge set; "
                              f"use {', '.join(SET_NAMES)}")
        weights[name] = number(weight, f"recipe {source}: sets.{name}", low=0, high=MAX_COPIES)
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
        ratio = number(item.get("token_ratio"), f"recipe {source}: {key}.token_ratio", low=0,
                       high=1)
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
            if key == "sets":
                changes[key] = tuple({**dict(base.sets), **_weights(value, source)}.items())
            elif key == "replay":
                changes[key] = _replay(value, source)
            elif BY_NAME[key].type is bool:
                if not isinstance(value, bool):
                    raise RecipeError(f"recipe {source}: {key} = {value!r} is not true or false")
                changes[key] = value
            elif key == "cut_sizes":
                changes[key] = tuple(_checked(key, value, source))
            else:
                changes[key] = _checked(key, value, source)
        except RecipeError:
            raise
        except ParameterError as e:  # the settings' own checks: name the recipe as the source
            raise RecipeError(str(e)) from e
    recipe = replace(base, **changes)
    if recipe.max_seq_len is not None and recipe.min_seq_len >= recipe.max_seq_len:
        raise RecipeError(f"recipe {source}: min_seq_len {recipe.min_seq_len} is not below "
                          f"max_seq_len {recipe.max_seq_len}, so no sample would be kept; lower "
                          "min_seq_len or raise max_seq_len")
    if not any(weight > 0 for _, weight in recipe.sets):
        raise RecipeError(f"recipe {source}: every set has weight 0, so no cut would hold any "
                          "knowledge; give at least one set a weight > 0")
    return recipe


def recipe_from_text(text: str, base: Recipe = Recipe(), source: str = "parameter") -> Recipe:
    return apply_recipe(read_recipe_text(text, source), base, source)


def effective_recipe(cut_sizes, qa_per_doc, seed, recipe_text: str,
                     training_max_seq_len=0) -> Recipe:
    """The recipe of a pipeline run: its cut_sizes, qa_per_doc and seed parameters, with the
    keys of its `recipe` parameter laid over them (a key in `recipe` wins); where the recipe
    sets no max_seq_len, the trainer's (`training_max_seq_len`, 0 for none)."""
    base = apply_recipe({"cut_sizes": list(cut_sizes), "qa_per_doc": qa_per_doc, "seed": seed},
                        source="parameters")
    recipe = recipe_from_text(recipe_text or "", base, source="parameter `recipe`")
    trainer = number(training_max_seq_len, "training_max_seq_len", integer=True, low=0)
    if recipe.max_seq_len is None and trainer:
        return replace(recipe, max_seq_len=trainer)
    return recipe

