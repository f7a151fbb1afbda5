"""Deliver the sandbox's webhooks to an ASGI app in-process, through `httpx.ASGITransport`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import httpx

from lean_async.sandbox._http import ASGIApp

__all__ = ["ASGIForwarder"]


class ASGIForwarder:
    """A webhook listener that POSTs each signed delivery to *path* of an ASGI app.

    No socket is opened: the request goes straight into the app (FastAPI, Starlette,
    or any ASGI callable). The app's answer is the attempt's status; an exception the
    app raises is a failed attempt, retried like any other.

    Args:
        app: the ASGI application that receives webhooks.
        path: the path of its webhook route, e.g. ``"/webhooks/lean"``.

    Raises:
        ValueError: *path* does not start with ``/``.
    """

    def __init__(self, app: ASGIApp, path: str) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        self._transport = httpx.ASGITransport(app=cast(Any, app))
        self._url = httpx.URL("http://testserver").join(path)
        self.destination = f"asgi:{path}"
        """How deliveries to this app are named in `Sandbox.deliveries` and the logs."""

    async def __call__(self, body: bytes, headers: Mapping[str, str]) -> int:
        """POST one delivery into the app and return its status code."""
        request = httpx.Request("POST", self._url, content=body, headers=dict(headers))
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response.status_code

    def __repr__(self) -> str:
        return f"<ASGIForwarder {self.destination}>"
