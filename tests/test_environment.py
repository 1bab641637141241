"""The notebook's settings: environment variables and `.env`, flags winning, bad values named."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import EXAMPLE_STEP_03, REPO

import pipeline
from knowledge_mixing.environment import VARIABLES, env_example, settings_from_environment
from knowledge_mixing.sampling import ParameterError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """None of the variables set, and whatever a test's `.env` adds removed afterwards."""
    for variable in VARIABLES:
        monkeypatch.setenv(variable.name, "")
        monkeypatch.delenv(variable.name)


def test_env_example_lists_every_variable_with_its_default():
    assert (REPO / ".env.example").read_text() == env_example()
    text = env_example()
    for variable in VARIABLES:
        assert f"{variable.name}={variable.default}" in text
    assert settings_from_environment(dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))) == {
        "tokenizer": ("bundled-qwen", "TOKENIZER_MODEL"), "cut_sizes": ([1, 5, 10], "CUT_SIZES"),
        "qa_per_doc": (3, "QA_PER_DOC"), "save_gpt_oss_format": (False, "SAVE_GPT_OSS_FORMAT"),
        "seed": (42, "SEED")}


@pytest.mark.parametrize("environ,expected", [
    ({"TOKENIZER_MODEL": "Qwen/Qwen3-0.6B"}, {"tokenizer": "Qwen/Qwen3-0.6B"}),
    ({"TOKENIZER_MODEL_NAME": " ./tok "}, {"tokenizer": "./tok"}),
    ({"TOKENIZER_MODEL": "a/b", "TOKENIZER_MODEL_NAME": "a/b"}, {"tokenizer": "a/b"}),
    ({"CUT_SIZES": " 10, 5 ,1"}, {"cut_sizes": [1, 5, 10]}),
    ({"QA_PER_DOC": "5"}, {"qa_per_doc": 5}),
    ({"SAVE_GPT_OSS_FORMAT": "TRUE"}, {"save_gpt_oss_format": True}),
    ({"SAVE_GPT_OSS_FORMAT": "False"}, {"save_gpt_oss_format": False}),
    ({"SEED": "-3"}, {"seed": -3}),
    ({"CUT_SIZES": "", "HOME": "/x"}, {}),
])
def test_each_variable_sets_its_setting(environ, expected):
    assert {k: v for k, (v, _) in settings_from_environment(environ).items()} == expected


@pytest.mark.parametrize("environ,message", [
    ({"CUT_SIZES": "5,x"}, "CUT_SIZES: item 2 ('x') of '5,x' is not a positive integer"),
    ({"CUT_SIZES": "5,0"}, "CUT_SIZES: item 2 ('0') of '5,0' is not a positive integer"),
    ({"CUT_SIZES": "5,5"}, "CUT_SIZES: 5 given more than once"),
    ({"QA_PER_DOC": "three"}, "QA_PER_DOC='three': expected an integer ≥ 1"),
    ({"QA_PER_DOC": "0"}, "QA_PER_DOC='0': expected an integer ≥ 1"),
    ({"SAVE_GPT_OSS_FORMAT": "yes"}, "SAVE_GPT_OSS_FORMAT='yes': expected true or false (any case)"),
    ({"SEED": "4.2"}, "SEED='4.2': expected an integer"),
    ({"TOKENIZER_MODEL": "a/b", "TOKENIZER_MODEL_NAME": "c/d"},
     "TOKENIZER_MODEL='a/b' and TOKENIZER_MODEL_NAME='c/d' disagree; set one of them"),
])
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(ParameterError) as error:
        settings_from_environment(environ)
    assert message in str(error.value)


def settings(environ, *flags):
    parser = argparse.ArgumentParser()
    pipeline.add_mixing_arguments(parser)
    return pipeline.run_settings(parser.parse_args(list(flags)), environ, local_paths=True)


