"""Numbers from outside (JSON bodies and files, CSV cells, dataset files,
import options) made finite and bounded where they enter, or refused with a
NumberError that names the value and says why.

Why one helper: Python's JSON gives integers of any size, and one too large for
a float (over ~309 digits) makes float(), math.isfinite and numpy raise
OverflowError; text of over 4,300 digits cannot even become an int (ValueError);
and float() takes "1_0", "nan" and " infinity " as numbers. Each of those was a
500 or a stopped import where it reached code that assumed a sane number, so
the checks run here, on the value as it came, before any conversion."""

from __future__ import annotations

import math
import re
from numbers import Integral, Real

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_FLOAT_BITS = 1024  # an int of more bits is beyond the largest float (1.8e308)


class NumberError(ValueError):
    """A number that cannot be used; the message names it and says why."""


def is_number(value: object) -> bool:
    """A real number as JSON or numpy gives it: an int or a float, never a bool
    (numpy's bool is no Real; Python's is an int, hence the check)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def shown(value: object) -> str:
    """The value for a message: a huge integer by its length, not its digits."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        n = int(value)
        return str(n) if n.bit_length() <= 50 else f"an integer of {digit_count(n):,} digits"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value!r:.40}"


def digit_count(n: int) -> int:
    """Decimal digits of |n|, without str() (which refuses over 4,300 digits)."""
    n = abs(n)
    d = int(n.bit_length() * 0.30102999566398120) + 1  # log10(2): exact or one too many
    return d if n >= 10 ** (d - 1) or d == 1 else d - 1


def real(value: object, what: str, *, low: float = -math.inf, high: float = math.inf, finite: bool = True) -> float:
    """`value` (an int of any size or a float; not a bool, str or None) as a float
    in [low, high]. NaN and infinities are refused, unless `finite` is False (for
    a caller that reports them itself, like the prediction files)."""
    if not is_number(value):
        raise NumberError(f"{what} must be a number, not {type(value).__name__} {shown(value)}")
    if isinstance(value, Integral) and int(value).bit_length() > _FLOAT_BITS:
        raise NumberError(f"{what} = {shown(value)} is too large for a number (over 1.8e308)")
    number = float(value)  # type: ignore[arg-type]  # a Real: int (small enough), float, numpy number
    if not math.isfinite(number):
        if finite:
            raise NumberError(f"{what} must be a finite number, not {number}")
        return number
    if not low <= number <= high:
        raise NumberError(f"{what} = {shown(value)} is outside {describe_range(low, high)}")
    return number


def integer(value: object, what: str, *, low: int, high: int) -> int:
    """`value` (an int of any size, not a bool; a float is refused: 3.0 is a
    client's slip) as an int in [low, high], compared as ints."""
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise NumberError(f"{what} must be an integer, not {type(value).__name__} {shown(value)}")
    n = int(value)
    if not low <= n <= high:
        raise NumberError(f"{what} = {shown(n)} is outside {describe_range(low, high)}")
    return n


def parse_real(text: str, what: str, *, low: float = -math.inf, high: float = math.inf, finite: bool = True) -> float:
    """A decimal number written as text (a CSV cell, a line of a dataset's text
    file): digits, a point, an exponent. The words nan / inf only when `finite` is
    False; digits too many for a float are refused either way."""
    s = text.strip()
    if _NON_FINITE.fullmatch(s):
        if finite:
            raise NumberError(f"{what} must be a finite number, not {s!r:.40}")
        return float(s)
    if not _DECIMAL.fullmatch(s):
        raise NumberError(f"{what}: {s!r:.40} is not a number")
    number = float(s)  # any number of digits reads as a float (inf when too large); never raises
    if math.isinf(number):
        raise NumberError(f"{what} = {s[:20]}... is too large for a number (over 1.8e308)")
    if not low <= number <= high:
        raise NumberError(f"{what} = {number:g} is outside {describe_range(low, high)}")
    return number


def parse_integer(text: str, what: str, *, low: int, high: int) -> int:
    """Digits written as text (a frame number in a file name) as an int in
    [low, high]; the length is checked before int() (which refuses over 4,300 digits)."""
    s = text.strip()
    if not _INTEGER.fullmatch(s):
        raise NumberError(f"{what}: {s!r:.40} is not an integer")
    digits = len(s.lstrip("+-").lstrip("0")) or 1
    if digits > len(str(max(abs(low), abs(high)))):
        raise NumberError(f"{what} is an integer of {digits:,} digits, outside {describe_range(low, high)}")
    return integer(int(s), what, low=low, high=high)


def describe_range(low: float, high: float) -> str:
    def fmt(v: float) -> str:
        return f"{v:,}" if isinstance(v, int) else f"{v:g}"

    if low == -math.inf:
        return f"the accepted range (at most {fmt(high)})"
    if high == math.inf:
        return f"the accepted range (at least {fmt(low)})"
    return f"the accepted range {fmt(low)} .. {fmt(high)}"
