"""Hypothesis strategies for argument values a careless or hostile caller may pass.

Shared by the builder tests and the resource tests: text that UTF-8 cannot encode or
that holds control characters, wrong types, amounts of absurd size, datetimes whose
tzinfo misbehaves.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from lean_async.models import SpecialPaymentType

__all__ = [
    "ANYTHING",
    "BAD_TZINFOS",
    "HUGE_AMOUNTS",
    "NASTY_TEXT",
    "ODD_DATETIMES",
    "WRONG_TYPES",
    "BadOffset",
]


class BadOffset(dt.tzinfo):
    """A tzinfo whose ``utcoffset()`` returns (or raises) whatever it was given."""

    def __init__(self, offset: Any) -> None:
        self._offset = offset

    def __repr__(self) -> str:
        return f"BadOffset({self._offset!r})"

    def utcoffset(self, _: dt.datetime | None) -> Any:
        """Return the configured offset, or raise it when it is an exception."""
        if isinstance(self._offset, BaseException):
            raise self._offset
        return self._offset

    def dst(self, _: dt.datetime | None) -> dt.timedelta | None:
        """No daylight saving time."""
        return None

    def tzname(self, _: dt.datetime | None) -> str | None:
        """No name."""
        return None


BAD_TZINFOS: list[dt.tzinfo] = [
    BadOffset(dt.timedelta(hours=24)),
    BadOffset(dt.timedelta(hours=-24)),
    BadOffset(dt.timedelta(days=3)),
    BadOffset(3600),
    BadOffset("+01:00"),
    BadOffset(ValueError("no offset today")),
    BadOffset(RuntimeError("tz database missing")),
    BadOffset(ZeroDivisionError()),
]
"""tzinfos whose offset is out of range, not a timedelta, or an exception."""

_FINE_TZINFOS: list[dt.tzinfo | None] = [
    None,  # naive
    dt.UTC,
    dt.timezone(dt.timedelta(hours=23, minutes=59)),
    dt.timezone(dt.timedelta(hours=-23, minutes=-59)),
    BadOffset(dt.timedelta(microseconds=1)),  # odd, but a valid offset
    BadOffset(None),  # aware by its tzinfo, naive by its offset
]

ODD_DATETIMES = st.builds(
    lambda moment, tz: moment.replace(tzinfo=tz),
    st.datetimes(),
    st.sampled_from([*BAD_TZINFOS, *_FINE_TZINFOS]),
)
"""Datetimes across the whole range, with tzinfos good, odd and broken."""

_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
_CONTROLS = st.characters(max_codepoint=0x1F) | st.sampled_from(["\x7f", "\x85", "\u2028", "\r\n"])
NASTY_TEXT = st.builds(
    lambda head, odd, tail: head + odd + tail,
    st.text(max_size=6),
    _SURROGATES | _CONTROLS | st.just(""),
    st.text(max_size=6),
)
"""Text with a lone surrogate or a control character somewhere (or neither)."""

HUGE_AMOUNTS = st.sampled_from(
    [
        Decimal("1E+100000000"),
        Decimal("1E+999999999"),
        Decimal("-1E+999999999"),
        Decimal("1E-999999999"),
        Decimal("0E+999999999"),
        Decimal("1000000000.00"),
        Decimal("-999999999.99"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
        10**400,
        -(10**400),
        "1E+100000000",
        "9" * 100_000,
        "1000000000",
        "-0",
    ]
) | st.builds(
    lambda sign, digits, exponent: Decimal((sign, digits, exponent)),
    st.integers(0, 1),
    st.tuples(st.integers(0, 9), st.integers(0, 9)),
    st.integers(-(10**9), 10**9),
)
"""Amounts at, around and far beyond the ceiling, in every accepted type."""

WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=4),
    st.decimals(),
    st.dates(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.integers() | st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(SpecialPaymentType),
    st.just(object()),
    st.just(("a", "b")),
)
"""Values of types no argument takes (and some of the types some take)."""

ANYTHING = st.one_of(NASTY_TEXT, WRONG_TYPES, HUGE_AMOUNTS, ODD_DATETIMES)
"""Any of the above."""
