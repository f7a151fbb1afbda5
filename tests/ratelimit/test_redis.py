"""`RedisRateLimiter` on a real redis-server: one budget for several clients."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from lean_async.ratelimit import SUCCESS, Feedback, RateLimiter, RedisRateLimiter
from lean_async.ratelimit._redis import SLOW_START_RATE


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the throwaway server."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def _key() -> str:
    return f"test:ratelimit:{uuid.uuid4().hex}"


async def test_it_is_a_rate_limiter(redis_client: aioredis.Redis) -> None:
    """It implements the protocol, and never hands out a turn without asking Redis."""
    limiter = RedisRateLimiter(redis_client, key=_key())
    assert isinstance(limiter, RateLimiter)
    assert limiter.try_acquire() is None


async def test_two_clients_share_one_ceiling(redis_client: aioredis.Redis) -> None:
    """Two limiters on one key at 20/s together: 20 turns take about a second."""
    key = _key()
    first = RedisRateLimiter(redis_client, key=key, rate_limit=20)
    second = RedisRateLimiter(redis_client, key=key, rate_limit=20)
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire() for limiter in [first, second] * 10))
    elapsed = time.monotonic() - started
    assert 0.8 <= elapsed < 3.0
    assert first.rate == second.rate == 20


async def test_a_new_bucket_starts_slow_and_grows_while_used(
    redis_client: aioredis.Redis,
) -> None:
    """Without a ceiling the shared pace starts at the slow-start rate and climbs."""
    limiter = RedisRateLimiter(redis_client, key=_key())
    epoch = await limiter.acquire()
    assert limiter.rate == SLOW_START_RATE
    for _ in range(30):
        limiter.record(epoch, SUCCESS)
        epoch = await limiter.acquire()
    assert limiter.rate is not None
    assert limiter.rate > SLOW_START_RATE


async def test_a_throttled_answer_in_one_process_slows_all(redis_client: aioredis.Redis) -> None:
    """A 429 reported through one limiter lowers the pace the other one gets."""
    key = _key()
    one = RedisRateLimiter(redis_client, key=key, rate_limit=100)
    other = RedisRateLimiter(redis_client, key=key, rate_limit=100)
    epoch = await one.acquire()
    one.record(epoch, Feedback(throttled=True))
    await one.acquire()  # the report travels with the next call
    await other.acquire()
    assert other.rate is not None
    assert other.rate < 100
    lowered = other.rate
    one.record(epoch, Feedback(throttled=True))  # same epoch: already accounted for
    await one.acquire()
    assert one.rate == pytest.approx(lowered, rel=0.05)


async def test_a_reset_holds_every_process(redis_client: aioredis.Redis) -> None:
    """RateLimit-Remaining 0, Reset 1: the next turn, in any process, waits about 1 s."""
    key = _key()
    one = RedisRateLimiter(redis_client, key=key, rate_limit=50)
    other = RedisRateLimiter(redis_client, key=key, rate_limit=50)
    epoch = await one.acquire()
    one.record(epoch, Feedback(reset=1.0))
    holding = asyncio.create_task(one.acquire())  # carries the reset to Redis, then waits
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await other.acquire()
    assert time.monotonic() - started >= 0.6
    await holding


def test_a_ceiling_must_be_positive() -> None:
    """rate_limit=0 is refused before Redis is touched."""
    with pytest.raises(ValueError, match="rate_limit"):
        RedisRateLimiter(aioredis.Redis(), rate_limit=0)


async def test_an_unreachable_redis_raises_and_keeps_what_was_learned() -> None:
    """A Redis error reaches the caller; the feedback it was carrying is kept for later."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from tests.webhooks._support import free_port

    client = aioredis.Redis(port=free_port(), socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(client, key=_key())
    assert "RedisRateLimiter" in repr(limiter)
    limiter.record(0, SUCCESS)
    limiter.record(0, Feedback(throttled=True, limit=10.0, reset=1.0))
    try:
        with pytest.raises(RedisConnectionError):
            await limiter.acquire()
        assert limiter._passes == 1
        assert limiter._throttled == 0
    finally:
        await client.aclose()
