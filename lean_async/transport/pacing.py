"""The pacing layer: each attempt waits its turn in the client's rate limiter.

It sits below the retry layer, so a retry waits its turn like any first attempt, and
above the attempt layer, so an attempt's span and duration leave the wait out. When the
limiter has a turn free (always, until the server first throttles), the attempt goes
without an await. The answer is fed back: ``429`` lowers the pace, other answers raise it
again; ``RateLimit-*`` headers are read on 429 and 503 answers, and on every answer once a
server has sent them. While the limiter limits, the attempts in flight are capped at a
tenth of a second of its pace (more for a server far away; `lean_async.transport._inflight`):
a server that stalls then holds no more than its own bucket lets through when it catches up.
"""

from __future__ import annotations

import math
import time
from asyncio import timeout as asyncio_timeout

import httpx

from lean_async._telemetry import current_call
from lean_async.ratelimit import SUCCESS, RateLimiter, feedback_from
from lean_async.transport._inflight import (
    MIN_IN_FLIGHT,
    ROUND_TRIPS,
    WINDOW,
    InFlightCap,
    LatencyFloor,
)
from lean_async.transport._policy import DeadlineExceeded
from lean_async.transport.extensions import get_deadline

__all__ = ["PacingTransport"]

_THROTTLING = frozenset({429, 503})


class PacingTransport(httpx.AsyncBaseTransport):
    """Sends each attempt when the rate limiter gives it a turn.

    Args:
        inner: the transport that sends the attempt.
        limiter: the client's rate limiter, shared by all its calls.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, limiter: RateLimiter) -> None:
        self._inner = inner
        self._limiter = limiter
        self._headers = False  # a server sent RateLimit-* headers: read every answer's
        self._quickest = LatencyFloor()
        self._in_flight = InFlightCap(self._cap)

    def __repr__(self) -> str:
        return f"PacingTransport({self._inner!r}, {self._limiter!r})"

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter attempts wait in."""
        return self._limiter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for a turn, send *request*, and tell the limiter how it was answered.

        Raises:
            DeadlineExceeded: the request's deadline passed while it waited for a turn.
        """
        limiter = self._limiter
        if limiter.rate is not None:
            return await self._send_capped(request)
        epoch = limiter.try_acquire()
        if epoch is None:
            epoch = await self._wait(request)
        else:
            traced = current_call()
            if traced is not None:
                traced.paced(0.0)
        response = await self._inner.handle_async_request(request)
        self._record(epoch, response)
        return response

    @property
    def in_flight(self) -> int:
        """Attempts sent while the limiter limited and not answered yet."""
        return self._in_flight.in_flight

    def _cap(self) -> float:
        rate = self._limiter.rate
        if rate is None:
            return math.inf
        window = max(WINDOW, ROUND_TRIPS * self._quickest.seconds())
        return max(MIN_IN_FLIGHT, rate * window)

    def _record(self, epoch: int, response: httpx.Response) -> None:
        if response.status_code in _THROTTLING or self._headers:
            feedback = feedback_from(response)
            if feedback.announces:
                self._headers = True
            self._limiter.record(epoch, feedback)
        else:
            self._limiter.record(epoch, SUCCESS)

    async def _send_capped(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        deadline = get_deadline(request)
        try:
            if deadline is None:
                await self._in_flight.enter()
            else:
                async with asyncio_timeout(deadline - started):
                    await self._in_flight.enter()
        except TimeoutError:
            raise DeadlineExceeded(
                "deadline passed while waiting for a turn in the rate limit", request=request
            ) from None
        try:
            epoch = self._limiter.try_acquire()
            if epoch is None:
                epoch = await self._wait(request, started)
            else:
                traced = current_call()
                if traced is not None:
                    traced.paced(time.monotonic() - started)
            sent = time.monotonic()
            response = await self._inner.handle_async_request(request)
            answered = time.monotonic()
            self._quickest.add(answered, answered - sent)
        finally:
            self._in_flight.leave()
        self._record(epoch, response)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    async def _wait(self, request: httpx.Request, started: float | None = None) -> int:
        if started is None:
            started = time.monotonic()
        deadline = get_deadline(request)
        try:
            if deadline is None:
                epoch = await self._limiter.acquire()
            else:
                async with asyncio_timeout(deadline - time.monotonic()):
                    epoch = await self._limiter.acquire()
        except TimeoutError:
            raise DeadlineExceeded(
                "deadline passed while waiting for a turn in the rate limit", request=request
            ) from None
        traced = current_call()
        if traced is not None:
            traced.paced(time.monotonic() - started)
        return epoch
