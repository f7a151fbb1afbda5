"""The response-limit layer: every body is read whole, up to a byte limit."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import httpx

from lean_async._config import DEFAULT_MAX_RESPONSE_BYTES
from lean_async.errors import APIResponseValidationError
from lean_async.transport.extensions import call_context

__all__ = ["ResponseLimitTransport"]

# A read response no longer needs its stream; an empty one replaces it so that the
# response stops referring to the connection's objects (which hold the sent headers).
_READ_STREAM = httpx.ByteStream(b"")


class ResponseLimitTransport(httpx.AsyncBaseTransport):
    """Reads each response body, refusing one larger than *max_bytes* once decoded.

    A ``Content-Length`` above the limit is refused before reading; otherwise the body
    is read chunk by chunk with a running count and refused as soon as it passes the
    limit, so an oversized body is never held whole. A refusal closes the response and
    raises `APIResponseValidationError` (the server answered: it is not retried). The
    returned response is already read.

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
            content = await self._read(request, response)
        except BaseException:
            await response.aclose()
            raise
        # What Response.aread() itself stores; done here to keep the running count.
        response._content = content
        response.stream = _READ_STREAM
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    async def _read(self, request: httpx.Request, response: httpx.Response) -> bytes:
        limit = self._max_bytes
        try:
            content = response.content
        except httpx.ResponseNotRead:
            pass
        else:
            if len(content) > limit:
                raise self._too_large(request, response)
            return content
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(request, response)
        chunks: list[bytes] = []
        size = 0
        async for chunk in self._chunks(request, response):
            size += len(chunk)
            if size > limit:
                raise self._too_large(request, response)
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    async def _chunks(request: httpx.Request, response: httpx.Response) -> AsyncIterator[bytes]:
        """Yield the decoded body; an unencoded one straight from the stream.

        `httpx.Response.aiter_bytes` runs a decoder and a chunker even for identity
        bodies, which costs more than the rest of this layer; the stream is read
        directly then (and closed, as httpx would).
        """
        if response.headers.get("Content-Encoding", "identity") not in {"", "identity"}:
            async for chunk in response.aiter_bytes():
                yield chunk
            return
        stream = response.stream
        if not isinstance(stream, AsyncIterable):
            raise RuntimeError("Attempted to call an async iterator on a sync stream.")
        try:
            async for chunk in stream:
                yield chunk
        except httpx.RequestError as exc:
            exc.request = request
            raise
        finally:
            await response.aclose()

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
