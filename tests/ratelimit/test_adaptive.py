"""`AdaptiveRateLimiter`: free until throttled, then a bucket that follows the answers."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from lean_async.ratelimit import SUCCESS, AdaptiveRateLimiter, Feedback, RateLimiter
from lean_async.ratelimit._adaptive import (
    ANNOUNCED_SHARE,
    DECREASE,
    FAR_ABOVE,
    PASSED_SHARE,
    STALE_WEIGHT,
)

THROTTLED = Feedback(throttled=True)


class FakeTime:
    """A clock that only the limiter's sleeps move."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def limiter(self, rate_limit: float | None = None, **kwargs: object) -> AdaptiveRateLimiter:
        return AdaptiveRateLimiter(
            rate_limit,
            clock=self.clock,
            sleep=self.sleep,
            **kwargs,  # type: ignore[arg-type]
        )


def _send(limiter: AdaptiveRateLimiter, time_: FakeTime, count: int, every: float) -> int:
    """Take *count* turns *every* seconds without waiting, each answered fine."""
    epoch = 0
    for _ in range(count):
        taken = limiter.try_acquire()
        assert taken is not None
        epoch = taken
        limiter.record(epoch, SUCCESS)
        time_.now += every
    return epoch


def test_it_is_a_rate_limiter() -> None:
    """The default limiter implements the protocol the pacing layer drives."""
    assert isinstance(AdaptiveRateLimiter(), RateLimiter)


def test_unthrottled_it_never_limits() -> None:
    """Until a throttled answer, every turn is free at once and there is no rate."""
    time_ = FakeTime()
    limiter = time_.limiter()
    _send(limiter, time_, 10_000, 0.0001)
    assert limiter.rate is None
    assert time_.slept == []


async def test_a_ceiling_paces_from_the_start() -> None:
    """rate_limit=10: ten turns after the first take about a second, waiting in turn."""
    time_ = FakeTime()
    limiter = time_.limiter(10)
    started = time_.now
    for _ in range(11):
        if limiter.try_acquire() is None:
            await limiter.acquire()
    assert time_.now - started == pytest.approx(1.0, abs=0.01)
    assert limiter.rate == limiter.ceiling == 10


def test_a_throttled_answer_lowers_the_rate_below_what_got_through() -> None:
    """From unlimited, a 429 sets the pace under the sending rate and what passed."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 400, 0.005)  # 200/s for 2 s, all let through
    limiter.record(epoch, THROTTLED)
    assert limiter.rate is not None
    assert 200 * FAR_ABOVE <= limiter.rate <= 200 * PASSED_SHARE * 1.01


def test_only_one_decrease_per_epoch() -> None:
    """Answers to requests sent before a decrease do not lower the rate again (in the
    first second of pacing, each lowers it by a sixteenth of a decrease)."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 400, 0.005)
    limiter.record(epoch, THROTTLED)
    lowered = limiter.rate
    assert lowered is not None
    for _ in range(8):
        limiter.record(epoch, THROTTLED)  # the rest of that burst's 429s
    assert limiter.rate == pytest.approx(lowered * (1 - (1 - DECREASE) * STALE_WEIGHT) ** 8)
    time_.now += 1 / 160
    epoch = _send(limiter, time_, 160, 1 / 160)  # a second at the new pace gets through
    before = limiter.rate
    assert before is not None
    for _ in range(20):
        limiter.record(epoch - 1, THROTTLED)  # late answers to what was sent before
    assert limiter.rate == before
    limiter.record(epoch, THROTTLED)  # sent at the new pace, and still too fast
    assert limiter.rate is not None
    assert limiter.rate < before


def test_requests_queued_at_the_server_do_not_lower_the_pace_again_and_again() -> None:
    """Throttled right after a decrease (a backlog let through at once), the pace stays
    within a decrease of what got through, however many of them come back 429."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 400, 0.005)
    limiter.record(epoch, THROTTLED)  # pacing from here
    time_.now += 1 / 160
    epoch = _send(limiter, time_, 200, 1 / 160)  # 160/s for 1.25 s, all let through
    before = limiter.rate
    assert before is not None
    for _ in range(10):
        limiter.record(epoch, THROTTLED)
        epoch += 1
        time_.now += 0.01
    # A decrease each would leave 196 x 0.85^10 = 39/s; the meter of what got through
    # fades (160 -> 128/s) over the 0.1 s without an answer let through.
    assert limiter.rate is not None
    assert 0.65 * 160 <= limiter.rate <= DECREASE * before


def test_the_first_second_of_pacing_lowers_the_pace_on_each_throttled_epoch() -> None:
    """Unlimited at 400/s against a server whose burst let all of it through: each
    epoch still throttled lowers the pace again (what got through measured the server's
    burst, not its limit), down to about the limit within 5 decreases."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 300, 0.0025)  # 400/s for 0.75 s, all let through
    for _ in range(5):
        limiter.record(epoch, THROTTLED)
        epoch += 1
        time_.now += 0.02
    assert limiter.rate is not None
    assert limiter.rate < 200  # 5 decreases from 384/s sent: 181/s, not held at 330/s


