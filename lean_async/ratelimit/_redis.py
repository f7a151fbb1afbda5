"""`RedisRateLimiter`: one adaptive budget shared by every process that pays one payroll.

Needs the ``redis`` extra (``pip install 'lean-async[redis]'``)::

    import redis.asyncio as redis
    from lean_async.ratelimit import RedisRateLimiter

    limiter = RedisRateLimiter(redis.Redis.from_url("redis://localhost:6379/0"))
    async with LeanClient(rate_limiter=limiter) as lean: ...

The bucket lives in one Redis hash and changes only inside one Lua script, atomically,
on Redis's own clock (no two machines need to agree on the time): each call takes a
turn or says how long until one is free, and first applies what this process learned
since its last call (answers that got through raise the shared rate, a throttled one
lowers it: the same rules as `AdaptiveRateLimiter`). In each process, waiting callers
queue locally and only the first asks Redis, so Redis sees about one call per request.

Unlike the in-process limiter, a new shared bucket starts paced (slow start, as TCP):
at 40 requests/s, doubling about every 4.6 s while the pace is used up and let through,
until the first throttled answer, which halves it. N processes that all
start at once would otherwise have N times their concurrency in flight when the server
first throttles, and nearly all of it answered 429.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Final

try:
    import redis.asyncio as aioredis
except ImportError as exc:  # pragma: no cover - the extra is installed in the test suite
    raise ImportError(
        "lean_async.ratelimit.RedisRateLimiter needs redis: pip install 'lean-async[redis]'"
    ) from exc

from lean_async.ratelimit._adaptive import (
    ANNOUNCED_SHARE,
    BURST,
    DECREASE,
    FAR_ABOVE,
    MEASURED_AFTER,
    MIN_GROWTH,
    MIN_RATE,
    PASSED_SHARE,
    PROBE,
    RECOVERY,
    USED_SHARE,
)
from lean_async.ratelimit._feedback import SUCCESS, Feedback
from lean_async.ratelimit._meter import WINDOW
from lean_async.ratelimit._queue import WaitQueue, fresh_lock_after_fork

__all__ = ["DEFAULT_KEY", "RedisRateLimiter"]

DEFAULT_KEY: Final = "lean:ratelimit"
"""The Redis hash the shared bucket lives in."""

_IDLE_EXPIRY_MS: Final = 3_600_000  # a bucket nobody used for an hour is forgotten

SLOW_START_RATE: Final = 40.0
"""The shared pace, in requests per second, a new bucket without a ceiling starts at."""

SLOW_START_GAIN: Final = 0.15
"""Until the first throttled answer, each answer let through adds this many turns/s."""

# KEYS[1]: the bucket. ARGV: ceiling (0: none), passes since the caller's last call, the
# epoch of a throttled answer (-1: none), reset seconds (-1: none), announced limit
# (0: none), then the constants. Returns {wait in µs, epoch, rate x 1000 (0: unlimited)}.
_SCRIPT: Final = """
local key = KEYS[1]
local ceiling, passes, throttled = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local reset, announced = tonumber(ARGV[4]), tonumber(ARGV[5])
local decrease, far, growth, recovery = tonumber(ARGV[6]), tonumber(ARGV[7]),
    tonumber(ARGV[8]), tonumber(ARGV[9])
local min_rate, burst, measured, window = tonumber(ARGV[10]), tonumber(ARGV[11]),
    tonumber(ARGV[12]), tonumber(ARGV[13])
local expiry, share, probe = ARGV[14], tonumber(ARGV[15]), tonumber(ARGV[16])
local initial, gain, used_share = tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local s = redis.call('HMGET', key, 'rate', 'tokens', 'ts', 'epoch', 'peak', 'slope',
    'start', 'cur', 'prev', 'pstart', 'pcur', 'pprev', 'announced', 'slow', 'since')
local slow = tonumber(s[14]) or 1
local since = tonumber(s[15]) or 0
local rate = tonumber(s[1]) or ceiling
if not s[1] and ceiling == 0 then rate = initial end
local tokens = tonumber(s[2]) or 1
local ts = tonumber(s[3]) or now
local epoch = tonumber(s[4]) or 0
local peak = tonumber(s[5]) or 0
local slope = tonumber(s[6]) or 0
local start, cur, prev = tonumber(s[7]) or now, tonumber(s[8]) or 0, tonumber(s[9]) or -1
local pstart, pcur, pprev = tonumber(s[10]) or now, tonumber(s[11]) or 0, tonumber(s[12]) or -1
local ann = tonumber(s[13]) or 0
if announced > 0 then ann = announced end
local top = ann
if ceiling > 0 and (top == 0 or ceiling < top) then top = ceiling end
if top > 0 and (rate == 0 or rate > top) then rate = top end

-- sliding-window counters of turns taken (start, cur, prev) and answers let through
local function roll(from, c, p)
  local elapsed = now - from
  if elapsed < window then return from, c, p end
  if elapsed < 2 * window then return from + window, 0, c end
  return now, 0, 0
end
local function per_second(from, c, p)
  local into = now - from
  if p < 0 then return c / math.max(into, 0.05) end
  return (p * (1 - into / window) + c) / window
end
start, cur, prev = roll(start, cur, prev)
pstart, pcur, pprev = roll(pstart, pcur, pprev)
pcur = pcur + passes

-- the pace grows only while it is used up and let through: an allowance far above what
-- is sent would let a burst through later, a pace above what the server answers only
-- queues requests there (which it lets through in a burst when it catches up)
local used = rate > 0 and per_second(start, cur, prev) >= used_share * rate
    and per_second(pstart, pcur, pprev) >= used_share * rate
