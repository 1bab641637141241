"""Settings from environment variables, as the knowledge-tuning notebook reads them (its `.env`).

The variables are those of the settings table (parameters.py); a flag given on the command line
wins over its variable. A bad value names the variable and what it expected.
"""
from __future__ import annotations

from typing import Mapping

from .errors import ParameterError
from .parameters import SETTINGS, boolean

HF_TOKEN_VARIABLE = "HF_TOKEN"


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
