"""Tests for parse_retry_after."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async.transport import parse_retry_after

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Thu, 02 Jan 2025 03:05:05 GMT", 60.0),
        ("Thu, 02 Jan 2025 03:04:05 GMT", 0.0),
        ("Wed, 01 Jan 2025 03:04:05 GMT", 0.0),
        ("Thu, 02 Jan 2025 03:05:05 -0000", 60.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("inf", None),
        ("nan", None),
        ("1e3", None),
        ("Thu, 32 Jan 2025 03:05:05 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Delta-seconds and HTTP-dates become seconds; anything else is None."""
    assert parse_retry_after(value, NOW) == expected


def test_naive_now_is_read_as_utc() -> None:
    """A naive `now` is taken to be UTC."""
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Thu, 02 Jan 2025 03:05:05 GMT", naive) == 60.0


def test_default_now_is_the_clock() -> None:
    """Without `now`, an HTTP-date is measured from the current time."""
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    result = parse_retry_after(when)
    assert result is not None
    assert 85.0 < result <= 90.0


def test_huge_delta_is_infinite() -> None:
    """A delta too large for a float reads as infinitely far away, not as absent."""
    assert parse_retry_after("9" * 400) == math.inf


@given(
    value=st.one_of(
        st.none(),
        st.text(),
        st.from_regex(r"\A[0-9]{1,20}(\.[0-9]{1,5})?\Z"),
        st.datetimes(timezones=st.just(UTC)).map(lambda d: email.utils.format_datetime(d)),
    ),
    now=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)), st.datetimes()),
)
def test_never_raises_and_never_negative(value: str | None, now: datetime | None) -> None:
    """Any input gives None or a non-negative number, never an exception."""
    result = parse_retry_after(value, now)
    assert result is None or result >= 0
