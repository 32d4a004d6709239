"""workers.core.bounded_json: nesting depth counted outside strings, deep JSON
refused before the recursive decoder, NaN refused."""

import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.core.bounded_json import JsonTooDeep, loads, nesting_depth


@pytest.mark.parametrize(
    "text, depth",
    [
        ("", 0),
        ("1", 0),
        ('"[[["', 0),
        ("[]", 1),
        ("[[1]]", 2),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[["]', 1),
        ('["\\"[[", [1]]', 2),
        ('["\\\\", [[1]]]', 3),
        ('"\\\\\\"[["', 0),
        ('{"k\\\\": {}}', 2),
    ],
)
def test_depth_counts_brackets_outside_strings(text, depth):
    assert nesting_depth(text.encode()) == depth


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\'), inner, max_size=3),
    max_leaves=20,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(JSON)
def test_depth_agrees_with_the_decoded_value(value):
    assert nesting_depth(json.dumps(value).encode()) == _depth(value)


def test_fifty_thousand_levels_are_refused_without_recursion():
    body = "[" * 50_000 + "]" * 50_000
    assert sys.getrecursionlimit() < 50_000
    with pytest.raises(JsonTooDeep, match="deeper than 64"):
        loads(body)
    with pytest.raises(JsonTooDeep):
        loads('{"a":' * 100 + "1" + "}" * 100, max_depth=99)
    assert loads('{"a":' * 99 + "1" + "}" * 99, max_depth=99) is not None


def test_values_and_limits():
    assert loads(b'{"R": [1, 0, 0], "s": "[[[[[["}', max_depth=2) == {"R": [1, 0, 0], "s": "[[[[[["}
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="not valid JSON"):
            loads(f"[{constant}]")
    with pytest.raises(json.JSONDecodeError):
        loads("[1,")


def test_a_deeply_nested_prediction_file_is_a_problem_not_a_recursion_error():
    from workers.core.predictions import PredictionFileError, parse_predictions

    with pytest.raises(PredictionFileError, match="deeper than 64"):
        parse_predictions(("[" * 50_000 + "]" * 50_000).encode(), "p.json", "application/json", ["a"])
    assert loads("[NaN]", allow_nan=True)[0] != loads("[NaN]", allow_nan=True)[0]
