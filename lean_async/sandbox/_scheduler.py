"""Timed jobs (status transitions, webhook attempts) on the sandbox's clock.

With a `ManualClock` nothing runs on its own: `Scheduler.advance` moves the clock from
one due job to the next and awaits each job in order, so tests are deterministic and
never sleep. With any other clock a background task, started lazily inside the running
event loop, sleeps until the next job falls due and runs each job as its own task.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable

from lean_async.sandbox._clock import Clock, ManualClock

__all__ = ["Job", "Scheduler"]

Job = Callable[[], Awaitable[None]]

logger = logging.getLogger("lean_async.sandbox")


class Scheduler:
    """A queue of jobs ordered by due time on one clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queue: list[tuple[float, int, Job]] = []
        self._counter = itertools.count()
        self._runner: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._running: set[asyncio.Future[None]] = set()

    @property
    def pending(self) -> int:
        """How many jobs wait for their time (running jobs excluded)."""
        return len(self._queue)

    def call_later(self, delay: float, job: Job) -> None:
        """Run *job* once *delay* seconds of clock time have passed."""
        due = self._clock.time() + max(delay, 0.0)
        heapq.heappush(self._queue, (due, next(self._counter), job))
        if self._wake is not None:
            self._wake.set()
        self.ensure_started()

    async def advance(self, seconds: float) -> None:
        """Move a `ManualClock` forward, running each job at its due time, in order.

        Jobs scheduled by the jobs themselves run too when they fall due in the window.
        Overlapping calls (two tasks advancing at once, or a job that advances) are
        safe: the clock only ever moves forward, to the latest time asked for.

        Raises:
            TypeError: the clock is not a `ManualClock`.
            ValueError: *seconds* is negative.
        """
        clock = self._clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs a ManualClock; this sandbox runs on real time")
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        target = clock.time() + seconds
        while self._queue and self._queue[0][0] <= target:
            due, _, job = heapq.heappop(self._queue)
            clock.move_to(max(due, clock.time()))
            await job()
        clock.move_to(max(target, clock.time()))

    def ensure_started(self) -> None:
        """Start the background runner for a real clock, if inside a running loop."""
        if isinstance(self._clock, ManualClock):
            return
        if self._runner is not None and not self._runner.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: the first call inside one starts the runner
        self._wake = asyncio.Event()
        self._runner = loop.create_task(self._run(self._wake), name="lean-sandbox-scheduler")

    async def aclose(self) -> None:
        """Stop the runner and cancel jobs in flight; queued jobs stay queued."""
        tasks = [*self._running, *([self._runner] if self._runner is not None else [])]
        self._runner = None
        self._wake = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            delay = self._start_due_jobs()
            if delay is None:
                await wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()

    def _start_due_jobs(self) -> float | None:
        now = self._clock.time()
        while self._queue and self._queue[0][0] <= now:
            _, _, job = heapq.heappop(self._queue)
            task = asyncio.ensure_future(job())
            self._running.add(task)
            task.add_done_callback(self._finished)
        return self._queue[0][0] - now if self._queue else None

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("sandbox job failed", exc_info=task.exception())