if used and passes > 0 and (top == 0 or rate < top) then
  if slow == 1 then
    -- slow start: until the first throttled answer, each answer let through adds
    -- *gain* turns per second, so the shared pace doubles about every 0.7/gain seconds
    rate = rate + passes * gain
  else
    local step = math.max(slope, rate * growth)
    if rate >= peak then step = step * probe end
    rate = rate + passes * step / rate
  end
  if top > 0 and rate > top then rate = top end
end

if throttled == epoch then
  local base = rate
  if base == 0 then base = per_second(start, cur, prev) end
  if top > 0 and base > top then base = top end
  local passing = per_second(pstart, pcur, pprev)
  local new = math.min(base * decrease, math.max(base * far, passing * share))
  -- the first throttle ends slow start, whose last doubling overshot: halve (as TCP)
  if slow == 1 then
    new = base * far
    since = now
  elseif now - since >= measured then
    -- never below a decrease from what got through: requests queued at the server while
    -- it was behind are throttled when it catches up, whatever the pace was (within a
    -- second of the end of slow start, what got through includes the server's burst:
    -- not a measure)
    new = math.max(new, math.min(base, passing * decrease))
  end
  -- what got through while throttled is about the limit (unless the server stalled):
  -- climb back to that within *recovery* seconds, then probe slowly above it
  peak = math.min(base, math.max(passing, new / decrease))
  slope = (peak - new) / recovery
  rate = math.max(min_rate, new)
  epoch = epoch + 1
  slow = 0
  if tokens > 0 then tokens = 0 end
  ts = now
end

local wait = 0
if rate > 0 then
  tokens = math.min(math.max(1, rate * burst), tokens + (now - ts) * rate)
  ts = now
  if reset >= 0 then tokens = math.min(tokens, -reset * rate) end
  if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
end
if wait == 0 then cur = cur + 1 end
redis.call('HSET', key, 'rate', rate, 'tokens', tokens, 'ts', ts, 'epoch', epoch,
    'peak', peak, 'slope', slope, 'start', start, 'cur', cur, 'prev', prev,
    'pstart', pstart, 'pcur', pcur, 'pprev', pprev, 'announced', ann, 'slow', slow,
    'since', since)
redis.call('PEXPIRE', key, expiry)
return {math.ceil(wait * 1000000), epoch, math.floor(rate * 1000)}
"""


class RedisRateLimiter:
    """An adaptive token bucket in Redis, shared by every client that uses the same key.

    Args:
        redis: a ``redis.asyncio.Redis`` client (either ``decode_responses`` setting),
            used from one event loop, as redis-py requires.
        key: the Redis key of the shared bucket; processes paying the same Lean account
            use the same key.
        rate_limit: a ceiling in requests per second for all of them together.

    Raises:
        ValueError: *rate_limit* is not a positive number.
    """

    def __init__(
        self, redis: aioredis.Redis, *, key: str = DEFAULT_KEY, rate_limit: float | None = None
    ) -> None:
        if rate_limit is not None and not rate_limit > 0:
            raise ValueError(f"rate_limit must be a positive number of requests/s: {rate_limit!r}")
        self._redis = redis
        self._key = key
        self._ceiling = rate_limit
        self._script: Any = redis.register_script(_SCRIPT)
        self._lock = threading.Lock()
        fresh_lock_after_fork(self)
        self._queue = WaitQueue()
        self._rate: float | None = rate_limit
        # What this process learned since its last call to Redis:
        self._passes = 0
        self._throttled = -1
        self._reset = -1.0
        self._announced = 0.0

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self._key!r}, rate_limit={self._ceiling})"

    @property
    def rate(self) -> float | None:
        """The shared pace when this process last asked, or ``None`` while not limiting."""
        return self._rate

    def try_acquire(self) -> None:
        """Never: every turn is taken in Redis, so callers always `acquire`."""
        return None

    async def acquire(self) -> int:
        """Wait for a turn in the shared bucket; return its epoch.

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or failed.
        """
        async with self._queue.turn():
            while True:
                wait, epoch = await self._take()
                if wait <= 0:
                    return epoch
                await asyncio.sleep(wait)

    def record(self, epoch: int, feedback: Feedback) -> None:
        """Keep what the answer says, for the next call to Redis."""
        with self._lock:
            if feedback is SUCCESS or not feedback.throttled:
                self._passes += 1
            elif epoch >= self._throttled:
                self._throttled = epoch
            if feedback is SUCCESS:
                return
            if feedback.limit is not None:
                self._announced = feedback.limit * ANNOUNCED_SHARE
            if feedback.reset is not None:
                self._reset = max(self._reset, feedback.reset)

    async def _take(self) -> tuple[float, int]:
        with self._lock:
            report = (self._passes, self._throttled, self._reset, self._announced)
            self._passes = 0
            self._throttled, self._reset = -1, -1.0
        try:
            reply = await self._script(
                keys=[self._key],
                args=[
                    self._ceiling or 0,
                    *report,
                    DECREASE,
                    FAR_ABOVE,
                    MIN_GROWTH,
                    RECOVERY,
                    MIN_RATE,
                    BURST,
                    MEASURED_AFTER,
                    WINDOW,
                    _IDLE_EXPIRY_MS,
                    PASSED_SHARE,
                    PROBE,
                    SLOW_START_RATE,
                    SLOW_START_GAIN,
                    USED_SHARE,
                ],
            )
        except BaseException:
            with self._lock:  # not applied: keep it for the next call
                self._passes += report[0]
                self._throttled = max(self._throttled, report[1])
            raise
        wait_us, epoch, rate_milli = (int(value) for value in reply)
        with self._lock:
            self._rate = rate_milli / 1000 if rate_milli else None
        return wait_us / 1_000_000, epoch
