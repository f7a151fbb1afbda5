"""Polling until an object reaches a state, on a clock tests can replace.

`poll_until` is the one loop behind ``customers.wait_until_active`` and the
``wait_until_settled`` methods. It reads the time and sleeps through the current
`WaitClock`: the machine's clock by default, or one a test suite installs with
`set_wait_clock` (``lean_async.testing`` has one that moves the built-in sandbox's
`ManualClock` instead of sleeping, so approvals and settlements happen at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from lean_async.models import Gig, PaymentStatus, SpecialPayment

__all__ = [
    "RealWaitClock",
    "WaitClock",
    "get_wait_clock",
    "is_settled",
    "poll_until",
    "set_wait_clock",
]

T = TypeVar("T")


@runtime_checkable
class WaitClock(Protocol):
    """What a wait needs from a clock: the time, and a way to let it pass."""

    def monotonic(self) -> float:
        """Return the current time in seconds from any fixed origin."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once *seconds* have passed on this clock."""
        ...


class RealWaitClock:
    """The machine's clock: `time.monotonic` and `asyncio.sleep`."""

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "RealWaitClock()"


_REAL = RealWaitClock()
_current: WaitClock = _REAL


def set_wait_clock(clock: WaitClock | None) -> WaitClock:
    """Make every SDK wait use *clock* (None: the real clock again); return the previous one."""
    global _current
    previous, _current = _current, (_REAL if clock is None else clock)
    return previous


def get_wait_clock() -> WaitClock:
    """Return the clock SDK waits use now."""
    return _current


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float,
    poll_interval: float,
    describe: Callable[[T], str],
) -> T:
    """Call *fetch* until *done* accepts its result, sleeping *poll_interval* between calls.

    *fetch* may raise to stop the wait (an error, or a state that can never become done).

    Raises:
        ValueError: *timeout* or *poll_interval* is negative.
        TimeoutError: not done after *timeout* seconds of the wait clock; its message is
            ``describe(last value)`` and the timeout.
    """
    if timeout < 0:
        raise ValueError("timeout must be >= 0")
    if poll_interval < 0:
        raise ValueError("poll_interval must be >= 0")
    clock = _current  # one clock for the whole wait, even if a test swaps it meanwhile
    give_up = clock.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        remaining = give_up - clock.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{describe(value)} after {timeout} s")
        await clock.sleep(min(poll_interval, remaining))


def is_settled(payment: Gig | SpecialPayment) -> bool:
    """Return whether a payment reached its final status (SUCCESS or FAILED)."""
    return payment.status in (PaymentStatus.SUCCESS, PaymentStatus.FAILED)
