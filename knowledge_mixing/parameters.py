"""Every setting of a mixing run, declared once.

One row per setting: its name, type, default and meaning, and where a user gives it — a
command-line flag of `run` / `submit`, an environment variable (or `.env` line, as the
knowledge-tuning notebook reads them), a key of the mixing recipe, a parameter of the compiled
pipeline. The command line, the pipeline's parameters, the environment settings, `.env.example`
and the README's settings table are all made from this table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List

from .errors import ParameterError
from .numbers import number
from .sampling import parse_cut_sizes
from .sets import FLOW_IDS, SET_NAMES
from .tokenizer import BUNDLED_TOKENIZER

STAGE = "stage"
"""A parameter of the mixing stage, and so of every pipeline that runs it."""
PIPELINE = "pipeline"
"""A parameter of the whole pipeline only (its inputs and the tokenizer)."""
BOTH = ("run", "submit")


def text(value: str, name: str) -> str:
    return value.strip()


def non_empty_text(value: str, name: str) -> str:
    if not value.strip():
        raise ParameterError(f"{name}: empty; give a value")
    return value.strip()


def boolean(value: str, name: str) -> bool:
    if value.strip().lower() not in ("true", "false"):
        raise ParameterError(f"{name}={value!r}: expected true or false (any case)")
    return value.strip().lower() == "true"


def integer(low: int | None = None, high: int | None = None) -> Callable[[str, str], int]:
    return lambda value, name: number(value, name, integer=True, low=low, high=high)


def real(low: float, high: float, high_open: bool = False) -> Callable[[str, str], float]:
    return lambda value, name: number(value, name, low=low, high=high, high_open=high_open)


def named_number(value: str, name: str) -> tuple[str, float]:
    """NAME=NUMBER of a repeatable flag, split at the last `=`."""
    key, sep, amount = value.rpartition("=")
    if not sep or not key:
        raise ParameterError(f"{name} {value!r}: expected NAME=NUMBER")
    return key, number(amount, f"{name} {value!r}")


@dataclass(frozen=True)
class Setting:
    name: str
    """The setting's name: also its pipeline parameter and recipe key, where it has them."""
    type: object
    default: object
    help: str
    flags: dict[str, str] = field(default_factory=dict)
    """Command (`run`, `submit`) → its flag."""
    parse: Callable[[str, str], object] | None = None
    """Text of a flag or variable → value; the second argument names the flag or variable.
    None: an on/off flag (`--x` / `--no-x`)."""
    variable: str | None = None
    aliases: tuple[str, ...] = ()
    """Other spellings of the variable (the notebook's)."""
    recipe_key: str | None = None
    pipeline: str | None = None
    """STAGE, PIPELINE, or None for a setting that is not a pipeline parameter."""
    pipeline_name: str | None = None
    """The pipeline parameter's name, where it differs from `name`."""
    repeatable: bool = False
    metavar: str | None = None
    shown_default: str | None = None
    """The default as the README shows it, where the value alone would mislead."""

    @property
    def parameter(self) -> str:
        return self.pipeline_name or self.name

    def shown(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, list):
            return ",".join(map(str, self.default))
        return "—" if self.default is None else str(self.default)

    def variable_text(self) -> str:
        """The default as an environment variable holds it."""
        if isinstance(self.default, bool):
            return str(self.default).lower()
        return self.shown()


def _set_input(set_name: str) -> Setting:
    return Setting(set_name, str, None,
                   f"the {set_name} set as its own JSONL file or folder (sdg_hub flow "
                   f"{FLOW_IDS[set_name]}), instead of the step-03 folder's",
                   flags={"run": f"--{set_name.replace('_', '-')}"}, parse=text,
                   pipeline=PIPELINE, pipeline_name=f"{set_name}_uri",
                   metavar="FILE.jsonl|FOLDER")


