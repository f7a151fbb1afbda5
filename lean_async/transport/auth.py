"""The auth layer: HTTP Basic with the API key as username and an empty password."""

from __future__ import annotations

import httpx

from lean_async._secrets import Secret, basic_authorization
from lean_async.transport._frames import without_frames
from lean_async.transport._redact import REDACTED_AUTHORIZATION

__all__ = ["AuthTransport"]


class AuthTransport(httpx.AsyncBaseTransport):
    """Sets ``Authorization: Basic base64(api_key + ":")`` on a request while it is sent.

    Once the inner transport has returned or raised, the header is replaced by
    ``Basic [REDACTED]``: the request object then reaches responses, errors and
    exceptions chained to them, which users log, pickle and ship to error trackers, so
    it must not hold the credential. An exception from the inner transport leaves with
    the frames below this layer cut off it and its causes (`without_frames`): those
    frames belong to the HTTP library and hold the request as written. Each attempt of
    a retried call sets the header afresh. The header value is built once, kept in a
    redacting `Secret`, and taken out only inside the expression that stores it.

    Args:
        inner: the transport that sends the authorised request.
        api_key: the Lean API key.

    Raises:
        ValueError: the key holds characters no header can carry.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, api_key: Secret[str]) -> None:
        self._inner = inner
        self._authorization = basic_authorization(api_key)

    def __repr__(self) -> str:
        # getattr: a refused constructor leaves a half-built object that trackers repr.
        return f"AuthTransport({getattr(self, '_inner', None)!r}, api_key={Secret('')!r})"

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
        except BaseException as exc:  # cancellation too: its traceback runs as deep
            raise without_frames(exc)  # noqa: B904 - the same exception, less its frames
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
