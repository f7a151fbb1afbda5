"""The constructor and ``with_options`` refuse durations that no call could honour.

A negative, zero, infinite or NaN ``timeout`` or ``deadline`` used to be accepted and to
fail only at the first call, or never (an infinite deadline); ``backoff_base="soon"``
raised a bare `TypeError` from inside attrs. Each now raises `LeanError` naming the
argument, at construction.
"""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async import LeanClient, LeanError

KEY = "test_key_call_settings"

NOT_SECONDS = [-1, -0.5, 0, 0.0, math.nan, math.inf, -math.inf, True, "5", "soon", [5]]


@pytest.mark.parametrize("name", ["timeout", "deadline"])
@pytest.mark.parametrize("bad", NOT_SECONDS)
def test_constructor_refuses_a_duration_that_is_not_positive_seconds(
    name: str, bad: object
) -> None:
    """timeout= and deadline= take finite seconds > 0 (or None)."""
    with pytest.raises(LeanError, match=rf"^{name} must be a finite number of seconds > 0"):
        LeanClient(api_key=KEY, **{name: bad})


@pytest.mark.parametrize("name", ["timeout", "deadline"])
@pytest.mark.parametrize("bad", NOT_SECONDS)
async def test_with_options_refuses_what_the_constructor_refuses(name: str, bad: object) -> None:
    """with_options checks the same rules; the original client is unchanged."""
    async with LeanClient(api_key=KEY) as lean:
        with pytest.raises(LeanError, match=rf"^{name} must be"):
            lean.with_options(**{name: bad})


@pytest.mark.parametrize("phase", ["connect", "read", "write", "pool"])
def test_each_phase_of_an_httpx_timeout_is_checked(phase: str) -> None:
    """An httpx.Timeout with one negative phase names that phase."""
    timeout = httpx.Timeout(5.0, **{phase: -1.0})
    with pytest.raises(LeanError, match=rf"^timeout\.{phase} must be"):
        LeanClient(api_key=KEY, timeout=timeout)


@pytest.mark.parametrize("name", ["backoff_base", "backoff_cap"])
@pytest.mark.parametrize("bad", [-1, -0.1, math.nan, math.inf, True, "soon", None])
def test_backoff_must_be_finite_non_negative_seconds(name: str, bad: object) -> None:
    """backoff_base= and backoff_cap= take finite seconds >= 0 (0: retry at once)."""
    with pytest.raises(LeanError, match=rf"^{name} must be a finite number of seconds >= 0"):
        LeanClient(api_key=KEY, **{name: bad})


async def test_the_durations_users_pass_are_accepted() -> None:
    """None, ints, floats, an httpx.Timeout with open phases and a zero backoff all work."""
    clients = [
        LeanClient(api_key=KEY, timeout=None, deadline=None),
        LeanClient(api_key=KEY, timeout=5, deadline=60),
        LeanClient(api_key=KEY, timeout=httpx.Timeout(None, connect=2.0), deadline=0.25),
        LeanClient(api_key=KEY, backoff_base=0, backoff_cap=0),
    ]
    for lean in clients:
        assert lean.with_options(timeout=1.5, deadline=3).max_retries == lean.max_retries
        await lean.aclose()


@given(
    seconds=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**6), 10**6))
)
def test_a_deadline_is_accepted_exactly_when_it_is_finite_and_positive(seconds: float) -> None:
    """Property: the rule is exactly "finite and > 0", for every number."""
    valid = math.isfinite(seconds) and seconds > 0
    lean = LeanClient(api_key=KEY)
    try:
        copy = lean.with_options(deadline=seconds)
    except LeanError:
        assert not valid
    else:
        assert valid
        assert copy.deadline == seconds
    finally:
        asyncio.run(lean.aclose())
