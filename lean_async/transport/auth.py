"""The auth layer: HTTP Basic with the API key as username and an empty password."""

from __future__ import annotations

import base64

import httpx

from lean_async._config import Secret

__all__ = ["AuthTransport"]


class AuthTransport(httpx.AsyncBaseTransport):
    """Sets ``Authorization: Basic base64(api_key + ":")`` on every request.

    The header value is built once here, not per request. Neither the key nor the
    header value appears in this object's repr.

    Args:
        inner: the transport that sends the authorised request.
        api_key: the Lean API key.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, api_key: Secret) -> None:
        token = base64.b64encode(f"{api_key.get_secret_value()}:".encode()).decode("ascii")
        self._inner = inner
        self._authorization = Secret(f"Basic {token}")

    def __repr__(self) -> str:
        return f"AuthTransport({self._inner!r}, api_key={Secret('')!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Add the Authorization header and send *request* through the inner transport.

        Args:
            request: the request to send.

        Returns:
            The inner transport's response.
        """
        request.headers["Authorization"] = self._authorization.get_secret_value()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
