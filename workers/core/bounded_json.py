"""JSON from strangers: refused when nested deeper than a limit, before the
recursive decoder sees it (a 50,000-level `[[[...]]]` would end in RecursionError),
and when an integer has more than INT_DIGITS digits (Python refuses to read one
with a ValueError that names no place; smaller ones too large for a float are
left to the fields, which say so: workers/core/bounded_numbers.py).

The depth is counted in one vectorised pass over the bytes: brackets inside
strings are masked out first, so `["[[["]` has depth 1."""

import json
from typing import Any, NoReturn

import numpy as np

DEFAULT_MAX_DEPTH = 64
INT_DIGITS = 4300  # Python's default limit for text -> int (sys.int_info.default_max_str_digits)

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_CLOSE = np.zeros(256, dtype=np.int8)
_CLOSE[[ord("]"), ord("}")]] = 1


class JsonTooDeep(ValueError):
    def __init__(self, depth: int, max_depth: int):
        super().__init__(f"JSON nested deeper than {max_depth} levels.")
        self.depth, self.max_depth = depth, max_depth


class JsonNumberTooLong(ValueError):
    def __init__(self, digits: int):
        super().__init__(f"a number of {digits:,} digits (the most a JSON integer may have is {INT_DIGITS:,}).")
        self.digits = digits


class NonJsonConstant(ValueError):
    """NaN or Infinity where they are not allowed."""


def nesting_depth(data: bytes) -> int:
    """The deepest bracket nesting of a JSON text (UTF-8 bytes); garbage in,
    some number out (the decoder reports the syntax error)."""
    b = np.frombuffer(data, dtype=np.uint8)
    if not b.size:
        return 0
    quotes = b == _QUOTE
    if quotes.any():
        # a quote is escaped when an odd run of backslashes precedes it
        escaped = np.zeros(b.size, dtype=bool)
        backslash = b == _BACKSLASH
        if backslash.any():
            idx = np.flatnonzero(quotes)
            positions = np.arange(b.size)
            last_other = np.maximum.accumulate(np.where(backslash, -1, positions))
            before = idx - 1
            run = np.where(before >= 0, before - last_other[np.maximum(before, 0)], 0)
            escaped[idx[run % 2 == 1]] = True
        real = quotes & ~escaped
        inside = (np.cumsum(real) % 2).astype(bool) & ~real  # between an opening and its closing quote
    else:
        inside = np.zeros(b.size, dtype=bool)
    step = _OPEN[b].astype(np.int32) - _CLOSE[b]
    step[inside] = 0
    return int(np.cumsum(step).max(initial=0))


def loads(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH, *, allow_nan: bool = False) -> Any:
    """json.loads with a nesting limit (JsonTooDeep) and, unless allow_nan,
    no NaN/Infinity (ValueError): neither is JSON, and a NaN pose must not be
    stored. (Prediction files allow them, to name each such row as a problem.)
    An integer of more than INT_DIGITS digits: JsonNumberTooLong."""
    raw = data.encode() if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") > max_depth:  # else it cannot be too deep: skip the scan
        depth = nesting_depth(raw)
        if depth > max_depth:
            raise JsonTooDeep(depth, max_depth)
    constant = None if allow_nan else _refuse_constant
    try:
        return json.loads(raw, parse_constant=constant)
    except (json.JSONDecodeError, NonJsonConstant):
        raise
    except ValueError:
        # int() refused an integer too long; read again, slowly, to say so (a
        # hook on every integer doubles the time of the common case)
        return json.loads(raw, parse_int=_parse_int, parse_constant=constant)


def _parse_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > INT_DIGITS:
        raise JsonNumberTooLong(digits)
    try:
        return int(text)
    except ValueError:  # the interpreter's limit set lower (PYTHONINTMAXSTRDIGITS)
        raise JsonNumberTooLong(digits) from None


def _refuse_constant(name: str) -> NoReturn:
    raise NonJsonConstant(f"{name} is not valid JSON.")