SETTINGS: tuple[Setting, ...] = (
    Setting("input", str, None, "the generation step's folder (step-03)",
            flags={"run": "--input", "submit": "--step03-uri"}, parse=text,
            pipeline=PIPELINE, pipeline_name="step03_uri",
            shown_default="`examples/step_03` (`run`)"),
    *(_set_input(name) for name in SET_NAMES),
    Setting("output", str, "output/mixed",
            "where combined_cut_{N}x.jsonl and summary.json go", flags={"run": "--output"},
            parse=text),
    Setting("seed_data_uri", str, None,
            "with a generation step: URI of the seed data (JSONL) every generation task reads "
            "(the `input_artifact` of sdg)", flags={"submit": "--seed-data-uri"}, parse=text,
            pipeline=PIPELINE),
    Setting("tokenizer", str, BUNDLED_TOKENIZER,
            "student tokenizer: a hub model id, a local directory, or bundled-qwen (offline)",
            flags=dict.fromkeys(BOTH, "--tokenizer"), parse=non_empty_text,
            variable="TOKENIZER_MODEL",
            aliases=("TOKENIZER_MODEL_NAME",), pipeline=PIPELINE),
    Setting("tokenizer_uri", str, None,
            "with --tokenizer-from-uri: URI of the tokenizer files (disconnected clusters)",
            flags={"submit": "--tokenizer-uri"}, parse=text, pipeline=PIPELINE),
    Setting("cut_sizes", List[int], [1, 5, 10],
            "comma-separated summaries per raw document, one combined_cut_{N}x.jsonl per cut",
            flags=dict.fromkeys(BOTH, "--cut-sizes"), parse=parse_cut_sizes, variable="CUT_SIZES",
            recipe_key="cut_sizes", pipeline=STAGE),
    Setting("qa_per_doc", int, 3, "Q&A pairs kept per sampled summary (the first ones, in file order)",
            flags=dict.fromkeys(BOTH, "--qa-per-doc"), parse=integer(1), variable="QA_PER_DOC",
            recipe_key="qa_per_doc", pipeline=STAGE),
    Setting("seed", int, 42, "seed of every seeded choice (summary sampling, recipes)",
            flags=dict.fromkeys(BOTH, "--seed"), parse=integer(), variable="SEED",
            recipe_key="seed", pipeline=STAGE),
    Setting("save_gpt_oss_format", bool, False,
            "drop template-echo questions and write reasoning as `thinking` (gpt-oss)",
            flags=dict.fromkeys(BOTH, "--save-gpt-oss-format"), variable="SAVE_GPT_OSS_FORMAT",
            pipeline=STAGE),
    Setting("train_cut", int, 0, "the cut handed to training; 0 = the largest feasible",
            flags=dict.fromkeys(BOTH, "--train-cut"), parse=integer(0), pipeline=STAGE),
    Setting("trust_remote_code", bool, False, "let a hub tokenizer run its own code",
            flags=dict.fromkeys(BOTH, "--trust-remote-code"), pipeline=STAGE),
    Setting("shards", int, 1,
            "token-counting tasks (pods), each taking a share of the raw documents; same output "
            "bytes", flags=dict.fromkeys(BOTH, "--shards"), parse=integer(1), pipeline=STAGE),
    Setting("training_max_seq_len", int, 0,
            "the trainer's max_seq_len: where the recipe sets no max_seq_len, samples of this "
            "many tokens or more are dropped (and counted); in a training pipeline it is "
            "train_model's parameter of that name (one value for both); 0 = none",
            flags=dict.fromkeys(BOTH, "--training-max-seq-len"), parse=integer(0),
            pipeline=STAGE),
    Setting("max_sample_chars", int, 2_000_000,
            "a row whose sample is longer (characters of outline, document, question, response "
            "and reasoning) stops the run, naming its file and line",
            flags=dict.fromkeys(BOTH, "--max-sample-chars"), parse=integer(1), pipeline=STAGE),
    Setting("check_with_trainer", bool, False,
            "run instructlab-training's own data processing on each cut where it is installed "
            "(not a dependency) and report what it accepts",
            flags=dict.fromkeys(BOTH, "--check-with-trainer"), pipeline=STAGE),
    Setting("recipe", str, "",
            "the mixing recipe, YAML or JSON (a file for the flag, its text for the parameter); "
            "the flags below override single keys", flags=dict.fromkeys(BOTH, "--recipe"),
            parse=text, pipeline=STAGE, metavar="FILE.yaml", shown_default='`""`'),
    Setting("weight", dict, None,
            "weight of a knowledge set: 2 doubles it, 0.5 keeps a seeded half, 0 leaves it out",
            flags=dict.fromkeys(BOTH, "--weight"), parse=named_number, recipe_key="sets",
            repeatable=True, metavar="SET=WEIGHT", shown_default="1 per set"),
    Setting("replay", list, None,
            "chat JSONL mixed in at RATIO × the cut's knowledge tokens (replaces the recipe's "
            "replay list)", flags=dict.fromkeys(BOTH, "--replay"), parse=named_number,
            recipe_key="replay", repeatable=True, metavar="FILE.jsonl=RATIO",
            shown_default="none"),
    Setting("dedup", bool, False,
            "remove exact-duplicate samples (the same messages), keeping the first in input "
            "order; they are counted either way", flags=dict.fromkeys(BOTH, "--dedup"),
            recipe_key="dedup"),
    Setting("min_seq_len", int, 20,
            "drop (and count) samples of fewer tokens (the trainer keeps min_seq_len ≤ length < "
            "max_seq_len, with 20 as its lower bound)", flags=dict.fromkeys(BOTH, "--min-seq-len"),
            parse=integer(0), recipe_key="min_seq_len"),
    Setting("max_seq_len", int, None, "drop (and count) samples of this many tokens or more",
            flags=dict.fromkeys(BOTH, "--max-seq-len"), parse=integer(1),
            recipe_key="max_seq_len", shown_default="none"),
    Setting("target_tokens", int, None, "scale the knowledge sets to about this many tokens per cut",
            flags=dict.fromkeys(BOTH, "--target-tokens"), parse=integer(1, 10**10),
            recipe_key="target_tokens", shown_default="none"),
    Setting("shuffle", bool, False, "seeded shuffle of each cut's rows",
            flags=dict.fromkeys(BOTH, "--shuffle"), recipe_key="shuffle"),
    Setting("validation_fraction", float, 0.0,
            "seeded share of Q&A rows held out to validation_cut_{N}x.jsonl",
            flags=dict.fromkeys(BOTH, "--validation-fraction"), parse=real(0, 1, high_open=True),
            recipe_key="validation_fraction"),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
STAGE_PARAMETERS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.pipeline == STAGE)
"""The mixing stage's parameters, the same on `run`, `submit` and every compiled pipeline."""