def test_a_first_throttle_that_all_requests_in_flight_share_lowers_the_pace_far() -> None:
    """Unlimited at 400/s, then all 64 requests in flight answered 429 (each waits out
    its Retry-After, so nothing is sent at the new pace for a second): the pace ends
    near half what was sent, not at 0.85 of it."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 300, 0.0025)
    for _ in range(64):
        limiter.record(epoch, THROTTLED)
        time_.now += 0.001
    assert limiter.rate is not None
    assert FAR_ABOVE * 380 <= limiter.rate <= 0.6 * 400


async def test_successes_raise_the_rate_while_it_is_used() -> None:
    """After a decrease, answers that get through climb the pace back; idle, it stays."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 400, 0.005)
    limiter.record(epoch, THROTTLED)
    low = limiter.rate
    assert low is not None
    for _ in range(300):  # as fast as the limiter allows
        epoch = limiter.try_acquire() or await limiter.acquire()
        limiter.record(epoch, SUCCESS)
    assert limiter.rate is not None
    assert limiter.rate > low
    used = limiter.rate
    time_.now += 10.0  # nothing sent for a while
    limiter.record(epoch, SUCCESS)
    assert limiter.rate == used


def test_the_ceiling_caps_every_increase() -> None:
    """With rate_limit, the pace never climbs above it."""
    time_ = FakeTime()
    limiter = time_.limiter(50)
    for _ in range(100):
        limiter.record(0, SUCCESS)
    assert limiter.rate == 50


def test_an_announced_limit_caps_the_rate() -> None:
    """RateLimit-Policy 100/s: the client aims just under it."""
    time_ = FakeTime()
    limiter = time_.limiter()
    limiter.record(0, Feedback(limit=100.0))
    assert limiter.rate == pytest.approx(100 * ANNOUNCED_SHARE)


async def test_a_reset_holds_every_turn_until_then() -> None:
    """RateLimit-Remaining 0 with Reset 2: the next turn waits about 2 s."""
    time_ = FakeTime()
    limiter = time_.limiter(100)
    limiter.record(0, Feedback(limit=100.0, reset=2.0))
    started = time_.now
    assert limiter.try_acquire() is None
    await limiter.acquire()
    assert time_.now - started == pytest.approx(2.0, abs=0.05)


async def test_waiters_go_first_come_first_served() -> None:
    """Callers that wait are let through in the order they came."""
    time_ = FakeTime()
    limiter = time_.limiter(5)
    order: list[int] = []

    async def caller(n: int) -> None:
        await limiter.acquire()
        order.append(n)

    await asyncio.gather(*(caller(n) for n in range(8)))
    assert order == list(range(8))


async def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    """Cancelling a caller in the queue lets the ones behind it through."""
    limiter = AdaptiveRateLimiter(20)
    await limiter.acquire()  # the bucket's one turn
    first = asyncio.create_task(limiter.acquire())
    second = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    first.cancel()
    async with asyncio.timeout(2):
        await second
    assert first.cancelled()


def test_one_limiter_serves_several_event_loops_and_threads() -> None:
    """Two threads, each with its own loop, share one 40/s budget (no loop-bound state)."""
    limiter = AdaptiveRateLimiter(40)
    limiter.try_acquire()  # empty the one-turn bucket first

    async def take(count: int) -> None:
        for _ in range(count):
            if limiter.try_acquire() is None:
                await limiter.acquire()

    started = time.monotonic()
    threads = [threading.Thread(target=asyncio.run, args=(take(10),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    asyncio.run(take(4))  # and a third loop afterwards
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 3.0  # 24 turns at 40/s


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_limit": 0},
        {"rate_limit": -1.0},
        {"rate_limit": float("inf")},
        {"decrease": 1.0},
        {"recovery": 0},
        {"adaptive": False},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    """A ceiling that is not a positive number, or out-of-range tuning, is a ValueError."""
    with pytest.raises(ValueError, match=r"rate_limit|decrease|recovery"):
        AdaptiveRateLimiter(**kwargs)  # type: ignore[arg-type]


def test_a_fixed_ceiling_ignores_throttling() -> None:
    """adaptive=False holds the ceiling whatever the server says."""
    limiter = AdaptiveRateLimiter(30, adaptive=False)
    limiter.record(0, THROTTLED)
    assert limiter.rate == 30


def test_repr_says_the_pace_and_the_ceiling() -> None:
    """The repr shows whether it limits, and at what."""
    assert repr(AdaptiveRateLimiter()) == "AdaptiveRateLimiter(rate=unlimited, ceiling=None)"
    assert repr(AdaptiveRateLimiter(12)) == "AdaptiveRateLimiter(rate=12.0/s, ceiling=12.0)"


async def test_acquire_while_unlimited_returns_at_once() -> None:
    """Awaiting a turn from a limiter that does not limit never sleeps."""
    time_ = FakeTime()
    limiter = time_.limiter()
    assert await limiter.acquire() == 0
    assert time_.slept == []


async def test_a_rate_far_above_the_last_throttle_stops_limiting() -> None:
    """Once the pace is four times what was throttled, and used, the bucket steps aside."""
    time_ = FakeTime()
    limiter = time_.limiter()
    epoch = _send(limiter, time_, 40, 0.05)  # 20/s
    limiter.record(epoch, THROTTLED)
    for _ in range(20_000):  # bounded: each turn at the full pace, each answered fine
        if limiter.rate is None:
            break
        epoch = limiter.try_acquire() or await limiter.acquire()
        limiter.record(epoch, SUCCESS)
    assert limiter.rate is None


def test_a_forked_child_gets_a_lock_of_its_own() -> None:
    """A lock held while the process forks is replaced in the child, which can go on."""
    import os

    limiter = AdaptiveRateLimiter(1000)
    with limiter._lock:
        pid = os.fork()
        if pid == 0:  # the child: take a turn, which needs the lock
            ok = limiter.try_acquire() is not None
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
