"""`lean_async.resources._outcome`: Lean's clock from ``Date``, the one-second edge, keys
seen answered."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lean_async.resources._outcome import AnsweredKeys, current, http_date, made_since, recording

DATE = "Tue, 24 Nov 2026 09:00:10 GMT"
LEAN_NOW = dt.datetime(2026, 11, 24, 9, 0, 10, tzinfo=dt.UTC)


def test_http_date_reads_the_imf_fixdate_and_refuses_what_is_not_a_date() -> None:
    """The header's instant comes back in UTC; a missing or garbled one is None."""
    assert http_date(DATE) == LEAN_NOW
    assert http_date("Tue, 24 Nov 2026 09:00:10 -0000") == LEAN_NOW
    assert http_date(None) is None
    assert http_date("") is None
    assert http_date("yesterday") is None


def test_a_payment_stamped_after_the_start_on_leans_clock_was_made_by_the_call() -> None:
    """Start = Date less the elapsed time; at or after it: made by the call; before: there."""
    start = LEAN_NOW - dt.timedelta(seconds=2.5)
    assert made_since(start, DATE, 2.5) is True
    assert made_since(start + dt.timedelta(milliseconds=1), DATE, 2.5) is True
    # createdAt is truncated to the millisecond: a stamp in the start's millisecond counts.
    assert made_since(start - dt.timedelta(microseconds=999), DATE, 2.5) is True
    assert made_since(start - dt.timedelta(milliseconds=1), DATE, 2.5) is False
    assert made_since(LEAN_NOW - dt.timedelta(hours=1), DATE, 2.5) is False


def test_without_a_date_or_a_created_at_the_outcome_is_unknown() -> None:
    """Nothing to compare on Lean's clock: None, never a guess from this machine's clock."""
    assert made_since(None, DATE, 0.1) is None
    assert made_since(LEAN_NOW, None, 0.1) is None
    assert made_since(LEAN_NOW, "not a date", 0.1) is None


@given(
    true_start=st.floats(min_value=0, max_value=3600),
    call_seconds=st.floats(min_value=0.0005, max_value=30),
    made_after=st.floats(min_value=0, max_value=1),
)
def test_a_payment_the_call_made_is_never_counted_as_already_there(
    true_start: float, call_seconds: float, made_after: float
) -> None:
    """Whatever the phase of Lean's second, the call's own payment is "made since the start".

    The call starts at *true_start* (Lean's seconds after LEAN_NOW's minute), Lean makes
    the payment *made_after* of the call's span later and stamps ``Date`` (truncated to
    the second) at the end; the judgement uses only the Date and the elapsed time.
    """
    origin = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    made = origin + dt.timedelta(seconds=true_start + made_after * call_seconds)
    made = made.replace(microsecond=made.microsecond // 1000 * 1000)  # createdAt: ms
    answered = origin + dt.timedelta(seconds=true_start + call_seconds)
    date = answered.replace(microsecond=0).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert made_since(made, date, call_seconds) is True


def test_the_one_second_edge_a_payment_made_just_before_the_call_may_count_as_its_own() -> None:
    """Date is truncated: a payment made less than a second before the start can count as made.

    This is the documented edge; a payment made more than one second (plus the call's
    time) before the start is always "already there".
    """
    # The call runs 09:00:10.900 -> 09:00:10.950 on Lean's clock; Date says 09:00:10.
    elapsed = 0.05
    just_before = dt.datetime(2026, 11, 24, 9, 0, 10, 200_000, tzinfo=dt.UTC)
    assert made_since(just_before, DATE, elapsed) is True  # the edge
    well_before = dt.datetime(2026, 11, 24, 9, 0, 9, 900_000, tzinfo=dt.UTC)
    assert made_since(well_before, DATE, elapsed) is False


def test_answered_keys_tell_a_repeat_answered_before_the_call_started() -> None:
    """Same key and id answered before the instant: True; later, or another id: False."""
    keys = AnsweredKeys()
    keys.add("k1", "sp_1", received=10.0)
    assert keys.answered_before("k1", "sp_1", 10.5)
    assert not keys.answered_before("k1", "sp_1", 9.5)  # the answer came after the start
    assert not keys.answered_before("k1", "sp_2", 10.5)  # another payment under that key
    assert not keys.answered_before("k2", "sp_1", 10.5)
    keys.add("k1", "sp_1", received=20.0)  # the first answer's instant stays
    assert keys.answered_before("k1", "sp_1", 10.5)


def test_answered_keys_keep_the_newest_size_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory is bounded: beyond SIZE keys the oldest is forgotten (the clock decides it)."""
    monkeypatch.setattr(AnsweredKeys, "SIZE", 3)
    keys = AnsweredKeys()
    for n in range(4):
        keys.add(f"k{n}", "id", received=float(n))
    assert not keys.answered_before("k0", "id", 100.0)
    assert all(keys.answered_before(f"k{n}", "id", 100.0) for n in (1, 2, 3))


async def test_recording_is_per_task_and_reaches_tasks_started_inside_it() -> None:
    """Each task has its own outcome; a task started inside the block reports to it."""
    assert current() is None

    async def report(value: bool) -> None:
        outcome = current()
        assert outcome is not None
        outcome.created = value

    async def one(value: bool) -> bool | None:
        with recording() as outcome:
            await asyncio.ensure_future(report(value))  # as the Temporal activity does
        return outcome.created

    assert await asyncio.gather(one(True), one(False)) == [True, False]
    assert current() is None
    with recording(earlier=-5) as outcome:
        assert outcome.earlier == 0.0  # never negative
