"""The errors layer: httpx exceptions and non-2xx responses become `lean_async.errors`."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

import httpx

from lean_async.errors import APIConnectionError, APIError, APITimeoutError, status_error_class
from lean_async.transport._headers import parse_retry_after
from lean_async.transport.extensions import get_attempts, get_idempotency_key

__all__ = ["ErrorsTransport"]

_log = logging.getLogger("lean_async")

# Most specific first: the first matching entry wins.
_EXCEPTIONS: Final[Mapping[type[Exception], type[APIError]]] = {
    httpx.TimeoutException: APITimeoutError,
    httpx.RequestError: APIConnectionError,
}
_MESSAGE_KEYS: Final = ("message", "error", "detail", "errors")


class ErrorsTransport(httpx.AsyncBaseTransport):
    """Raises `lean_async.errors` exceptions for failed calls; the outermost layer.

    A `httpx.TimeoutException` becomes `APITimeoutError`, any other `httpx.RequestError`
    `APIConnectionError`, and a non-2xx response the `APIStatusError` subclass for its
    status. Every error carries the method, the URL without user info, the attempt count
    and the idempotency key. Each call is logged at DEBUG (method, path, status,
    attempts, elapsed time, idempotency key), never headers or bodies.

    Args:
        inner: the transport that sends the request (normally the idempotency layer).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"ErrorsTransport({self._inner!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* and return its 2xx response.

        Args:
            request: the request to send.

        Returns:
            The response, when its status is 2xx.

        Raises:
            APIStatusError: the response was not 2xx (the subclass for its status).
            APIConnectionError: no response arrived; `APITimeoutError` when it timed out.
        """
        started = time.perf_counter()
        with _mapped_exceptions(request, started):
            response = await self._inner.handle_async_request(request)
            if not 200 <= response.status_code < 300:
                await response.aread()
        if _log.isEnabledFor(logging.DEBUG):
            _log_call(request, response.status_code, started)
        if 200 <= response.status_code < 300:
            return response
        raise _status_error(request, response)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


@contextlib.contextmanager
def _mapped_exceptions(request: httpx.Request, started: float) -> Iterator[None]:
    try:
        yield
    except httpx.RequestError as exc:
        if _log.isEnabledFor(logging.DEBUG):
            _log_call(request, type(exc).__name__, started)
        target = next(dst for src, dst in _EXCEPTIONS.items() if isinstance(exc, src))
        raise target(str(exc) or type(exc).__name__, **_context(request)) from exc


def _context(request: httpx.Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": str(request.url.copy_with(username=None, password=None)),
        "attempts": get_attempts(request),
        "idempotency_key": get_idempotency_key(request),
    }


def _status_error(request: httpx.Request, response: httpx.Response) -> APIError:
    # httpx attaches the request only after the transport returns; the error needs it now.
    response.request = request
    body = _decode(response)
    message = _api_message(body) or f"HTTP {response.status_code} {response.reason_phrase}"
    return status_error_class(response.status_code)(
        message.strip(),
        response=response,
        body=body,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        **_context(request),
    )


def _decode(response: httpx.Response) -> object:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both derive from it
        return response.text


def _api_message(body: object) -> str | None:
    """Return the API's own error text from a JSON error body, if it has one."""
    if not isinstance(body, dict):
        return None
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, list):
            texts = [text for item in value if (text := _text(item))]
            if texts:
                return "; ".join(texts)
        elif text := _text(value):
            return text
    return None


def _text(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("message")
    return value if isinstance(value, str) and value.strip() else None


def _log_call(request: httpx.Request, outcome: int | str, started: float) -> None:
    _log.debug(
        "%s %s -> %s in %.1f ms (attempts %d, idempotency key %s)",
        request.method,
        request.url.path,
        outcome,
        (time.perf_counter() - started) * 1000.0,
        get_attempts(request),
        get_idempotency_key(request),
    )
