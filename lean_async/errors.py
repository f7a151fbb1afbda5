"""The exceptions lean-async raises.

Every exception derives from `LeanError`::

    LeanError
     ├─ ValidationError(LeanError, ValueError)   bad input; no request was sent
     ├─ SandboxOnlyError                         applications.submit in production
     ├─ WebhookVerificationError                 missing/bad signature, bad payload
     └─ APIError  (.method .url .attempts .idempotency_key .status_code .message .body)
         ├─ APIConnectionError                   no response
         │   └─ APITimeoutError
         ├─ APIResponseValidationError           a body not the expected shape, too deep
         │                                       or larger than max_response_bytes
         └─ APIStatusError  (.response)
             ├─ BadRequestError 400
             ├─ AuthenticationError 401
             ├─ PermissionDeniedError 403
             ├─ NotFoundError 404
             ├─ ConflictError 409                (also: a create that found a different twin)
             ├─ UnprocessableEntityError 422     e.g. an Idempotency-Key reused with another body
             ├─ RateLimitError 429
             └─ InternalServerError 5xx
                 └─ ServiceUnavailableError 503

No message built here ever contains the API key: errors hold method, URL (without
user info), status, attempt count and idempotency key, never request headers; the
transport redacts the key from server text before it reaches an error.

Every error pickles with its attributes (a `NotFoundError` raised in a process pool
worker arrives as one). An `APIStatusError`'s ``.response`` is pickled as a detached
copy: status, headers and body, with a request that keeps only the method and URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "LeanError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SandboxOnlyError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "ValidationError",
    "WebhookVerificationError",
    "status_error_class",
]


class LeanError(Exception):
    """Base class of every exception raised by lean-async.

    Subclasses take keyword-only arguments, which `pickle`'s default for exceptions
    (calling the class with ``args`` alone) cannot rebuild; ``__reduce__`` restores the
    instance's attributes instead of calling its constructor.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args), self._pickle_state())

    def _pickle_state(self) -> dict[str, Any]:
        """Return the attributes to pickle (``__notes__`` included)."""
        return dict(self.__dict__)


def _restore(cls: type[LeanError], args: tuple[Any, ...]) -> LeanError:
    """Rebuild a pickled error without calling its constructor; its state follows."""
    error = cls.__new__(cls)
    error.args = args
    return error


class ValidationError(LeanError, ValueError):
    """Request arguments broke one or more API rules; nothing was sent.

    Attributes:
        errors: every ``(field, message)`` pair found, in argument order.
    """

    def __init__(self, errors: Iterable[tuple[str, str]]) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        super().__init__(self._summary())

    def _summary(self) -> str:
        count = len(self.errors)
        noun = "field" if count == 1 else "fields"
        details = "; ".join(f"{field}: {message}" for field, message in self.errors)
        return f"{count} invalid {noun}: {details}"


class SandboxOnlyError(LeanError):
    """The call exists only in the sandbox environment; nothing was sent."""


class WebhookVerificationError(LeanError):
    """A webhook delivery failed verification or could not be parsed.

    Attributes:
        reason: a short machine-readable code, such as ``"missing_signature"``,
            ``"malformed_signature"``, ``"signature_mismatch"``, ``"payload_too_large"``,
            ``"invalid_json"`` or ``"invalid_shape"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class APIError(LeanError):
    """A call reached for the API and did not succeed.

    Attributes:
        message: the API's own error text when it gave one, else a description.
        method: the HTTP method of the call.
        url: the URL of the call, without any user info.
        attempts: how many attempts were made, retries included.
        idempotency_key: the ``Idempotency-Key`` sent, if any; reuse it to retry safely.
        status_code: the HTTP status, or ``None`` when no response arrived.
        body: the decoded JSON body (or text) of the response, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        attempts: int = 1,
        idempotency_key: str | None = None,
        status_code: int | None = None,
        body: object = None,
    ) -> None:
        self.message = message
        self.method = method
        self.url = url
        self.attempts = attempts
        self.idempotency_key = idempotency_key
        self.status_code = status_code
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        parts = [f"{self.method} {self.url}"]
        if self.status_code is not None:
            parts.append(f"status {self.status_code}")
        parts.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        if self.idempotency_key is not None:
            parts.append(f"idempotency key {self.idempotency_key}")
        return f"{self.message} ({', '.join(parts)})"


class APIConnectionError(APIError):
    """No response was received: the connection failed or broke."""


class APITimeoutError(APIConnectionError):
    """No response was received within the timeout or the deadline."""


class APIResponseValidationError(APIError):
    """A successful response whose body is not the JSON the API documents.

    Attributes:
        path: where in the body the problem is, as a JSON path such as ``$.totalAmount``.
    """

    def __init__(self, message: str, *, path: str = "$", **kwargs: Any) -> None:
        self.path = path
        super().__init__(message, **kwargs)


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    Attributes:
        response: the `httpx.Response`, already read.
        retry_after: the server's ``Retry-After`` in seconds, if it sent one.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("status_code", response.status_code)
        self.response = response
        self.retry_after = retry_after
        super().__init__(message, **kwargs)

    def _pickle_state(self) -> dict[str, Any]:
        return {**super()._pickle_state(), "response": _detached(self.response)}


def _detached(response: httpx.Response) -> httpx.Response:
    """Return a copy of *response* fit to pickle: no stream, no request headers."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    # The content is already decoded: drop the headers that would make httpx decode it
    # again or contradict its length.
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in {"content-encoding", "content-length"}
    ]
    try:
        sent = response.request
    except RuntimeError:  # a response built without a request
        request = None
    else:
        request = httpx.Request(sent.method, sent.url.copy_with(username=None, password=None))
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


class BadRequestError(APIStatusError):
    """400: the API rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or not allowed from this IP address."""


class PermissionDeniedError(APIStatusError):
    """403: the API key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such object."""


class ConflictError(APIStatusError):
    """409, or a create whose unique key already names a *different* object.

    Attributes:
        existing: the object the API already holds under that key, when known.
        sent: the request body (camelCase JSON) that conflicted with it, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        existing: object = None,
        sent: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.existing = existing
        self.sent = sent
        super().__init__(message, **kwargs)


class UnprocessableEntityError(APIStatusError):
    """422: the API understood the request but will not process it.

    The sandbox answers 422 to an ``Idempotency-Key`` reused with a different body.
    """


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the API failed."""


class ServiceUnavailableError(InternalServerError):
    """503: the API is unavailable for now."""


_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """Return the `APIStatusError` subclass for an HTTP status code."""
    exact = _STATUS_ERRORS.get(status_code)
    if exact is not None:
        return exact
    if status_code >= 500:
        return InternalServerError
    return APIStatusError
