"""workers/core/bounded_numbers.py: every number from outside becomes a bounded
finite float or int, or a NumberError naming it and saying why; integers of any
size included (a 400-digit one is no OverflowError, a 5,000-digit one no
ValueError)."""

import math

import numpy as np
import pytest

from workers.core import bounded_json, bounded_numbers
from workers.core.bounded_numbers import NumberError, digit_count, integer, parse_integer, parse_real, real


@pytest.mark.parametrize("value", [0, -7, 3.25, np.float32(2.5), np.int64(-4), 2**63, 10**300])
def test_real_takes_ints_of_any_fitting_size_and_floats(value):
    assert real(value, "x") == float(value)


@pytest.mark.parametrize(
    "value, reason",
    [
        (7 * 10**350, "x = an integer of 351 digits is too large for a number"),
        (-(10**4000), "x = an integer of 4,001 digits is too large"),
        (True, "x must be a number, not bool True"),
        (np.bool_(False), "x must be a number, not bool_"),
        ("12", "x must be a number, not str '12'"),
        (None, "x must be a number, not NoneType"),
        ([1], "x must be a number, not list"),
        (math.nan, "x must be a finite number, not nan"),
        (-math.inf, "x must be a finite number, not -inf"),
        (1e300, "x = 1e+300 is outside the accepted range -1,000 .. 1,000"),
        (2**70, "x = an integer of 22 digits is outside the accepted range -1,000 .. 1,000"),
    ],
)
def test_real_refuses_with_the_reason(value, reason):
    with pytest.raises(NumberError) as err:
        real(value, "x", low=-1000, high=1000)
    assert str(err.value).startswith(reason), str(err.value)
    assert len(str(err.value)) < 200  # a huge integer is named by its length, not printed


def test_real_keeps_non_finite_values_when_the_caller_reports_them():
    assert math.isnan(real(math.nan, "x", finite=False))
    assert real(-math.inf, "x", finite=False) == -math.inf
    with pytest.raises(NumberError, match="too large"):
        real(10**400, "x", finite=False)  # an integer is never infinite: too large, said so


def test_integer_compares_as_integers_whatever_the_size():
    assert integer(2**31 - 1, "id", low=1, high=2**31 - 1) == 2**31 - 1
    for value, reason in [
        (2**31, "id = 2147483648 is outside the accepted range 1 .. 2,147,483,647"),
        (10**5000, "id = an integer of 5,001 digits is outside"),
        (0, "id = 0 is outside"),
        (3.0, "id must be an integer, not float 3"),
        (True, "id must be an integer, not bool"),
    ]:
        with pytest.raises(NumberError) as err:
            integer(value, "id", low=1, high=2**31 - 1)
        assert str(err.value).startswith(reason), str(err.value)


@pytest.mark.parametrize(
    "text, value", [("12", 12.0), (" -0.5e3 ", -500.0), (".25", 0.25), ("7.", 7.0), ("+1E-2", 0.01)]
)
def test_parse_real_reads_decimal_numbers(text, value):
    assert parse_real(text, "cell") == value


@pytest.mark.parametrize(
    "text, reason",
    [
        ("1_0", "cell: '1_0' is not a number"),  # float() would read 10
        ("0x1A", "is not a number"),
        ("", "is not a number"),
        ("nan", "cell must be a finite number, not 'nan'"),
        ("-Infinity", "must be a finite number"),
        ("9" * 400, "cell = 99999999999999999999... is too large for a number"),
        ("1e999", "too large"),
        ("5001", "cell = 5001 is outside the accepted range (at most 5,000)"),
    ],
)
def test_parse_real_refuses_with_the_reason(text, reason):
    with pytest.raises(NumberError) as err:
        parse_real(text, "cell", high=5000)
    assert reason in str(err.value), str(err.value)


def test_parse_real_may_read_nan_and_infinity_but_never_too_many_digits():
    assert math.isnan(parse_real("NaN", "cell", finite=False))
    assert parse_real("-inf", "cell", finite=False) == -math.inf
    with pytest.raises(NumberError, match="too large"):
        parse_real("1" * 5001, "cell", finite=False)


def test_parse_integer_checks_the_length_before_reading_the_digits():
    assert parse_integer("000123", "frame number", low=0, high=2**31 - 1) == 123
    with pytest.raises(
        NumberError, match=r"an integer of 6,000 digits, outside the accepted range 0 \.\. 2,147,483,647"
    ):
        parse_integer("8" * 6000, "frame number", low=0, high=2**31 - 1)  # int() itself would refuse it
    with pytest.raises(NumberError, match="= 2147483648 is outside"):
        parse_integer("2147483648", "frame number", low=0, high=2**31 - 1)
    with pytest.raises(NumberError, match="is not an integer"):
        parse_integer("12a", "frame number", low=0, high=10)


def test_digit_count_is_exact():
    for n in [0, 9, 10, 99, 100, 2**64, 10**399 - 1, 10**399, 10**5000]:
        assert digit_count(n) == len(str(n)) if n < 10**4000 else digit_count(n) == 5001


def test_json_integers_beyond_pythons_limit_are_a_clear_error():
    assert bounded_json.loads(b"[" + b"9" * 4300 + b"]")[0] == 10**4300 - 1
    for text in (b'{"x": ' + b"1" * 5001 + b"}", b"[-" + b"2" * 4301 + b"]"):
        with pytest.raises(bounded_json.JsonNumberTooLong, match="the most a JSON integer may have is 4,300"):
            bounded_json.loads(text)
    with pytest.raises(bounded_json.JsonNumberTooLong):
        bounded_json.loads(b"[NaN, " + b"3" * 4400 + b"]", allow_nan=True)
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        bounded_json.loads(b"[NaN]")
    assert bounded_numbers.is_number(bounded_json.loads(b"[" + b"5" * 400 + b"]")[0])
