"""The settings table (knowledge_mixing/parameters.py) is the one declaration of every setting:
the README's table, `.env.example`, the command-line flags, the environment variables, the
recipe keys and the pipeline parameters are all made from it."""
import dataclasses

import pytest
import yaml
from helpers import REPO

import pipeline
from knowledge_mixing.environment import env_example, settings_from_environment
from knowledge_mixing.parameters import (
    BY_NAME,
    PIPELINE,
    SETTINGS,
    STAGE,
    STAGE_PARAMETERS,
    settings_table,
)
from knowledge_mixing.recipe import RECIPE_KEYS, Recipe
from knowledge_mixing.sets import SET_NAMES
from launch.cli import command_line
from launch.compile import compile_pipeline

TABLE_MARKER = "<!-- settings table: generated from knowledge_mixing/parameters.py"
COMMANDS = ("run", "submit")


def readme_settings_table() -> str:
    """The README's lines after the marker comment, up to the next blank line."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(TABLE_MARKER)]
    end = lines.index("", start)
    return "\n".join(lines[start + 1:end]) + "\n"


def test_readme_table_is_the_generated_one():
    """Regenerate with `python -c "from knowledge_mixing.parameters import settings_table;
    print(settings_table(), end='')"` and paste it under the marker."""
    assert readme_settings_table() == settings_table()


def test_table_has_one_row_per_setting():
    rows = settings_table().splitlines()[2:]
    assert len(rows) == len(SETTINGS) == len(BY_NAME)
    for setting, row in zip(SETTINGS, rows):
        assert row.endswith(f" {setting.help} |")
        for flag in setting.flags.values():
            assert f"`{flag}`" in row
        if setting.variable:
            assert f"`{setting.variable}`" in row.split(" | ")[1]


def test_env_example_is_the_generated_one():
    """Regenerate with `python -c "from knowledge_mixing.environment import env_example;
    print(env_example(), end='')" > .env.example`."""
    assert (REPO / ".env.example").read_text(encoding="utf-8") == env_example()


def test_every_variable_is_a_settings_variable_with_its_default():
    variables = {s.variable: s for s in SETTINGS if s.variable}
    assert set(variables) == {"TOKENIZER_MODEL", "CUT_SIZES", "QA_PER_DOC", "SEED",
                              "SAVE_GPT_OSS_FORMAT"}
    text = env_example()
    for variable, setting in variables.items():
        assert f"\n{variable}={setting.variable_text()}\n" in text
        for alias in setting.aliases:
            assert f"\n# {alias}={setting.variable_text()}\n" in text
    # each variable, set to its default as .env.example writes it, gives the setting's default
    environ = {v: s.variable_text() for v, s in variables.items()}
    assert {name: value for name, (value, _) in settings_from_environment(environ).items()} == \
        {s.name: s.default for s in variables.values()}
    # aliases are read too, and nothing outside the table is
    aliases = {a: s for s in SETTINGS for a in s.aliases}
    assert aliases and all(settings_from_environment({a: "x/y"}) == {s.name: ("x/y", a)}
                           for a, s in aliases.items())
    assert settings_from_environment({"MAX_SEQ_LEN": "9", "SHARDS": "3", "RECIPE": "x"}) == {}


def subcommand(name: str):
    parser = command_line()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    return commands.choices[name]


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_are_the_tables(command):
    """Each setting with a flag for the command has exactly that flag (on/off settings also its
    --no- form), and no other flag of the command writes a setting."""
    options = {a.dest: a for a in subcommand(command)._actions if a.option_strings}
    expected = {s.name: s for s in SETTINGS if command in s.flags}
    assert {dest for dest in options if dest in BY_NAME} == set(expected)
    for name, setting in expected.items():
        flag = setting.flags[command]
        strings = [flag, f"--no-{flag[2:]}"] if setting.parse is None else [flag]
        assert options[name].option_strings == strings
        assert options[name].default == ([] if setting.repeatable else None)  # "not given"
    if command == "run":  # `run` has no flag that is not a setting but how much it prints
        assert set(options) - {"help", "verbose", "debug"} == set(expected)


def test_recipe_keys_are_the_tables_and_their_defaults():
    keyed = {s.recipe_key: s for s in SETTINGS if s.recipe_key}
    assert set(keyed) == set(RECIPE_KEYS)
    defaults = Recipe()
    for key, setting in keyed.items():
        value = getattr(defaults, key)
        if key == "sets":
            assert value == tuple((name, 1.0) for name in SET_NAMES)
        elif key == "replay":
            assert value == ()
        else:
            assert value == (tuple(setting.default) if isinstance(setting.default, list)
                             else setting.default)
    assert [f.name for f in dataclasses.fields(Recipe)] == list(Recipe().to_dict())


def test_stage_parameters_are_the_pipelines():
    assert pipeline.MIXING_PARAMETERS == tuple((s.name, s.type, s.default) for s in SETTINGS
                                               if s.pipeline == STAGE)
    assert STAGE_PARAMETERS == tuple(s for s in SETTINGS if s.pipeline == STAGE)
    # a stage parameter is the same on `run` and `submit`
    assert all(set(s.flags) == set(COMMANDS) for s in STAGE_PARAMETERS)


def compiled_parameters(tmp_path, **options) -> dict:
    path = tmp_path / "pipeline.yaml"
    compile_pipeline(pipeline.build_pipeline(pipeline.PipelineOptions(**options)), str(path))
    spec = next(yaml.safe_load_all(path.read_text()))
    return {name: p.get("defaultValue")
            for name, p in spec["root"]["inputDefinitions"]["parameters"].items()}


def test_compiled_pipeline_has_every_stage_setting_with_its_default(tmp_path):
    compiled = compiled_parameters(tmp_path)
    for setting in STAGE_PARAMETERS:
        assert setting.parameter in compiled
        assert compiled[setting.parameter] == setting.default  # KFP keeps 5 as 5.0: equal
    assert compiled["tokenizer"] == BY_NAME["tokenizer"].default
    # every parameter of the pipeline without plug-ins is a setting's
    parameters = {s.parameter: s for s in SETTINGS if s.pipeline}
    assert set(compiled) <= set(parameters)
    assert set(compiled) == {s.parameter for s in STAGE_PARAMETERS} | {"tokenizer", "step03_uri"}


def test_compiled_input_parameters_are_the_tables(tmp_path):
    """Per-set inputs and disconnected clusters' tokenizer files are parameters named by the
    table too."""
    compiled = compiled_parameters(tmp_path, sources=SET_NAMES, tokenizer_from_uri=True)
    pipeline_only = {BY_NAME[name].parameter for name in (*SET_NAMES, "tokenizer_uri")}
    assert set(compiled) == {s.parameter for s in STAGE_PARAMETERS} | pipeline_only
    assert all(BY_NAME[name].pipeline == PIPELINE for name in (*SET_NAMES, "tokenizer_uri"))
