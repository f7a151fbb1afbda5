"""The pacing layer: each attempt waits its turn in the client's rate limiter.

It sits below the retry layer, so a retry waits its turn like any first attempt, and
above the attempt layer, so an attempt's span and duration leave the wait out. When the
limiter has a turn free (always, until the server first throttles), the attempt goes
without an await. The answer is fed back: ``429`` lowers the pace, other answers raise it
again; ``RateLimit-*`` headers are read on 429 and 503 answers, and on every answer once a
server has sent them.
"""

from __future__ import annotations

import time
from asyncio import timeout as asyncio_timeout

import httpx

from lean_async._telemetry import current_call
from lean_async.ratelimit import SUCCESS, RateLimiter, feedback_from
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
        epoch = limiter.try_acquire()
        if epoch is None:
            epoch = await self._wait(request)
        else:
            traced = current_call()
            if traced is not None:
                traced.paced(0.0)
        response = await self._inner.handle_async_request(request)
        if response.status_code in _THROTTLING or self._headers:
            feedback = feedback_from(response)
            if feedback.announces:
                self._headers = True
            limiter.record(epoch, feedback)
        else:
            limiter.record(epoch, SUCCESS)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    async def _wait(self, request: httpx.Request) -> int:
        started = time.monotonic()
        deadline = get_deadline(request)
        try:
            if deadline is None:
                epoch = await self._limiter.acquire()
            else:
                async with asyncio_timeout(deadline - started):
                    epoch = await self._limiter.acquire()
        except TimeoutError:
            raise DeadlineExceeded(
                "deadline passed while waiting for a turn in the rate limit", request=request
            ) from None
        traced = current_call()
        if traced is not None:
            traced.paced(time.monotonic() - started)
        return epoch
