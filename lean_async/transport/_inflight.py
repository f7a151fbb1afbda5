"""How many attempts the pacing layer lets be in flight while its limiter limits.

A token bucket bounds how fast attempts are sent, not how many wait at the server: a
server that stalls (starved of CPU, a pause) keeps every attempt sent meanwhile, and when
it catches up it answers all of them at once, against a bucket of its own that holds
about one second of its limit. With several clients sharing one pace, each at
concurrency 64, that backlog is larger than the server's bucket and the excess is
answered 429 whatever the pace. While limiting, the pacing layer therefore lets at most
`WINDOW` seconds of the pace be in flight (or `ROUND_TRIPS` of the quickest recent round
trips, for a server far away), never fewer than `MIN_IN_FLIGHT`: N processes sharing one
pace R then hold at most N x 0.1 x R at a stalled server, within its one-second bucket for
up to about ten of them. Not limiting, nothing is counted (the hot path is unchanged).
The cap is shared by every event loop and thread the layer serves, and is waited for
first come, first served.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import threading
from collections.abc import Callable
from typing import Final

from lean_async.ratelimit._queue import fresh_lock_after_fork

__all__ = ["MIN_IN_FLIGHT", "ROUND_TRIPS", "WINDOW", "InFlightCap", "LatencyFloor"]

WINDOW: Final = 0.1
"""Seconds of the current pace that may be in flight while the limiter limits (0.25 s let
4 processes at concurrency 64 hold more than a one-second bucket: 340 429s in one run)."""

ROUND_TRIPS: Final = 3.0
"""...or this many of the quickest recent round trips' worth, if longer: a server far away
needs more in flight to be sent its pace."""

MIN_IN_FLIGHT: Final = 4
"""The cap never goes below this many attempts in flight."""

_FLOOR_PERIOD: Final = 5.0  # the quickest round trip is kept over 5-10 s


class LatencyFloor:
    """The quickest round trip seen over the last 5-10 seconds (0 before any)."""

    __slots__ = ("_current", "_previous", "_start")

    def __init__(self) -> None:
        self._start = -math.inf
        self._current = math.inf
        self._previous = math.inf

    def add(self, now: float, seconds: float) -> None:
        """Count one round trip of *seconds* that ended at *now*."""
        if now - self._start >= _FLOOR_PERIOD:
            self._previous = self._current if now - self._start < 2 * _FLOOR_PERIOD else math.inf
            self._current = math.inf
            self._start = now
        if seconds < self._current:
            self._current = seconds

    def seconds(self) -> float:
        """Return the quickest recent round trip, or 0 when none was seen lately."""
        quickest = min(self._current, self._previous)
        return 0.0 if quickest == math.inf else quickest


class _Waiter:
    __slots__ = ("future", "granted", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted = False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class InFlightCap:
    """Lets at most ``cap()`` attempts be in flight at once; the others wait their turn.

    Args:
        cap: the current cap (re-read on each entry and exit: it follows the pace);
            ``math.inf`` lets everyone in.
    """

    def __init__(self, cap: Callable[[], float]) -> None:
        self._cap = cap
        self._lock = threading.Lock()
        self._count = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()
        fresh_lock_after_fork(self)

    @property
    def in_flight(self) -> int:
        """Attempts that entered and have not left yet."""
        return self._count

    async def enter(self) -> None:
        """Wait until fewer than the cap are in flight (behind earlier waiters); enter."""
        with self._lock:
            if not self._waiters and self._count < self._cap():
                self._count += 1
                return
            waiter = _Waiter(asyncio.get_running_loop())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:  # let in just as it was cancelled: hand the place on
                self.leave()
            raise

    def leave(self) -> None:
        """Leave, letting in as many waiters as the cap now allows."""
        woken: list[_Waiter] = []
        with self._lock:
            self._count -= 1
            cap = self._cap()
            while self._waiters and self._count < cap:
                waiter = self._waiters.popleft()
                waiter.granted = True
                self._count += 1
                woken.append(waiter)
        for waiter in woken:
            self._wake(waiter)

    def _wake(self, waiter: _Waiter) -> None:
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is waiter.loop:
                _resolve(waiter.future)
                return
        try:
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
        except RuntimeError:  # its loop is closed: nobody will use the place
            self.leave()
