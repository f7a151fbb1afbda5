"""The auth layer: HTTP Basic with the API key as username and an empty password."""

from __future__ import annotations

import base64

import httpx

from lean_async._config import Secret
from lean_async.transport._redact import REDACTED_AUTHORIZATION

__all__ = ["AuthTransport"]


class AuthTransport(httpx.AsyncBaseTransport):
    """Sets ``Authorization: Basic base64(api_key + ":")`` on a request while it is sent.

    Once the inner transport has returned or raised, the header is replaced by
    ``Basic [REDACTED]``: the request object then reaches responses, errors and
    exceptions chained to them, which users log, pickle and ship to error trackers, so
    it must not hold the credential. Each attempt of a retried call sets it afresh.
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
        """Send *request* through the inner transport with the Authorization header on.

        Args:
            request: the request to send; it leaves with the header redacted.

        Returns:
            The inner transport's response.
        """
        headers = request.headers
        headers["Authorization"] = self._authorization.get_secret_value()
        try:
            return await self._inner.handle_async_request(request)
        finally:
            # Response headers have arrived (or the send failed): the bytes are gone.
            # The sender may have replaced the headers object: redact the one it holds now.
            current = request.headers
            current["Authorization"] = REDACTED_AUTHORIZATION
            if current is not headers:
                headers["Authorization"] = REDACTED_AUTHORIZATION

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
