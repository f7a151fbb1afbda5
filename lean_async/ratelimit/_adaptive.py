"""The client's own pacing: a token bucket whose rate follows the server's answers.

Until the server first throttles (and without a ceiling) it does not limit at all: a
turn is a counter increment, with no lock and no await. On a throttled answer the rate
becomes a fraction of what was being sent (multiplicative decrease); each answer that is
not throttled adds a little back (additive increase: the rate regains what it lost in
*recovery* seconds, then keeps rising five times slower until throttled again). Only the first
throttled answer to requests sent at the current rate lowers it: answers to requests
sent before the last decrease were already accounted for (the decrease's *epoch*). While
a server throttles, the rate of answers it lets through is about its limit, so a
decrease never leaves the pace above that (nor below half what it was).

Callers that must wait queue up (first come, first served) and only the first of them
sleeps until the bucket holds a turn: after a stall of the event loop, at most a bucket's
worth of turns (*BURST* seconds of them) go at once, never every turn the stall delayed.
The bucket is guarded by a `threading.Lock` (never held across an await) and each event
loop has its own queue, so one limiter serves any number of event loops and threads.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final

from lean_async.ratelimit._feedback import SUCCESS, Feedback
from lean_async.ratelimit._meter import WINDOW, Meter
from lean_async.ratelimit._queue import WaitQueue, fresh_lock_after_fork

__all__ = ["AdaptiveRateLimiter"]

DECREASE: Final = 0.85
"""The rate kept after a throttled answer."""

RECOVERY: Final = 2.0
"""Seconds the additive increase takes to regain what a decrease took."""

MIN_RATE: Final = 0.5
"""The slowest pace, in requests per second: a throttled client still makes progress."""

BURST: Final = 0.05
"""Seconds of turns the bucket holds: a short burst after a pause, never a long one."""

UNLIMITED_AFTER: Final = 4.0
"""Without a ceiling, a rate this many times the last throttled one stops limiting."""

FAR_ABOVE: Final = 0.5
"""The least share of the rate a decrease keeps, whatever got through meanwhile."""

MIN_GROWTH: Final = 0.1
"""Below the last throttled pace, the increase adds at least this share of it per second."""

PROBE: Final = 0.1
"""Above the last throttled pace, the rate climbs this much slower: the limit is near, and
each second spent above it drains the server's own burst allowance."""

PASSED_SHARE: Final = 0.95
"""After a throttled answer, the pace is at most this share of the rate that got through."""

USED_SHARE: Final = 0.9
"""The rate grows only while at least this share of it is both sent and let through: an
allowance far above what is sent would let a burst through later, and a pace above what
the server answers only queues requests there, which it lets through in a burst when it
catches up."""

MEASURED_AFTER: Final = 2 * WINDOW
"""Seconds of pacing after which the rate of answers let through measures the server's
limit: before that, it still counts what the server's own burst allowance let through
while the client was not limiting (often well above the limit)."""

STALE_WEIGHT: Final = 1 / 16
"""In the first second of pacing, each throttled answer to a request sent before the last
decrease counts as this share of a decrease, down to *FAR_ABOVE* of what was sent when
pacing began: how many of the requests already in flight come back 429 says how far above
the limit the pace was (all 64 of them: far above, when the server's burst allowance hid
the limit; a few: just above)."""

ANNOUNCED_SHARE: Final = 0.95
"""The share of a limit the server announced that the client aims for."""


_WHOLE: Final = 1.0 - 1e-9  # a turn, allowing for rounding in the refill arithmetic
_BATCH: Final = 16  # unlimited, turns and passes are timed 16 at a time