def default(name: str):
    return BY_NAME[name].default


def _code(value: str) -> str:
    return f"`{value}`"


def settings_table() -> str:
    """The README's table of every setting, one row each."""
    lines = ["| flag | variable | recipe key | pipeline parameter | default | meaning |",
             "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        flags = set(s.flags.values())
        if len(flags) == 1 and len(s.flags) == len(BOTH):
            flag = _code(next(iter(flags)))
        else:
            flag = " / ".join(f"`{f}` (`{command}`)" for command, f in s.flags.items())
        if s.parse is None:
            flag = flag.replace(f"`{s.flags[BOTH[0]]}`", f"`{s.flags[BOTH[0]]}` / "
                                f"`--no-{s.flags[BOTH[0]][2:]}`")
        if s.repeatable:
            flag += " (repeatable)"
        variable = " / ".join(map(_code, (s.variable, *s.aliases))) if s.variable else "—"
        recipe = _code(s.recipe_key) if s.recipe_key else "—"
        parameter = _code(s.parameter) if s.pipeline else "—"
        shown = s.shown()
        if s.shown_default is None and shown != "—":
            shown = _code(shown)
        lines.append(f"| {flag} | {variable} | {recipe} | {parameter} | {shown} | {s.help} |")
    return "\n".join(lines) + "\n"
