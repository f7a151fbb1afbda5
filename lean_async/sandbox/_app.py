"""The sandbox as one plain ASGI application.

A request goes: read → Basic auth (401) → ``/_sandbox`` admin, or the rate limit (429
with ``Retry-After``, when the sandbox has one) → ``/api`` route (404/405) → faults
planned for that route (latency, then a reset or 5xx before processing) → the handler
(its 400/404 answers included) → faults after commit (a dropped response or a 5xx in
place of the real answer) → the response, with a ``Date`` header from the sandbox's
clock (the server's own ``Date`` is switched off).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email.utils
import time
from collections.abc import Callable
from typing import Final

from lean_async.sandbox._admin import Admin
from lean_async.sandbox._api import API
from lean_async.sandbox._clock import Clock
from lean_async.sandbox._faults import (
    ConnectionAborted,
    ConnectionReset,
    DropAfterCommit,
    Faults,
    ServerError,
)
from lean_async.sandbox._http import (
    HTTPError,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    authorized,
    read_request,
    send_response,
)
from lean_async.sandbox._ratelimit import RequestRateLimit

__all__ = ["SandboxApp"]

API_PREFIX: Final = "api"
_RECENT: Final = 8  # request start times kept to tell whether the API is busy
ADMIN_PREFIX: Final = "_sandbox"


def _server_error(fault: ServerError) -> Response:
    headers: list[tuple[str, str]] = []
    value = fault.retry_after
    if isinstance(value, int | float) and float(value).is_integer():
        value = str(int(value))  # "2", not "2.0" or "1e+06"
    if value is not None:
        headers.append(("retry-after", str(value)))
    return HTTPError(
        fault.status, "Service unavailable (injected fault)", headers=headers
    ).response()


class SandboxApp:
    """The ASGI callable: authentication, routing, faults around the handlers."""

    def __init__(
        self,
        *,
        api_key: str,
        api: API,
        admin: Admin,
        faults: Faults,
        on_request: Callable[[], None],
        max_body: int,
        clock: Clock,
        rate_limit: RequestRateLimit | None = None,
    ) -> None:
        self._api_key = api_key
        self._api = api
        self._admin = admin
        self._faults = faults
        self._on_request = on_request
        self._max_body = max_body
        self._clock = clock
        self._rate_limit = rate_limit
        self._recent: collections.deque[float] = collections.deque(maxlen=_RECENT)
        self._served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (``http`` or ``lifespan``)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets are not part of the API
        self._on_request()
        self._recent.append(time.monotonic())
        self._served += 1
        try:
            request = await read_request(scope, receive, max_body=self._max_body)
            response = await self._respond(request)
        except HTTPError as exc:
            response = exc.response()
        # Lean's clock, as a server states it: the SDK tells "paid by this call" from
        # "already there" with it (lean_async.resources._outcome), so it must be the sandbox's own.
        date = email.utils.format_datetime(self._clock.now().astimezone(dt.UTC), usegmt=True)
        await send_response(send, response.with_header("date", date))

    @property
    def served(self) -> int:
        """HTTP requests started so far."""
        return self._served

    def busy(self, rate: float) -> bool:
        """Whether requests came in at *rate* per second or more just now (the last 8)."""
        recent = self._recent
        return len(recent) == _RECENT and time.monotonic() - recent[0] < _RECENT / rate

    async def _respond(self, request: Request) -> Response:
        if not authorized(request.header("authorization"), self._api_key):
            raise HTTPError(
                401,
                "Unauthorized: invalid API key",
                headers=[("www-authenticate", 'Basic realm="Lean"')],
            )
        prefix = request.segments[0] if request.segments else ""
        if prefix == ADMIN_PREFIX:
            return await self._admin.handle(request)
        if prefix != API_PREFIX:
            raise HTTPError(404, "Not found")
        if self._rate_limit is not None:
            retry_after = self._rate_limit.take()
            if retry_after is not None:
                raise HTTPError(
                    429,
                    "Too many requests: slow down",
                    headers=[("retry-after", str(retry_after))],
                )
        route = self._api.route(request)
        plan = self._faults.plan(route.name)
        if plan.delay:
            await asyncio.sleep(plan.delay)
        outcome = plan.outcome
        if isinstance(outcome, ConnectionReset):
            raise ConnectionAborted(after_commit=False)
        if isinstance(outcome, ServerError) and not outcome.after_commit:
            return _server_error(outcome)
        try:
            response = route(request)
        except HTTPError as exc:
            response = exc.response()
        if isinstance(outcome, DropAfterCommit):
            raise ConnectionAborted(after_commit=True)
        if isinstance(outcome, ServerError):
            return _server_error(outcome)
        return response

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
