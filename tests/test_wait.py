"""The polling loop behind the SDK's waits, and the clock it waits on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lean_async._codec.convert import structure
from lean_async.models import Gig
from lean_async.resources._wait import is_settled, poll_until
from lean_async.testing import RealWaitClock, WaitClock, get_wait_clock, set_wait_clock
from tests.resources.conftest import GIG_JSON


class FakeClock:
    """A wait clock whose sleeps only add to its time, and are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and move the time on."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """A FakeClock installed as the wait clock for one test."""
    clock = FakeClock()
    previous = set_wait_clock(clock)
    yield clock
    set_wait_clock(previous)


async def test_polls_on_the_installed_clock(fake_clock: FakeClock) -> None:
    """poll_until sleeps through the installed clock between reads, never for real."""
    values = iter([1, 2, 3])

    async def fetch() -> int:
        return next(values)

    result = await poll_until(fetch, lambda v: v == 3, timeout=10, poll_interval=2, describe=str)
    assert result == 3
    assert fake_clock.sleeps == [2, 2]


async def test_times_out_with_the_last_value_described(fake_clock: FakeClock) -> None:
    """A value never done raises TimeoutError naming it; the last sleep is cut to the rest."""

    async def fetch() -> str:
        return "PENDING"

    with pytest.raises(TimeoutError, match=r"still PENDING after 5 s"):
        await poll_until(
            fetch, lambda v: False, timeout=5, poll_interval=2, describe=lambda v: f"still {v}"
        )
    assert fake_clock.sleeps == [2, 2, 1]


@pytest.mark.parametrize(("timeout", "interval"), [(-1, 1), (1, -0.5)])
async def test_negative_settings_are_refused(timeout: float, interval: float) -> None:
    """A negative timeout or poll interval is a ValueError before any read."""

    async def fetch() -> int:
        raise AssertionError("must not be called")

    with pytest.raises(ValueError, match="must be >= 0"):
        await poll_until(fetch, bool, timeout=timeout, poll_interval=interval, describe=str)


def test_set_wait_clock_none_restores_the_real_clock() -> None:
    """set_wait_clock returns the previous clock; None puts the real one back."""
    fake = FakeClock()
    previous = set_wait_clock(fake)
    try:
        assert get_wait_clock() is fake
        assert isinstance(fake, WaitClock)
    finally:
        assert set_wait_clock(None) is fake
    assert isinstance(get_wait_clock(), RealWaitClock)
    set_wait_clock(previous)


async def test_real_clock_sleeps_for_real() -> None:
    """The default clock's sleep takes real time and its monotonic moves."""
    clock = RealWaitClock()
    before = clock.monotonic()
    await clock.sleep(0.01)
    assert clock.monotonic() - before >= 0.005
    assert repr(clock) == "RealWaitClock()"


@pytest.mark.parametrize(
    ("status", "settled"), [("PENDING", False), ("SUCCESS", True), ("failed", True), ("NEW", False)]
)
def test_is_settled(status: str, settled: bool) -> None:
    """Only SUCCESS and FAILED (any case) are final; unknown statuses are not."""
    gig = structure({**GIG_JSON, "status": status}, Gig)
    assert is_settled(gig) is settled
