"""The sandbox's request rate limit: a token bucket in front of the API's routes.

Like a rate-limited service, a sandbox made with ``rate_limit=N`` lets through N
requests per second of its clock (after a burst of up to *burst* requests) and answers any
request above that with ``429 Too Many Requests`` and a ``Retry-After`` header: the whole
seconds until a request would be let through again (at least 1, as HTTP's delta-seconds
are whole). The 429 changes nothing on the server, so any request may be sent again.
"""

from __future__ import annotations

import math

from lean_async.sandbox._clock import Clock

__all__ = ["RequestRateLimit"]


class RequestRateLimit:
    """*rate* requests per second of *clock*, with bursts of up to *burst* requests.

    Args:
        rate: requests let through per second, on average.
        burst: requests that may arrive at once after a quiet spell (the bucket's size);
            by default one second's worth, at least 1.
        clock: the sandbox's clock.

    Raises:
        ValueError: *rate* or *burst* is not positive.
    """

    __slots__ = ("_clock", "_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, *, burst: float | None = None, clock: Clock) -> None:
        if not rate > 0 or not math.isfinite(rate):
            raise ValueError(f"rate_limit must be a positive number of requests/s, got {rate!r}")
        burst = max(1.0, rate) if burst is None else burst
        if not burst >= 1:
            raise ValueError(f"rate_limit_burst must be at least 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = self.burst
        self._updated = clock.time()

    def __repr__(self) -> str:
        return f"RequestRateLimit(rate={self.rate:g}, burst={self.burst:g})"

    def take(self) -> int | None:
        """Let one request through, or refuse it.

        Returns:
            ``None`` when the request may proceed; otherwise the ``Retry-After`` seconds.
        """
        now = self._clock.time()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self._tokens) / self.rate))
