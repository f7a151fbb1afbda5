"""Pace requests to what Lean allows, in one process or shared across many.

Every `LeanClient` paces itself by default (`AdaptiveRateLimiter`): it sends as fast as
its calls come until Lean answers ``429`` (or announces its limit in ``RateLimit-*``
headers); then every call of the client waits its turn in one token bucket whose rate
drops on throttling and climbs back on success. Retries wait their turn in the same
bucket. ``LeanClient(rate_limit=N)`` adds a fixed ceiling of N requests per second.

Several processes paying one payroll share one budget through Redis::

    from lean_async.ratelimit import RedisRateLimiter
    limiter = RedisRateLimiter(redis.asyncio.Redis.from_url(url), rate_limit=200)
    LeanClient(rate_limiter=limiter)

A limiter of your own implements `RateLimiter`.
"""

import typing

from lean_async.ratelimit._adaptive import AdaptiveRateLimiter
from lean_async.ratelimit._feedback import SUCCESS, Feedback, feedback_from
from lean_async.ratelimit._protocol import RateLimiter

if typing.TYPE_CHECKING:
    from lean_async.ratelimit._redis import RedisRateLimiter as RedisRateLimiter

__all__ = [
    "SUCCESS",
    "AdaptiveRateLimiter",
    "Feedback",
    "RateLimiter",
    "RedisRateLimiter",
    "feedback_from",
]


def __getattr__(name: str) -> object:
    # RedisRateLimiter needs the [redis] extra; importing this package must not.
    if name == "RedisRateLimiter":
        from lean_async.ratelimit._redis import RedisRateLimiter as RedisRateLimiter

        return RedisRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
