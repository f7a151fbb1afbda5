"""The base transport that sends through a caller-owned `httpx.AsyncClient`."""

from __future__ import annotations

import httpx

__all__ = ["CallerClientTransport"]


class CallerClientTransport(httpx.AsyncBaseTransport):
    """Sends each request through the caller's `httpx.AsyncClient` (``http_client=``).

    The client's own transport, proxies and event hooks apply; its default headers and
    base URL do not (the request is complete when it arrives here). Closing this
    transport leaves the client open: its owner closes it.

    Args:
        client: the caller's client.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"CallerClientTransport({self._client!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* with the caller's client and return its (read) response."""
        return await self._client.send(request)

    async def aclose(self) -> None:
        """Leave the caller's client open: its owner closes it."""