def test_flags_win_over_variables_which_win_over_defaults(tmp_path, capsys):
    environ = {"TOKENIZER_MODEL": "env/tok", "CUT_SIZES": "2,4", "QA_PER_DOC": "2",
               "SAVE_GPT_OSS_FORMAT": "true", "SEED": "9"}
    got = settings(environ)
    assert (got["tokenizer"], got["cut_sizes"], got["qa_per_doc"], got["save_gpt_oss_format"],
            got["seed"]) == ("env/tok", [2, 4], 2, True, 9)
    assert json.loads(got["recipe"])["cut_sizes"] == [2, 4]
    assert "settings from the environment (flags win): TOKENIZER_MODEL=env/tok" in capsys.readouterr().out
    got = settings(environ, "--tokenizer", "flag/tok", "--cut-sizes", "3", "--qa-per-doc", "1",
                   "--no-save-gpt-oss-format", "--seed", "1")
    assert (got["tokenizer"], got["cut_sizes"], got["qa_per_doc"], got["save_gpt_oss_format"],
            got["seed"]) == ("flag/tok", [3], 1, False, 1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("cut_sizes: [6]\n")  # the recipe file is named on the command line: it wins too
    assert settings(environ, "--recipe", str(recipe))["cut_sizes"] == [6]
    got = settings({})
    assert (got["tokenizer"], got["cut_sizes"], got["qa_per_doc"], got["save_gpt_oss_format"],
            got["seed"]) == ("bundled-qwen", [1, 5, 10], 3, False, 42)


def test_bad_variable_fails_the_run_before_it_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CUT_SIZES=5,x\n")
    with pytest.raises(SystemExit):
        pipeline.main(["run", "--output", str(tmp_path / "out")])
    assert "CUT_SIZES: item 2 ('x') of '5,x' is not a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_notebook_folders_and_env_file_reproduce_the_notebook_outputs(tmp_path):
    """A `.env` copied from .env.example and edited, the notebook's output/step_03 folder:
    `python pipeline.py run --input output/step_03 --output output/step_04`."""
    shutil.copytree(EXAMPLE_STEP_03, tmp_path / "output" / "step_03")
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text()
                                   .replace("CUT_SIZES=1,5,10", "CUT_SIZES=1,5")
                                   .replace("SEED=42", "SEED=7")
                                   .replace("SAVE_GPT_OSS_FORMAT=false", "SAVE_GPT_OSS_FORMAT=True"))
    environ = {k: v for k, v in os.environ.items() if k not in {v.name for v in VARIABLES}}
    result = subprocess.run(
        [sys.executable, str(REPO / "pipeline.py"), "run", "--input", "output/step_03",
         "--output", "output/step_04"], cwd=tmp_path, env=environ, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "settings from the environment (flags win): TOKENIZER_MODEL=bundled-qwen, CUT_SIZES=1,5" \
        in result.stdout
    out = tmp_path / "output" / "step_04"
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["combined_cut_1x.jsonl",
                                                           "combined_cut_5x.jsonl"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["seed"] == 7 and summary["parameters"]["save_gpt_oss_format"] is True
    assert summary["parameters"]["cut_sizes"] == [1, 5]
    rows = [json.loads(line) for line in open(out / "combined_cut_5x.jsonl")]
    assert list(rows[0]) == ["question", "document_outline", "raw_document", "document", "messages",
                             "metadata", "unmask", "token_length"]


def test_cluster_parameters_have_the_local_names_and_defaults(tmp_path):
    import yaml

    from knowledge_mixing.recipe import Recipe, effective_recipe

    path = tmp_path / "p.yaml"
    pipeline.compile_pipeline(pipeline.build_pipeline(), str(path))
    spec = next(yaml.safe_load_all(path.read_text()))
    compiled = {name: p.get("defaultValue")
                for name, p in spec["root"]["inputDefinitions"]["parameters"].items()}
    local = settings({})
    for variable in VARIABLES:
        assert compiled[variable.setting] == variable.parse(variable.name, variable.default) \
            == local[variable.setting]
    for name in ("train_cut", "trust_remote_code", "shards"):
        assert compiled[name] == local[name]
    assert effective_recipe(compiled["cut_sizes"], compiled["qa_per_doc"], compiled["seed"],
                            compiled["recipe"]).to_json() == local["recipe"] == Recipe().to_json()
