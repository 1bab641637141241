"""The one check of a number a user gives (flag, variable, recipe, pipeline parameter)."""
import pytest

from knowledge_mixing.errors import ParameterError
from knowledge_mixing.numbers import number


@pytest.mark.parametrize("value,options,expected", [
    ("5", {"integer": True}, 5),
    (" +5 ", {"integer": True}, 5),
    ("-3", {"integer": True}, -3),
    (7, {"integer": True}, 7),
    (5.0, {"integer": True}, 5),  # KFP hands integer parameters back as floats
    ("5e-05", {}, 5e-05),         # a learning rate as people write it
    ("0.25", {}, 0.25),
    (".5", {}, 0.5),
    ("5.", {}, 5.0),
    ("-1.5E+2", {}, -150.0),
    (3, {}, 3.0),
    ("1", {"low": 0, "high": 1}, 1.0),       # a closed bound takes its end
    ("0", {"low": 0, "high": 1, "high_open": True}, 0.0),
])
def test_accepted(value, options, expected):
    result = number(value, "NAME", **options)
    assert result == expected
    assert type(result) is (int if options.get("integer") else float)


@pytest.mark.parametrize("value,options,message", [
    ("²", {"integer": True}, "NAME: '²' is not an integer"),          # isdigit() says yes
    ("٣", {"integer": True}, "NAME: '٣' is not an integer"),          # Arabic-Indic three
    ("１", {"integer": True}, "NAME: '１' is not an integer"),        # full-width one
    ("²", {}, "NAME: '²' is not a number"),
    ("5.0", {"integer": True}, "NAME: '5.0' is not an integer"),      # text: digits only
    ("1e3", {"integer": True}, "NAME: '1e3' is not an integer"),
    ("1_000", {"integer": True}, "NAME: '1_000' is not an integer"),  # int() would take it
    ("0x10", {"integer": True}, "NAME: '0x10' is not an integer"),
    (5.5, {"integer": True}, "NAME: 5.5 is not an integer"),
    (True, {"integer": True}, "NAME: True is not an integer"),        # bool is an int subclass
    (False, {}, "NAME: False is not a number"),
    ("inf", {}, "NAME: 'inf' is not a number"),
    ("nan", {}, "NAME: 'nan' is not a number"),
    ("Infinity", {}, "NAME: 'Infinity' is not a number"),
    (float("inf"), {}, "NAME: inf is not a number"),
    (float("nan"), {}, "NAME: nan is not a number"),
    (float("inf"), {"integer": True}, "NAME: inf is not an integer"),
    ("", {}, "NAME: '' is not a number"),
    (None, {}, "NAME: None is not a number"),
    ([1], {}, "NAME: [1] is not a number"),
    ("0", {"integer": True, "low": 1}, "NAME: '0' is not an integer ≥ 1"),
    (-0.1, {"low": 0}, "NAME: -0.1 is not a number ≥ 0"),
    (2, {"high": 1}, "NAME: 2 is not a number ≤ 1"),
    ("1", {"low": 0, "high": 1, "high_open": True}, r"NAME: '1' is not a number in [0, 1)"),
    (1.5, {"low": 0, "high": 1}, r"NAME: 1.5 is not a number in [0, 1]"),
])
def test_refused_naming_the_setting_and_the_bounds(value, options, message):
    with pytest.raises(ParameterError) as raised:
        number(value, "NAME", **options)
    assert str(raised.value) == message


def test_text_that_overflows_to_infinity_is_refused():
    with pytest.raises(ParameterError, match="NAME: '1e400' is not a number"):
        number("1e400", "NAME")
