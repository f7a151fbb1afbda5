"""The auth layer: HTTP Basic with the API key as username and an empty password."""

from __future__ import annotations

import httpx

from lean_async._secrets import Secret, basic_authorization
from lean_async.transport._authorizing import AuthorizingTransport, send_with_header
from lean_async.transport._frames import without_frames

__all__ = ["AuthTransport"]


class AuthTransport(httpx.AsyncBaseTransport):
    """Sends each request with ``Authorization: Basic base64(api_key + ":")``.

    No request leaves this layer holding the credential: the request object reaches
    responses, errors and exceptions chained to them, which users log, pickle and ship
    to error trackers. Over the aiohttp base the credential is written straight into
    what goes on the wire and never stored in the request (`LeanClient`'s requests
    carry ``Authorization: Basic [REDACTED]`` from the start); over any other inner
    transport the header is stored in the request for the send and replaced by
    ``Basic [REDACTED]`` once the inner transport has returned or raised. An exception
    from the inner transport leaves with the frames below this layer cut off it and its
    causes (`without_frames`): those frames belong to the HTTP library and hold the
    request as written. Each attempt of a retried call is authorised afresh. The header
    value is built once, kept in a redacting `Secret`, and taken out only inside the
    expression that writes it.

    Args:
        inner: the transport that sends the authorised request.
        api_key: the Lean API key.

    Raises:
        ValueError: the key holds characters no header can carry.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, api_key: Secret[str]) -> None:
        self._inner = inner
        self._authorization = basic_authorization(api_key)
        self._writer = inner if isinstance(inner, AuthorizingTransport) else None

    def __repr__(self) -> str:
        # getattr: a refused constructor leaves a half-built object that trackers repr.
        return f"AuthTransport({getattr(self, '_inner', None)!r}, api_key={Secret('')!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the inner transport, authorised.

        Args:
            request: the request to send; it leaves without the credential.

        Returns:
            The inner transport's response.
        """
        writer = self._writer
        try:
            if writer is not None:
                return await writer.send_authorized(request, self._authorization)
            return await send_with_header(self._inner, request, self._authorization)
        except BaseException as exc:  # cancellation too: its traceback runs as deep
            raise without_frames(exc)  # noqa: B904 - the same exception, less its frames

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
