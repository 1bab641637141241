"""Settings from environment variables, as the knowledge-tuning notebook reads them (its `.env`).

Each variable maps to one setting of `pipeline.py run`/`submit`; a flag given on the command line
wins over the variable. A bad value names the variable and what it expected.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from .recipe import Recipe
from .sampling import ParameterError, parse_cut_sizes
from .tokens import BUNDLED_TOKENIZER

DEFAULTS = Recipe()


def _integer(name: str, text: str, low: int | None = None) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or (low is not None and value < low):
        bound = f" ≥ {low}" if low is not None else ""
        raise ParameterError(f"{name}={text!r}: expected an integer{bound}")
    return value


def _boolean(name: str, text: str) -> bool:
    if text.strip().lower() not in ("true", "false"):
        raise ParameterError(f"{name}={text!r}: expected true or false (any case)")
    return text.strip().lower() == "true"


@dataclass(frozen=True)
class Variable:
    name: str
    setting: str
    """The `run` setting it sets (the pipeline parameter of the same name)."""
    default: str
    meaning: str
    parse: Callable[[str, str], object]
    alias: bool = False
    """Another spelling of a variable above: shown commented out in .env.example."""


VARIABLES: tuple[Variable, ...] = (
    Variable("TOKENIZER_MODEL", "tokenizer", BUNDLED_TOKENIZER,
             "student tokenizer: a hub model id, a local directory, or bundled-qwen (offline)",
             lambda name, text: text.strip()),
    Variable("TOKENIZER_MODEL_NAME", "tokenizer", BUNDLED_TOKENIZER,
             "the notebook's spelling of TOKENIZER_MODEL (set one of the two)",
             lambda name, text: text.strip(), alias=True),
    Variable("CUT_SIZES", "cut_sizes", ",".join(map(str, DEFAULTS.cut_sizes)),
             "comma-separated summaries per raw document, one combined_cut_{N}x.jsonl per cut",
             lambda name, text: parse_cut_sizes(text, name)),
    Variable("QA_PER_DOC", "qa_per_doc", str(DEFAULTS.qa_per_doc),
             "Q&A pairs kept per sampled summary",
             lambda name, text: _integer(name, text, low=1)),
    Variable("SAVE_GPT_OSS_FORMAT", "save_gpt_oss_format", "false",
             "true: drop template-echo questions and write reasoning as `thinking` (gpt-oss)",
             _boolean),
    Variable("SEED", "seed", str(DEFAULTS.seed),
             "seed of every seeded choice (summary sampling, recipes)",
             _integer),
)


def settings_from_environment(environ: Mapping[str, str]) -> dict[str, tuple[object, str]]:
    """{setting: (value, variable)} for every variable that is set (and not empty)."""
    settings: dict[str, tuple[object, str]] = {}
    for variable in VARIABLES:
        text = environ.get(variable.name)
        if text is None or not text.strip():
            continue
        value = variable.parse(variable.name, text)
        if variable.setting in settings and settings[variable.setting][0] != value:
            other = settings[variable.setting][1]
            raise ParameterError(
                f"{other}={environ[other]!r} and {variable.name}={text!r} disagree; set one of them")
        settings.setdefault(variable.setting, (value, variable.name))
    return settings


def env_example() -> str:
    """The text of `.env.example`: every variable, its default and what it means."""
    lines = ["# Settings of `python pipeline.py run` (and `submit`), as the knowledge-tuning notebook",
             "# reads them. Copy to .env; a command-line flag wins over a variable.", ""]
    for variable in VARIABLES:
        comment = "# " if variable.alias else ""
        lines += [f"# {variable.meaning}", f"{comment}{variable.name}={variable.default}", ""]
    lines += ["# Hub token for gated tokenizers (never a pipeline parameter; on the cluster a secret)",
              "# HF_TOKEN=", ""]
    return "\n".join(lines)
