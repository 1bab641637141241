"""A run's settings: defaults < environment / `.env` < recipe file < flags
(docs/behaviour.md#recipe-order), bad values stopping the command before anything runs, and the
parameters a local run and a cluster run get being the same."""
import argparse
import io
import json

import pytest
import yaml
from dotenv import dotenv_values
from helpers import REPO

import pipeline
from knowledge_mixing.errors import ParameterError, RecipeError
from knowledge_mixing.parameters import BY_NAME, SETTINGS, STAGE_PARAMETERS
from knowledge_mixing.recipe import Recipe, ReplaySource, apply_recipe, effective_recipe, recipe_from_text
from launch.cli import main
from launch.compile import compile_pipeline
from launch.settings import add_setting_arguments, flag_values, run_parameters

VARIABLES = [v for s in SETTINGS if s.variable for v in (s.variable, *s.aliases)]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """None of the variables set, and whatever a test's `.env` adds removed afterwards."""
    for variable in VARIABLES:
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)


def parse(command: str, *flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_setting_arguments(parser, command)
    return parser.parse_args(list(flags))


def parameters(environ: dict, *flags: str, command: str = "run") -> dict:
    return run_parameters(parse(command, *flags), environ, command)


def chosen(got: dict) -> tuple:
    return (got["tokenizer"], got["cut_sizes"], got["qa_per_doc"], got["save_gpt_oss_format"],
            got["seed"])


def test_flag_values_are_read_as_their_settings_read_text():
    args = parse("run", "--cut-sizes", "5, 1", "--seed", "-2", "--shuffle", "--weight", "a=2",
                 "--weight", "b=0.5", "--replay", "x=y.jsonl=0.1", "--validation-fraction", "5e-2")
    assert flag_values(args, "run") == {
        "cut_sizes": [1, 5], "seed": -2, "shuffle": True, "weight": [("a", 2.0), ("b", 0.5)],
        "replay": [("x=y.jsonl", 0.1)], "validation_fraction": 0.05}
    assert flag_values(parse("run"), "run") == {}
    assert flag_values(parse("submit", "--step03-uri", " s3://b/x "), "submit") == {"input": "s3://b/x"}


def test_flags_override_the_recipe_file_and_paths_resolve_against_it(tmp_path, monkeypatch):
    (tmp_path / "mix").mkdir()
    recipe_file = tmp_path / "mix" / "recipe.yaml"
    recipe_file.write_text("cut_sizes: [1, 5]\nseed: 3\nsets: {key_facts_to_qa: 2}\n"
                           "replay: [{path: chat.jsonl, token_ratio: 0.1}]\nshuffle: true\n")
    monkeypatch.chdir(tmp_path)
    flags = ["--recipe", str(recipe_file.relative_to(tmp_path)), "--seed", "9",
             "--weight", "document_based_qa=0.5", "--no-shuffle"]
    got = parameters({}, *flags)
    recipe = recipe_from_text(got["recipe"])
    assert (recipe.seed, recipe.cut_sizes, recipe.shuffle) == (9, (1, 5), False)
    assert recipe.weight("key_facts_to_qa") == 2 and recipe.weight("document_based_qa") == 0.5
    assert recipe.replay == (ReplaySource(str(tmp_path / "mix" / "chat.jsonl"), 0.1),)
    assert (got["seed"], got["cut_sizes"], got["qa_per_doc"]) == (9, [1, 5], 3)  # repeat the recipe's
    # submit: the paths are the cluster's, as written
    submitted = recipe_from_text(parameters({}, *flags, command="submit")["recipe"])
    assert submitted.replay == (ReplaySource("chat.jsonl", 0.1),)
    # a replay flag replaces the recipe's list, relative to the working directory on `run`
    got = parameters({}, "--replay", "other.jsonl=0.3", "--cut-sizes", "2")
    recipe = recipe_from_text(got["recipe"])
    assert recipe.replay == (ReplaySource(str(tmp_path / "other.jsonl"), 0.3),) and recipe.cut_sizes == (2,)
    assert apply_recipe(json.loads(recipe.to_json())) == recipe


@pytest.mark.parametrize("args,message", [
    (["--recipe", "absent.yaml"], "--recipe absent.yaml: cannot read it (No such file or directory)"),
    (["--weight", "key_facts_to_qa"], "--weight 'key_facts_to_qa': expected NAME=NUMBER"),
    (["--weight", "facts=2"], "recipe command line: sets.facts is not a knowledge set"),
    (["--weight", "key_facts_to_qa=-1"],
     "recipe command line: sets.key_facts_to_qa: -1.0 is not a number in [0, 100]"),
    (["--replay", "chat.jsonl=lots"], "--replay 'chat.jsonl=lots': 'lots' is not a number"),
    (["--replay", "chat.jsonl=1.5"],
     "recipe command line: replay[0].token_ratio: 1.5 is not a number in [0, 1]"),
    (["--validation-fraction", "1.0"], "--validation-fraction: '1.0' is not a number in [0, 1)"),
    (["--cut-sizes", "5,x"], "--cut-sizes: item 2 ('x') of '5,x' is not a positive integer"),
    (["--qa-per-doc", "0"], "--qa-per-doc: '0' is not an integer ≥ 1"),
    (["--seed", "4.2"], "--seed: '4.2' is not an integer"),
    (["--max-seq-len", "0"], "--max-seq-len: '0' is not an integer ≥ 1"),
    (["--target-tokens", "1.5"], "--target-tokens: '1.5' is not an integer in [1, 10000000000]"),
    (["--train-cut", "-1"], "--train-cut: '-1' is not an integer ≥ 0"),
    (["--shards", "0"], "--shards: '0' is not an integer ≥ 1"),
])
def test_bad_flags_fail_before_running(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--output", str(tmp_path / "out"), *args]) == 2
    assert f"pipeline.py run: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ParameterError):  # and the same error from the settings alone
        parameters({}, *args)


def test_flags_win_over_the_recipe_file_which_wins_over_variables_which_win_over_defaults(
        tmp_path, capsys):
    environ = {"TOKENIZER_MODEL": "env/tok", "CUT_SIZES": "2,4", "QA_PER_DOC": "2",
               "SAVE_GPT_OSS_FORMAT": "true", "SEED": "9"}
    got = parameters(environ)
    assert chosen(got) == ("env/tok", [2, 4], 2, True, 9)
    assert json.loads(got["recipe"])["cut_sizes"] == [2, 4]
    assert capsys.readouterr().out == ("settings from the environment (flags win): TOKENIZER_MODEL="
                                       "env/tok, CUT_SIZES=2,4, QA_PER_DOC=2, SEED=9, "
                                       "SAVE_GPT_OSS_FORMAT=true\n")
    got = parameters(environ, "--tokenizer", "flag/tok", "--cut-sizes", "3", "--qa-per-doc", "1",
                     "--no-save-gpt-oss-format", "--seed", "1")
    assert chosen(got) == ("flag/tok", [3], 1, False, 1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("cut_sizes: [6]\nqa_per_doc: 4\n")  # named on the command line: it wins too
    got = parameters(environ, "--recipe", str(recipe))
    assert (got["cut_sizes"], got["qa_per_doc"], got["seed"]) == ([6], 4, 9)
    assert json.loads(got["recipe"])["seed"] == 9
    got = parameters(environ, "--recipe", str(recipe), "--qa-per-doc", "5")
    assert got["qa_per_doc"] == json.loads(got["recipe"])["qa_per_doc"] == 5
    assert chosen(parameters({})) == ("bundled-qwen", [1, 5, 10], 3, False, 42)


def test_bad_variable_fails_the_run_before_it_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CUT_SIZES=5,x\n")
    assert main(["run", "--output", str(tmp_path / "out")]) == 2
    assert "CUT_SIZES: item 2 ('x') of '5,x' is not a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_dotenv_of_the_working_directory_is_read_under_the_environment(tmp_path, monkeypatch,
                                                                          capsys):
    """`run` reads `.env` from where it is started; a variable already set wins over its line.
    (A bad flag stops the run after the settings are read and before anything runs.)"""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SEED=7\nQA_PER_DOC=2\n")
    monkeypatch.setenv("QA_PER_DOC", "4")
    assert main(["run", "--output", str(tmp_path / "out"), "--shards", "0"]) == 2
    captured = capsys.readouterr()
    assert "settings from the environment (flags win): QA_PER_DOC=4, SEED=7\n" in captured.out
    assert "--shards: '0' is not an integer ≥ 1" in captured.err


def test_the_notebooks_env_file_gives_the_notebooks_settings(capsys):
    """A `.env` copied from .env.example and edited, as the knowledge-tuning notebook keeps it
    (the whole run from such a `.env`: tests/test_pipeline.py)."""
    text = ((REPO / ".env.example").read_text()
            .replace("CUT_SIZES=1,5,10", "CUT_SIZES=1,5")
            .replace("SEED=42", "SEED=7")
            .replace("SAVE_GPT_OSS_FORMAT=false", "SAVE_GPT_OSS_FORMAT=True"))
    environ = {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}
    got = parameters(environ, "--input", "output/step_03", "--output", "output/step_04")
    assert chosen(got) == ("bundled-qwen", [1, 5], 3, True, 7)
    assert recipe_from_text(got["recipe"]) == Recipe(seed=7, cut_sizes=(1, 5))
    assert capsys.readouterr().out.startswith(
        "settings from the environment (flags win): TOKENIZER_MODEL=bundled-qwen, CUT_SIZES=1,5")


def test_run_and_submit_give_the_stage_its_parameters_and_nothing_else():
    for command in ("run", "submit"):
        got = parameters({}, command=command)
        assert set(got) == {"tokenizer", *(s.name for s in STAGE_PARAMETERS)}
        assert {k: v for k, v in got.items() if k != "recipe"} == {
            s.name: s.default for s in SETTINGS if s.name in got and s.name != "recipe"}


def test_cluster_parameters_have_the_local_names_and_defaults(tmp_path):
    path = tmp_path / "p.yaml"
    compile_pipeline(pipeline.build_pipeline(), str(path))
    spec = next(yaml.safe_load_all(path.read_text()))
    compiled = {name: p.get("defaultValue")
                for name, p in spec["root"]["inputDefinitions"]["parameters"].items()}
    for command in ("run", "submit"):
        local = parameters({}, command=command)
        for name in ("tokenizer", *(s.name for s in STAGE_PARAMETERS if s.name != "recipe")):
            assert compiled[BY_NAME[name].parameter] == local[name], name
        # the cluster's recipe parameter is empty: the recipe is its parameters' values
        assert effective_recipe(compiled["cut_sizes"], compiled["qa_per_doc"], compiled["seed"],
                                compiled["recipe"]).to_json() == local["recipe"] == Recipe().to_json()


def test_a_recipe_the_file_names_wrongly_names_the_file(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("weigths: {}\n")
    with pytest.raises(RecipeError, match=f"recipe {recipe}: unknown key 'weigths'"):
        parameters({}, "--recipe", str(recipe))
