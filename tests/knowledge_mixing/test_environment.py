"""Settings from environment variables, as the knowledge-tuning notebook's `.env` sets them
(precedence against flags and the recipe file: tests/launch/test_settings.py)."""
import pytest

from knowledge_mixing.environment import env_example, settings_from_environment
from knowledge_mixing.errors import ParameterError


def test_env_example_as_a_dotenv_gives_the_defaults():
    text = env_example()
    environ = dict(line.split("=", 1) for line in text.splitlines()
                   if line and not line.startswith("#"))
    assert settings_from_environment(environ) == {
        "tokenizer": ("bundled-qwen", "TOKENIZER_MODEL"), "cut_sizes": ([1, 5, 10], "CUT_SIZES"),
        "qa_per_doc": (3, "QA_PER_DOC"), "seed": (42, "SEED"),
        "save_gpt_oss_format": (False, "SAVE_GPT_OSS_FORMAT")}
    assert "# HF_TOKEN=" in text  # named, never given a value


@pytest.mark.parametrize("environ,expected", [
    ({"TOKENIZER_MODEL": "Qwen/Qwen3-0.6B"}, {"tokenizer": "Qwen/Qwen3-0.6B"}),
    ({"TOKENIZER_MODEL_NAME": " ./tok "}, {"tokenizer": "./tok"}),
    ({"TOKENIZER_MODEL": "a/b", "TOKENIZER_MODEL_NAME": "a/b"}, {"tokenizer": "a/b"}),
    ({"CUT_SIZES": " 10, 5 ,1"}, {"cut_sizes": [1, 5, 10]}),
    ({"QA_PER_DOC": "5"}, {"qa_per_doc": 5}),
    ({"SAVE_GPT_OSS_FORMAT": "TRUE"}, {"save_gpt_oss_format": True}),
    ({"SAVE_GPT_OSS_FORMAT": "False"}, {"save_gpt_oss_format": False}),
    ({"SEED": "-3"}, {"seed": -3}),
    ({"CUT_SIZES": "", "SEED": "  ", "HOME": "/x"}, {}),  # empty means unset
])
def test_each_variable_sets_its_setting(environ, expected):
    assert {k: v for k, (v, _) in settings_from_environment(environ).items()} == expected


def test_the_variable_that_set_a_value_is_named():
    assert settings_from_environment({"TOKENIZER_MODEL_NAME": "a/b"}) == {
        "tokenizer": ("a/b", "TOKENIZER_MODEL_NAME")}
    assert settings_from_environment({"TOKENIZER_MODEL": "a/b", "TOKENIZER_MODEL_NAME": "a/b"}) \
        == {"tokenizer": ("a/b", "TOKENIZER_MODEL")}


@pytest.mark.parametrize("environ,message", [
    ({"CUT_SIZES": "5,x"}, "CUT_SIZES: item 2 ('x') of '5,x' is not a positive integer; give a "
     "comma-separated list such as 1,5,10"),
    ({"CUT_SIZES": "5,0"}, "CUT_SIZES: item 2 ('0') of '5,0' is not a positive integer"),
    ({"CUT_SIZES": "5,²"}, "CUT_SIZES: item 2 ('²') of '5,²' is not a positive integer"),
    ({"CUT_SIZES": "5,5"}, "CUT_SIZES: 5 given more than once"),
    ({"QA_PER_DOC": "three"}, "QA_PER_DOC: 'three' is not an integer ≥ 1"),
    ({"QA_PER_DOC": "0"}, "QA_PER_DOC: '0' is not an integer ≥ 1"),
    ({"SAVE_GPT_OSS_FORMAT": "yes"}, "SAVE_GPT_OSS_FORMAT='yes': expected true or false (any case)"),
    ({"SEED": "4.2"}, "SEED: '4.2' is not an integer"),
    ({"TOKENIZER_MODEL": "a/b", "TOKENIZER_MODEL_NAME": "c/d"},
     "TOKENIZER_MODEL='a/b' and TOKENIZER_MODEL_NAME='c/d' disagree; set one of them"),
])
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(ParameterError) as error:
        settings_from_environment(environ)
    assert str(error.value).startswith(message)
