"""The one check of a number a user gives: from a flag, an environment variable, a recipe, or a
pipeline parameter (which KFP may hand back as a float)."""
from __future__ import annotations

import math
import re

from .errors import ParameterError

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def number(value, name: str, *, integer: bool = False, low=None, high=None,
           high_open: bool = False):
    """`value` as an int (integer=True) or a float within [low, high] (or [low, high) with
    high_open). Text is read as ASCII digits (with a sign, a point and an exponent for reals);
    a whole float is an integer (KFP returns numbers as floats); booleans, NaN and infinities
    are refused. The error names `name` and the bounds."""
    parsed = None
    if isinstance(value, str):
        text = value.strip()
        if integer and _INTEGER_TEXT.fullmatch(text):
            parsed = int(text)
        elif not integer and _NUMBER_TEXT.fullmatch(text) and math.isfinite(float(text)):
            parsed = float(text)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        if not integer or value == int(value):
            parsed = int(value) if integer else float(value)
    if parsed is not None and (low is None or parsed >= low) and (
            high is None or (parsed < high if high_open else parsed <= high)):
        return parsed
    kind = "an integer" if integer else "a number"
    if low is not None and high is not None:
        bounds = f" in [{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        bounds = f" ≥ {low}"
    elif high is not None:
        bounds = f" ≤ {high}"
    else:
        bounds = ""
    raise ParameterError(f"{name}: {value!r} is not {kind}{bounds}")
