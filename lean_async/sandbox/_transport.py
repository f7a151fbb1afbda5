"""The in-process way in: an httpx transport that calls the sandbox's ASGI app.

Broken-connection faults become the httpx errors a real socket would give:
`ConnectionReset` (nothing processed) → `httpx.ReadError`; `DropAfterCommit`
(processed, no answer) → `httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import httpx

from lean_async.sandbox._faults import ConnectionAborted
from lean_async.sandbox._http import ASGIApp

__all__ = ["SandboxTransport"]


class SandboxTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` over `httpx.ASGITransport` that maps faults.

    Args:
        app: the sandbox (or its ASGI app).
        client: the (host, port) the app sees as the client's address.
    """

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* to the app; a broken connection raises as a socket would."""
        try:
            return await self._asgi.handle_async_request(request)
        except ConnectionAborted as exc:
            if exc.after_commit:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request) from None

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._asgi.aclose()
