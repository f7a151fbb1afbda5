"""The scheduler alone: manual stepping and the real-clock background runner."""

from __future__ import annotations

import asyncio

import pytest

from lean_async.sandbox import ManualClock, RealClock
from lean_async.sandbox._scheduler import Job, Scheduler


async def test_manual_jobs_run_in_due_order_at_their_time() -> None:
    """advance runs due jobs in order with the clock at each job's due time."""
    clock = ManualClock()
    scheduler = Scheduler(clock)
    seen: list[tuple[str, float]] = []

    def job(name: str) -> Job:
        async def run() -> None:
            seen.append((name, clock.time()))
            if name == "a":
                scheduler.call_later(0.5, job("c"))

        return run

    scheduler.call_later(2.0, job("b"))
    scheduler.call_later(1.0, job("a"))
    await scheduler.advance(1.5)
    assert seen == [("a", 1.0), ("c", 1.5)]
    assert clock.time() == 1.5
    assert scheduler.pending == 1
    await scheduler.advance(10)
    assert seen[-1] == ("b", 2.0)
    assert clock.time() == 11.5


def test_real_clock_jobs_queue_without_a_loop() -> None:
    """call_later outside any running loop only queues the job."""
    scheduler = Scheduler(RealClock())

    async def job() -> None:
        """Never run in this test."""

    scheduler.call_later(0, job)
    assert scheduler.pending == 1


async def test_real_clock_runner_starts_inside_the_loop_and_sleeps() -> None:
    """Queued jobs run once the runner starts; later jobs wake it up."""
    scheduler = Scheduler(RealClock())
    done: list[str] = []
    finished = asyncio.Event()

    async def first() -> None:
        done.append("first")

    async def second() -> None:
        done.append("second")
        finished.set()

    scheduler.call_later(0, first)  # the loop runs now: this starts the runner
    await asyncio.sleep(0.02)  # let it go idle, waiting for work
    scheduler.call_later(0.02, second)
    scheduler.ensure_started()  # already running: nothing happens
    async with asyncio.timeout(5):
        await finished.wait()
    await scheduler.aclose()
    assert done == ["first", "second"]


async def test_failing_job_is_logged_and_the_runner_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job that raises is logged; later jobs still run."""
    scheduler = Scheduler(RealClock())
    ran = asyncio.Event()

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        ran.set()

    scheduler.call_later(0, boom)
    scheduler.call_later(0.01, fine)
    async with asyncio.timeout(5):
        await ran.wait()
    await scheduler.aclose()
    assert "sandbox job failed" in caplog.text


async def test_aclose_cancels_jobs_in_flight() -> None:
    """aclose cancels a running job, and a second aclose is harmless."""
    scheduler = Scheduler(RealClock())
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    scheduler.call_later(0, forever)
    async with asyncio.timeout(5):
        await started.wait()
    await scheduler.aclose()
    await scheduler.aclose()
    assert scheduler.pending == 0


async def test_overlapping_advances_never_move_the_clock_back() -> None:
    """Two tasks advancing at once (or a job that advances) leave the clock at the latest."""
    clock = ManualClock()
    scheduler = Scheduler(clock)
    seen: list[float] = []

    async def slow_job() -> None:
        seen.append(clock.time())
        await asyncio.sleep(0)  # let the other advance run meanwhile
        await scheduler.advance(5)  # a job that advances, as a wait inside a webhook would

    scheduler.call_later(1.0, slow_job)
    await asyncio.gather(scheduler.advance(2), scheduler.advance(1))
    assert seen == [1.0]
    assert clock.time() == 7.0  # 1 (the job) + 1 (the other advance) + 5 (the job's)
