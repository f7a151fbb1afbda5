"""The errors layer: httpx exceptions and non-2xx responses become `lean_async.errors`."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Mapping
from typing import Final

import httpx

from lean_async.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    status_error_class,
)
from lean_async.transport._headers import parse_retry_after
from lean_async.transport._redact import Redactor
from lean_async.transport.extensions import call_context, get_attempts, get_idempotency_key

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
    `APIConnectionError` (also one raised while the layers below read a body), and a
    non-2xx response the `APIStatusError` subclass for its status. Responses come up
    read (the response-limit layer below reads every body); this layer reads none.
    Every error carries the method, the URL without user info, the attempt count
    and the idempotency key. An error body too deeply nested to decode raises
    `APIResponseValidationError` instead. Each call is logged at DEBUG (method, path,
    status, attempts, elapsed time, idempotency key), never headers or bodies.

    With a *redactor*, the API key (and its Basic token) in a server's error text is
    replaced by ``[REDACTED]`` before it reaches an error's message, body or response,
    or the message of the httpx exception chained to it.

    Args:
        inner: the transport that sends the request and returns its response read
            (normally the idempotency layer).
        redactor: removes the API key from server text; ``None`` to keep text as sent.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, redactor: Redactor | None = None
    ) -> None:
        self._inner = inner
        self._redactor = redactor

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
            APIResponseValidationError: an error body nested too deeply to decode.
        """
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.RequestError as exc:
            raise _mapped(exc, request, started, self._redactor) from exc
        if _log.isEnabledFor(logging.DEBUG):
            _log_call(request, response.status_code, started)
        if 200 <= response.status_code < 300:
            return response
        # What httpx.AsyncClient would have set; the error hands the response to users.
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        error = _status_error(request, response, self._redactor)
        # The error holds a redacted copy when the answer quoted the key: the answer as
        # received must not stay in this frame, which the error's traceback keeps.
        del response
        raise error

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


def _mapped(
    exc: httpx.RequestError, request: httpx.Request, started: float, redactor: Redactor | None
) -> APIError:
    """Return the `APIError` for an httpx exception (a plain try/except on the hot path:
    a generator context manager costs more than the call it guards)."""
    if _log.isEnabledFor(logging.DEBUG):
        _log_call(request, type(exc).__name__, started)
    target = next(dst for src, dst in _EXCEPTIONS.items() if isinstance(exc, src))
    if redactor is not None:
        _redact_chain(exc, redactor)
    message = str(exc) or type(exc).__name__
    return target(message, **call_context(request))


def _redact_chain(exc: BaseException, redactor: Redactor) -> None:
    """Redact the key from the text of *exc* and of the exceptions chained below it.

    They travel with the error (logs, error trackers); a failing transport may have
    quoted the request's headers.
    """
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if any(isinstance(arg, str) for arg in node.args):
            node.args = tuple(
                redactor.text(arg) if isinstance(arg, str) else arg for arg in node.args
            )
        if isinstance(node, OSError) and isinstance(node.strerror, str):
            node.strerror = redactor.text(node.strerror)  # OSError's str() reads it
        node = node.__cause__ or node.__context__


def _status_error(
    request: httpx.Request, response: httpx.Response, redactor: Redactor | None
) -> APIError:
    # httpx attaches the request only after the transport returns; the error needs it now.
    response.request = request
    if redactor is not None and (
        redactor.found_in_bytes(response.content)
        or any(redactor.found_in_bytes(value) for _, value in response.headers.raw)
    ):
        response = _redacted_copy(response, redactor)
    try:
        body = _decode(response)
    except RecursionError:
        raise APIResponseValidationError(
            "the response body is nested too deeply to decode",
            path="$",
            status_code=response.status_code,
            **call_context(request),
        ) from None
    if redactor is not None:
        body = redactor.value(body)
    message = _api_message(body) or f"HTTP {response.status_code} {response.reason_phrase}"
    if redactor is not None:
        message = redactor.text(message)
    return status_error_class(response.status_code)(
        message.strip(),
        response=response,
        body=body,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        **call_context(request),
    )


def _redacted_copy(response: httpx.Response, redactor: Redactor) -> httpx.Response:
    """Return a read copy of *response* whose body and headers hold no form of the API key."""
    # The content is already decoded: drop the headers that would make httpx decode it
    # again or contradict its new length.
    headers = [
        (name, redactor.text(value))
        for name, value in response.headers.multi_items()
        if name.lower() not in {"content-encoding", "content-length"}
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=redactor.content(response.content),
        request=response.request,
        extensions={
            key: value
            for key, value in response.extensions.items()
            if key in {"http_version", "reason_phrase"} or key.startswith("lean.")
        },
    )


def _decode(response: httpx.Response) -> object:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both derive from it
        return response_text(response)


def response_text(response: httpx.Response) -> str:
    """Return the body as text, whatever charset the response claims.

    A body that its declared charset cannot decode (``charset=utf-16`` on bytes without a
    BOM raises a plain `UnicodeError`) is read as UTF-8 with replacement characters.
    """
    try:
        return response.text
    except (UnicodeError, LookupError):  # LookupError: a charset Python does not know
        return response.content.decode("utf-8", errors="replace")


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
