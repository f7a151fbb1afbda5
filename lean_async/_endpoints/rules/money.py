"""Kinds of amounts: `Decimal` in whole cents, never rounded, never a float.

An amount's absolute value is at most `MAX_AMOUNT`, checked from the exponent before
any arithmetic, and an amount string is at most `MAX_AMOUNT_CHARS` characters, checked
before it is parsed: a huge exponent or a long string is refused in microseconds.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from lean_async._endpoints.rules.base import Invalid, Kind

__all__ = [
    "CENTS_ONLY",
    "MAX_AMOUNT",
    "MAX_AMOUNT_CHARS",
    "amount",
    "exact_sum",
]

MAX_AMOUNT: Final = Decimal("999999999.99")
"""The largest absolute amount accepted: a payroll never reaches a billion in one payment."""

MAX_AMOUNT_CHARS: Final = 32
"""The longest amount string accepted (``"-999999999.99"`` is 13; zero padding fits)."""

CENTS_ONLY: Final = "must have at most 2 decimal places (amounts are never rounded)"
CEILING: Final = f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}"

_MONEY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# At most 9 integer digits and exactly 2 decimals: |amount| < 10**9, in whole cents.
_PLAIN_CENTS = re.compile(r"-?[0-9]{1,9}\.[0-9]{2}")
_MONEY_EXAMPLE = "a decimal string such as '15.00'"
_CENT = Decimal("0.01")
# For whole cents, |amount| <= MAX_AMOUNT  <=>  |amount| < 10**9  <=>  adjusted() < 9.
_CEILING_DIGITS: Final = 9
_CEILING_UNITS: Final = 10**_CEILING_DIGITS
# Quantizing an amount below the ceiling to cents needs 11 digits; any exponent is allowed
# so that 1E-999999999 rounds to 0.00 instead of raising.
_CENTS_CONTEXT = decimal.Context(
    prec=20, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)
# Exact arithmetic for sums of amounts (the default context rounds at 28 digits).
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def exact_sum(*amounts: Decimal) -> Decimal:
    """Return the sum of *amounts* without rounding."""
    total = Decimal(0)
    for value in amounts:
        total = _EXACT.add(total, value)
    return total


def _cents(value: Decimal) -> Decimal:
    """Return *value* as whole cents, or refuse it: not finite, too large, or rounded.

    The ceiling is read from the exponent before any arithmetic, so ``1E+999999999``
    costs as little as ``1``.
    """
    if not value.is_finite():
        raise Invalid("must be a finite amount")
    if not value.is_zero() and value.adjusted() >= _CEILING_DIGITS:
        raise Invalid(CEILING)
    cents = value.quantize(_CENT, context=_CENTS_CONTEXT)
    if cents != value:
        raise Invalid(CENTS_ONLY)
    return cents  # below 1E+9 and in whole cents: within MAX_AMOUNT


def _money_string(value: str) -> Decimal:
    if _PLAIN_CENTS.fullmatch(value):  # "15.00": whole cents below the ceiling as written
        return Decimal(value)
    if len(value) > MAX_AMOUNT_CHARS:  # before the regex and Decimal() read all of it
        raise Invalid(f"must be {_MONEY_EXAMPLE} of at most {MAX_AMOUNT_CHARS} characters")
    if not _MONEY.fullmatch(value):
        raise Invalid(f"must be {_MONEY_EXAMPLE}")
    return _cents(Decimal(value))


def _wire(value: object) -> Decimal:
    if isinstance(value, int | float):  # bool included
        raise Invalid(f"must be {_MONEY_EXAMPLE}, not a JSON number")
    if not isinstance(value, str):
        raise Invalid(f"must be {_MONEY_EXAMPLE}")
    return _money_string(value)


def _argument(value: object) -> Decimal:
    if isinstance(value, str):
        return _money_string(value)
    if isinstance(value, Decimal):
        return _cents(value)
    if isinstance(value, bool):
        raise Invalid(f"must be a Decimal, an int or {_MONEY_EXAMPLE}, not a bool")
    if isinstance(value, float):
        raise Invalid("floats lose cents; pass a Decimal or a string such as '15.00'")
    if isinstance(value, int):
        # Compared as ints, before Decimal() (or a Decimal comparison) converts the digits.
        if not -_CEILING_UNITS < value < _CEILING_UNITS:
            raise Invalid(CEILING)
        return _cents(Decimal(value))
    raise Invalid(f"must be a Decimal, an int or {_MONEY_EXAMPLE}")


def _refined(
    read: Callable[[object], Decimal], holds: Callable[[Decimal], bool], message: str
) -> Callable[[object], Decimal]:
    def parse(value: object) -> Decimal:
        cents = read(value)
        if not holds(cents):
            raise Invalid(message)
        return cents

    return parse


def amount(holds: Callable[[Decimal], bool], message: str) -> Kind:
    """Return the kind of an amount in whole cents for which *holds* is true.

    On the wire an amount is a decimal string (never a JSON number); a caller passes a
    `Decimal`, an int or a decimal string (never a float or a bool).
    """
    return Kind(_refined(_wire, holds, message), _refined(_argument, holds, message))
