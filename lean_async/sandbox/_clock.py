"""The sandbox's sense of time: the real clock, or a manual one that tests move."""

from __future__ import annotations

import datetime as dt
import time
from typing import Final, Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "RealClock", "SkewedClock", "stamp"]

MANUAL_EPOCH: Final = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@runtime_checkable
class Clock(Protocol):
    """What the sandbox needs from a clock.

    ``time()`` orders scheduled transitions and webhook retries; ``now()`` stamps
    ``createdAt``/``updatedAt``. Both must move forward together.
    """

    def time(self) -> float:
        """Return the current time in seconds, for scheduling (any fixed origin)."""
        ...

    def now(self) -> dt.datetime:
        """Return the current wall-clock time, timezone-aware."""
        ...


class RealClock:
    """The machine's clock: transitions happen on their own in a background task."""

    def time(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    def now(self) -> dt.datetime:
        """Return the current UTC time."""
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "RealClock()"


class SkewedClock(RealClock):
    """The machine's clock, its time of day set off by *skew*: a Lean whose clock is wrong.

    Timestamps (``createdAt``, the ``Date`` header) read ``now() + skew``; scheduling
    runs on the real monotonic clock. Tests use it to show that no outcome the SDK
    reports depends on the two machines' clocks agreeing.

    Args:
        skew: how far ahead (positive) or behind (negative) of this machine.
    """

    def __init__(self, skew: dt.timedelta) -> None:
        self.skew = skew

    def now(self) -> dt.datetime:
        """Return the current UTC time plus the skew."""
        return super().now() + self.skew

    def shift(self, seconds: float) -> None:
        """Move the time of day forward by *seconds* (as if that much time had passed).

        Raises:
            ValueError: *seconds* is negative (a clock never goes backwards).
        """
        if seconds < 0:
            raise ValueError(f"a clock cannot go back {-seconds} s")
        self.skew += dt.timedelta(seconds=seconds)

    def __repr__(self) -> str:
        return f"SkewedClock(skew={self.skew!r})"


class ManualClock:
    """A clock that only moves when told to; nothing happens between moves.

    Use `Sandbox.advance` to move it: that also runs, in order and at their own
    instants, every transition and webhook delivery that falls due on the way.

    Args:
        start: the wall-clock time at ``time() == 0``; defaults to 2025-01-01 UTC.
    """

    def __init__(self, start: dt.datetime = MANUAL_EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start
        self._elapsed = 0.0

    def time(self) -> float:
        """Return the seconds elapsed since the start."""
        return self._elapsed

    def now(self) -> dt.datetime:
        """Return the start plus the elapsed time."""
        return self._start + dt.timedelta(seconds=self._elapsed)

    def move_to(self, seconds: float) -> None:
        """Set the elapsed time to *seconds*; a clock never goes backwards.

        Raises:
            ValueError: *seconds* is earlier than the current time.
        """
        if seconds < self._elapsed:
            raise ValueError(f"a clock cannot go back from {self._elapsed} to {seconds}")
        self._elapsed = seconds

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now().isoformat()})"


def stamp(clock: Clock) -> dt.datetime:
    """Return ``clock.now()`` in UTC truncated to milliseconds, as the API shows it."""
    now = clock.now().astimezone(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