class AdaptiveRateLimiter:
    """A token bucket shared by every request of a client, adapting to throttling.

    Args:
        rate_limit: a fixed ceiling in requests per second (``None``: none; the bucket
            then limits only after the server throttles).
        adaptive: follow the server's answers; ``False`` keeps the ceiling fixed.
        decrease: the share of the rate kept after a throttled answer (0 < x < 1).
        recovery: seconds the rate takes to climb back after a decrease.
        clock: a monotonic clock in seconds.
        sleep: awaited to wait for a turn.

    Raises:
        ValueError: a ceiling that is not a positive number, or *decrease*/*recovery*
            out of range, or ``adaptive=False`` without a ceiling.
    """

    def __init__(
        self,
        rate_limit: float | None = None,
        *,
        adaptive: bool = True,
        decrease: float = DECREASE,
        recovery: float = RECOVERY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_limit is not None and not (rate_limit > 0 and math.isfinite(rate_limit)):
            raise ValueError(f"rate_limit must be a positive number of requests/s: {rate_limit!r}")
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1: {decrease!r}")
        if not recovery > 0:
            raise ValueError(f"recovery must be a positive number of seconds: {recovery!r}")
        if not adaptive and rate_limit is None:
            raise ValueError("adaptive=False needs a rate_limit to hold")
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._adaptive = adaptive
        self._decrease = decrease
        self._recovery = recovery
        self._ceiling = None if rate_limit is None else float(rate_limit)
        self._announced: float | None = None
        self._rate: float | None = self._ceiling
        self._peak = self._ceiling or 0.0
        self._paced_since = -math.inf if self._ceiling is not None else math.inf
        self._stale_floor = 0.0
        self._slope = 0.0
        now = clock()
        self._tokens = self._capacity()
        self._updated = now
        self._epoch = 0
        self._sent = Meter(now)
        self._passes = Meter(now)  # answers not throttled
        self._unmetered_sent = self._unmetered_passes = 0
        self._queue = WaitQueue()
        fresh_lock_after_fork(self)

    def __repr__(self) -> str:
        rate = "unlimited" if self._rate is None else f"{self._rate:.1f}/s"
        return f"AdaptiveRateLimiter(rate={rate}, ceiling={self._ceiling})"

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or ``None`` while not limiting."""
        return self._rate

    @property
    def ceiling(self) -> float | None:
        """The fixed ceiling in requests per second, if any."""
        return self._ceiling

    def try_acquire(self) -> int | None:
        """Take a turn now if one is free; return its epoch, or ``None`` to `acquire`."""
        if self._rate is None:
            # Unguarded (a lost count only blurs a measurement), and timed in batches.
            self._unmetered_sent += 1
            if self._unmetered_sent >= _BATCH:
                self._unmetered_sent = 0
                self._sent.add(self._clock(), _BATCH)
            return self._epoch
        with self._lock:
            rate: float | None = self._limiting()
            if rate is None:
                self._count(self._clock())
                return self._epoch
            now = self._clock()
            self._refill(now, rate)
            if self._tokens < _WHOLE or self._queue.waiting:
                return None
            self._tokens -= 1.0
            self._count(now)
            return self._epoch

    async def acquire(self) -> int:
        """Wait for a turn, behind the callers already waiting; return its epoch."""
        async with self._queue.turn():
            while True:
                with self._lock:
                    now, rate = self._clock(), self._limiting()
                    if rate is None:
                        self._count(now)
                        return self._epoch
                    self._refill(now, rate)
                    if self._tokens >= _WHOLE:
                        self._tokens -= 1.0
                        self._count(now)
                        return self._epoch
                    wait = (1.0 - self._tokens) / rate
                await self._sleep(wait)

    def record(self, epoch: int, feedback: Feedback) -> None:
        """Adapt to how a request sent in *epoch* was answered."""
        if feedback is SUCCESS:
            if self._rate is None:
                self._unmetered_passes += 1  # as in try_acquire
                if self._unmetered_passes >= _BATCH:
                    self._unmetered_passes = 0
                    self._passes.add(self._clock(), _BATCH)
            elif self._adaptive:
                with self._lock:
                    now = self._clock()
                    self._passes.add(now)
                    self._increase(now)
            return
        with self._lock:
            now = self._clock()
            if feedback.limit is not None:
                self._announced = feedback.limit * ANNOUNCED_SHARE
            if not self._adaptive:
                return
            if feedback.throttled and epoch == self._epoch:
                self._lower(now)
            elif feedback.throttled and now - self._paced_since < MEASURED_AFTER:
                self._lower_stale()
            elif feedback.limit is not None and (self._rate is None or self._rate > self._top()):
                if self._rate is None:
                    self._paced_since = now
                self._rate = self._top()
            if feedback.reset is not None and self._rate is not None:
                # Nothing passes before the reset: owe the turns until then.
                self._refill(now, self._rate)
                self._tokens = min(self._tokens, -feedback.reset * self._rate)
                self._epoch += 1
            elif not feedback.throttled:
                self._passes.add(now)
                self._increase(now)

    # -- inside the lock ----------------------------------------------------------

    def _limiting(self) -> float | None:
        return self._rate  # read again under the lock: another thread may have changed it

    def _capacity(self) -> float:
        return 1.0 if self._rate is None else max(1.0, self._rate * BURST)

    def _top(self) -> float:
        tops = [top for top in (self._ceiling, self._announced) if top is not None]
        return min(tops) if tops else math.inf

    def _refill(self, now: float, rate: float) -> None:
        self._tokens = min(self._capacity(), self._tokens + (now - self._updated) * rate)
        self._updated = now

    def _count(self, now: float) -> None:
        self._sent.add(now)

    def _lower(self, now: float) -> None:
        self._sent.add(now, self._unmetered_sent)
        self._passes.add(now, self._unmetered_passes)
        self._unmetered_sent = self._unmetered_passes = 0
        base = self._rate if self._rate is not None else self._sent.rate(now)
        base = min(base, self._top())
        if self._rate is None:
            self._paced_since = now
            self._stale_floor = base * FAR_ABOVE
        # While the server throttles, what it lets through is about its limit.
        passed = self._passes.rate(now)
        rate = min(base * self._decrease, max(base * FAR_ABOVE, passed * PASSED_SHARE))
        if now - self._paced_since >= MEASURED_AFTER:
            # Never below a decrease from what got through: requests queued at the server
            # while it was behind are throttled when it catches up, whatever the pace
            # was, and each would otherwise lower it again. Not in the first second of
            # pacing: what got through then includes the server's burst allowance, and
            # such a floor held the pace far above the limit (1.7-2 L) for a second.
            rate = max(rate, min(base, passed * self._decrease))
        # Climb back to about the limit within *recovery* seconds, then probe slowly: the
        # pace that was throttled may have been far above it (what got through is not,
        # unless the server stalled, hence the floor).
        self._peak = min(base, max(passed, rate / self._decrease, self._peak))
        self._slope = (self._peak - rate) / self._recovery
        self._rate = max(MIN_RATE, rate)
        self._epoch += 1
        self._tokens = min(self._tokens, 0.0)  # no burst right after a throttled answer
        self._updated = now

    def _lower_stale(self) -> None:
        rate = self._rate
        if rate is not None and rate > self._stale_floor:
            step = 1.0 - (1.0 - self._decrease) * STALE_WEIGHT
            self._rate = max(MIN_RATE, self._stale_floor, rate * step)

    def _increase(self, now: float) -> None:
        rate = self._rate
        if rate is None:
            return
        top = self._top()
        floor = USED_SHARE * rate
        if rate >= top or self._sent.rate(now) < floor or self._passes.rate(now) < floor:
            return
        slope = max(self._slope, rate * MIN_GROWTH)
        if rate >= self._peak:
            slope *= PROBE
        rate = min(top, rate + slope / rate)
        if top == math.inf and rate > UNLIMITED_AFTER * self._peak:
            self._rate = None
            return
        self._rate = rate
