"""Settings from environment variables, as the knowledge-tuning notebook reads them (its `.env`).

The variables are those of the settings table (parameters.py); a flag given on the command line
wins over its variable. A bad value names the variable and what it expected.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Mapping

from .errors import ParameterError
from .parameters import SETTINGS, boolean

HF_TOKEN_VARIABLE = "HF_TOKEN"
KNOWN_VARIABLES = tuple(v for s in SETTINGS if s.variable for v in (s.variable, *s.aliases))


def _parse(setting, variable: str, text: str):
    return boolean(text, variable) if setting.parse is None else setting.parse(text, variable)


def settings_from_environment(environ: Mapping[str, str]) -> dict[str, tuple[object, str]]:
    """{setting: (value, variable)} for every variable that is set (and not empty)."""
    settings: dict[str, tuple[object, str]] = {}
    for setting in SETTINGS:
        for variable in (setting.variable, *setting.aliases) if setting.variable else ():
            text = environ.get(variable)
            if text is None or not text.strip():
                continue
            value = _parse(setting, variable, text)
            if setting.name in settings and settings[setting.name][0] != value:
                other = settings[setting.name][1]
                raise ParameterError(f"{other}={environ[other]!r} and {variable}={text!r} "
                                     "disagree; set one of them")
            settings.setdefault(setting.name, (value, variable))
    return settings


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a `.env` file (none when there is no file), read as python-dotenv reads
    them for the notebook. A line that does not parse, or a name that is a near miss of one of
    ours (CUT_SIZE for CUT_SIZES), is an error naming the file and the line."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    with open(path, encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            where = f"{path}, line {binding.original.line}"
            if binding.error:
                raise ParameterError(f"{where}: cannot be read as NAME=VALUE "
                                     f"({binding.original.string.strip()[:60]!r})")
            if binding.key and binding.key not in KNOWN_VARIABLES:
                close = difflib.get_close_matches(binding.key, KNOWN_VARIABLES, n=1, cutoff=0.8)
                if close:
                    raise ParameterError(f"{where}: {binding.key} is not a setting; did you mean "
                                         f"{close[0]}?")
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def env_example() -> str:
    """The text of `.env.example`: every variable, its default and what it means."""
    lines = ["# Settings of `python pipeline.py run` (and `submit`), as the knowledge-tuning notebook",
             "# reads them. Copy to .env; a command-line flag wins over a variable.", ""]
    for setting in SETTINGS:
        if not setting.variable:
            continue
        lines += [f"# {setting.help}", f"{setting.variable}={setting.variable_text()}", ""]
        for alias in setting.aliases:
            lines += [f"# the notebook's spelling of {setting.variable} (set one of the two)",
                      f"# {alias}={setting.variable_text()}", ""]
    lines += ["# Hub token for gated tokenizers (never a pipeline parameter; on the cluster a secret)",
              f"# {HF_TOKEN_VARIABLE}=", ""]
    return "\n".join(lines)
