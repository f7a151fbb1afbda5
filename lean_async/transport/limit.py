"""The response-limit layer: every body is read whole, up to a byte limit."""

from __future__ import annotations

from collections.abc import AsyncIterable

import httpx

from lean_async._config import DEFAULT_MAX_RESPONSE_BYTES
from lean_async.errors import APIResponseValidationError, LeanError
from lean_async.transport import _private_state
from lean_async.transport._frames import without_frames
from lean_async.transport.extensions import call_context

__all__ = ["ResponseLimitTransport"]


class ResponseLimitTransport(httpx.AsyncBaseTransport):
    """Reads each response body, refusing one larger than *max_bytes* once decoded.

    A ``Content-Length`` above the limit is refused before reading; otherwise the body
    is read chunk by chunk with a running count and refused as soon as it passes the
    limit, so an oversized body is never held whole. A refusal closes the response and
    raises `APIResponseValidationError` (the server answered: it is not retried). The
    returned response is already read: this is the one layer of the stack that reads
    bodies (the retry and errors layers above rely on it).

    Args:
        inner: the transport that sends the request (normally the auth layer).
        max_bytes: the largest body accepted, counted after content decoding.

    Raises:
        ValueError: *max_bytes* is not a positive integer.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive integer, got {max_bytes!r}")
        self._inner = inner
        self._max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"ResponseLimitTransport({self._inner!r}, max_bytes={self._max_bytes})"

    @property
    def max_bytes(self) -> int:
        """The largest body accepted, in bytes."""
        return self._max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* and return its response with the body read.

        Args:
            request: the request to send.

        Returns:
            The inner transport's response, read.

        Raises:
            APIResponseValidationError: the body is larger than *max_bytes*.
            httpx.TransportError: sending failed, or reading the body did.
        """
        response = await self._inner.handle_async_request(request)
        try:
            # A base that hands the body over read (the aiohttp one, for a small answer)
            # needs only the size check: no coroutine of its own for that.
            content = response.content
        except httpx.ResponseNotRead:
            content = None
        try:
            if content is None:
                content = await self._read(request, response)
            elif len(content) > self._max_bytes:
                raise self._too_large(request, response)
        except BaseException as exc:
            await response.aclose()
            if isinstance(exc, LeanError):
                raise
            # A failed read ran through the HTTP library's frames, which hold the
            # request as it was written: they are cut off on the way up.
            raise without_frames(exc)  # noqa: B904 - the same exception, less its frames
        # What Response.aread() would store; done here to keep the running count.
        return _private_state.read_response(response, content, request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    async def _read(self, request: httpx.Request, response: httpx.Response) -> bytes:
        limit = self._max_bytes
        declared, encoded = _framing(response.headers)
        if declared > limit:
            raise self._too_large(request, response)
        stream = response.stream
        if encoded or not isinstance(stream, httpx.AsyncByteStream):
            return await self._collect(request, response, response.aiter_bytes())
        # An unencoded body straight from the stream: `aiter_bytes` would run a decoder
        # and a chunker for nothing, which costs more than the rest of this layer.
        try:
            return await self._collect(request, response, stream)
        except httpx.RequestError as exc:
            exc.request = request  # what aiter_bytes would have attached
            raise
        finally:
            await response.aclose()

    async def _collect(
        self, request: httpx.Request, response: httpx.Response, chunks: AsyncIterable[bytes]
    ) -> bytes:
        limit = self._max_bytes
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise self._too_large(request, response)
            parts.append(chunk)
        return b"".join(parts)

    def _too_large(
        self, request: httpx.Request, response: httpx.Response
    ) -> APIResponseValidationError:
        return APIResponseValidationError(
            f"the response body is larger than max_response_bytes ({self._max_bytes} bytes); "
            "raise LeanClient(max_response_bytes=...) to accept it",
            path="$",
            status_code=response.status_code,
            **call_context(request),
        )


def _framing(headers: httpx.Headers) -> tuple[int, bool]:
    """Return the declared Content-Length (-1 if none or unclear) and whether the body is
    content-encoded, in one pass over the headers."""
    declared, encoded = -1, False
    lengths = 0
    for name, value in headers.raw:
        lowered = name.lower()
        if lowered == b"content-length":
            lengths += 1
            declared = int(value) if value.isdigit() and lengths == 1 else -1
        elif lowered == b"content-encoding":
            encoded = encoded or value.strip().lower() not in {b"", b"identity"}
    return declared, encoded
