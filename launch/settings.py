"""The settings of a `run` or `submit`, from the settings table (knowledge_mixing/parameters.py):
the default, under the environment's variable (or `.env`), under the recipe file, under the
flag (docs/behaviour.md#recipe-order)."""
import argparse
from dataclasses import replace
from pathlib import Path

from knowledge_mixing.environment import settings_from_environment
from knowledge_mixing.errors import ParameterError
from knowledge_mixing.parameters import SETTINGS, STAGE_PARAMETERS
from knowledge_mixing.recipe import Recipe, apply_recipe, recipe_from_text


def add_setting_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The command's flags, one per setting that has one; values stay text until `flag_values`
    reads them, so an error names the flag."""
    for setting in SETTINGS:
        flag = setting.flags.get(command)
        if flag is None:
            continue
        help = f"{setting.help} (default: {setting.shown().strip('`')})"
        if setting.parse is None:
            parser.add_argument(flag, dest=setting.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help)
        elif setting.repeatable:
            parser.add_argument(flag, dest=setting.name, action="append", default=[],
                                metavar=setting.metavar, help=help + "; repeatable")
        else:
            parser.add_argument(flag, dest=setting.name, metavar=setting.metavar, help=help)


def flag_values(args: argparse.Namespace, command: str) -> dict:
    """{setting: value} of every flag given, each read as its setting reads text."""
    values = {}
    for setting in SETTINGS:
        flag = setting.flags.get(command)
        given = getattr(args, setting.name, None) if flag else None
        if given is None or given == []:
            continue
        if setting.parse is None:
            values[setting.name] = given
        elif setting.repeatable:
            values[setting.name] = [setting.parse(item, flag) for item in given]
        else:
            values[setting.name] = setting.parse(given, flag)
    return values


def _recipe(flags: dict, environment: dict, local_paths: bool) -> Recipe:
    """The defaults, under the environment's settings, under the recipe file (if any), under the
    flags. With `local_paths`, replay paths become absolute: a file's relative to the recipe's
    folder, a flag's relative to the working directory (the tasks run elsewhere)."""
    recipe_keys = {s.name: s.recipe_key for s in SETTINGS if s.recipe_key}
    recipe = apply_recipe({recipe_keys[name]: value for name, (value, _) in environment.items()
                           if name in recipe_keys}, source="environment")
    if flags.get("recipe"):
        path = Path(flags["recipe"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ParameterError(f"--recipe {path}: cannot read it ({e.strerror})") from e
        recipe = recipe_from_text(text, recipe, source=str(path))
        if local_paths:
            folder = path.resolve().parent
            recipe = replace(recipe, replay=tuple(
                replace(r, path=str(folder / Path(r.path).expanduser())) for r in recipe.replay))
    overrides = {recipe_keys[name]: value for name, value in flags.items() if name in recipe_keys}
    if "sets" in overrides:
        overrides["sets"] = dict(overrides["sets"])
    if "replay" in overrides:
        overrides["replay"] = [{"path": str(Path(path).resolve()) if local_paths else path,
                                "token_ratio": ratio} for path, ratio in overrides["replay"]]
    return apply_recipe(overrides, recipe, source="command line")


def run_parameters(args: argparse.Namespace, environ: dict, command: str) -> dict:
    """The tokenizer and every mixing-stage parameter of a run. The `recipe` parameter holds the
    whole effective recipe, so the run records it; cut_sizes, qa_per_doc and seed repeat its
    values."""
    environment = settings_from_environment(environ)
    if environment:
        print("settings from the environment (flags win): " + ", ".join(
            f"{variable}={environ[variable]}" for _, variable in environment.values()))
    flags = flag_values(args, command)
    recipe = _recipe(flags, environment, local_paths=command == "run")
    chosen = {s.name: flags.get(s.name, environment.get(s.name, (s.default,))[0])
              for s in SETTINGS if s.name == "tokenizer" or s in STAGE_PARAMETERS}
    recipe_values = recipe.to_dict()
    for name in ("cut_sizes", "qa_per_doc", "seed"):
        chosen[name] = recipe_values[name]
    chosen["recipe"] = recipe.to_json()
    return chosen
