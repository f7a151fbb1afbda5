"""The HTTP answer a web service gives when a call to Lean raised a `LeanError`.

The FastAPI exception handlers (``lean_async.webhooks.fastapi.add_lean_error_handlers``)
and the aiohttp middleware (``lean_async.webhooks.aiohttp.lean_error_middleware``) both
answer from `error_answer`, so the two frameworks give the same status and body:

- `ValidationError` (nothing was sent): 422, with every field and its rule;
- Lean's 4xx about the request: `BadRequestError` 400, `NotFoundError` 404,
  `ConflictError` 409, `UnprocessableEntityError` 422, with Lean's own text;
- `RateLimitError` 429 and `ServiceUnavailableError` 503, with ``Retry-After`` passed
  on when Lean sent one;
- the service's own key refused (`AuthenticationError`, `PermissionDeniedError`), any
  other status, a 5xx or a malformed answer: 502; `APITimeoutError` 504; any other
  `APIConnectionError` 502;
- `WebhookVerificationError`: 401 for a signature problem, 413 too large, else 400;
- `SandboxOnlyError` or any other `LeanError`: 500.

The body is ``{"error": {"type": ..., "message": ...}}``, plus ``"fields": [{"field":
..., "message": ...}]`` for a `ValidationError`. Lean's text is passed on only for the
4xx answers that describe the caller's request; upstream failures get a fixed message,
so nothing about the service's Lean account reaches its callers. No answer ever holds
the API key, a URL, a header or an idempotency key. Answers of 500 and more are logged
(``lean_async.webhooks`` logger, WARNING) with the error's class and text, which carry
no key either (see `lean_async.errors`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Final

import attrs

from lean_async.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LeanError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    ValidationError,
    WebhookVerificationError,
)

__all__ = ["ErrorAnswer", "error_answer"]

_logger = logging.getLogger("lean_async.webhooks")


@attrs.frozen(kw_only=True)
class _Rule:
    status: int
    type: str
    message: str | None  # None: pass on the error's own message


_UPSTREAM: Final = "the payments provider failed to answer this request"
_RULES: Final[Mapping[type[LeanError], _Rule]] = {
    ValidationError: _Rule(status=422, type="validation_error", message=None),
    BadRequestError: _Rule(status=400, type="bad_request", message=None),
    NotFoundError: _Rule(status=404, type="not_found", message=None),
    ConflictError: _Rule(status=409, type="conflict", message=None),
    UnprocessableEntityError: _Rule(status=422, type="unprocessable", message=None),
    RateLimitError: _Rule(
        status=429, type="rate_limited", message="too many payment requests; retry later"
    ),
    ServiceUnavailableError: _Rule(
        status=503, type="unavailable", message="the payments provider is unavailable"
    ),
    AuthenticationError: _Rule(
        status=502, type="upstream_auth", message="the payments provider refused this service"
    ),
    PermissionDeniedError: _Rule(
        status=502, type="upstream_auth", message="the payments provider refused this service"
    ),
    InternalServerError: _Rule(status=502, type="upstream_error", message=_UPSTREAM),
    APIStatusError: _Rule(status=502, type="upstream_error", message=_UPSTREAM),
    APIResponseValidationError: _Rule(
        status=502, type="upstream_error", message="the payments provider answered unexpectedly"
    ),
    APITimeoutError: _Rule(
        status=504, type="upstream_timeout", message="the payments provider did not answer in time"
    ),
    APIConnectionError: _Rule(
        status=502, type="upstream_unreachable", message="the payments provider is unreachable"
    ),
    APIError: _Rule(status=502, type="upstream_error", message=_UPSTREAM),
    LeanError: _Rule(status=500, type="internal_error", message="internal error"),
}
_WEBHOOK_STATUS: Final = {
    "missing_signature": 401,
    "malformed_signature": 401,
    "signature_mismatch": 401,
    "payload_too_large": 413,
}


@attrs.frozen(kw_only=True)
class ErrorAnswer:
    """An HTTP answer: status, JSON body and extra headers."""

    status: int
    body: dict[str, object]
    headers: dict[str, str] = attrs.Factory(dict)


def _rule(error: LeanError) -> _Rule:
    for cls in type(error).__mro__:
        rule = _RULES.get(cls)
        if rule is not None:
            return rule
    raise AssertionError("unreachable: LeanError is in every LeanError's MRO")


def error_answer(error: LeanError) -> ErrorAnswer:
    """Return the answer for *error* raised while serving a request (see the table above)."""
    rule = _rule(error)
    status = rule.status
    if isinstance(error, WebhookVerificationError):
        status = _WEBHOOK_STATUS.get(error.reason, 400)
        detail: dict[str, object] = {"type": "webhook_rejected", "message": error.reason}
    elif rule.message is not None:
        detail = {"type": rule.type, "message": rule.message}
    elif isinstance(error, APIError):
        detail = {"type": rule.type, "message": error.message}
    else:
        detail = {"type": rule.type, "message": str(error)}
    if isinstance(error, ValidationError):
        detail["fields"] = [{"field": f, "message": m} for f, m in error.errors]
    headers = {}
    retry_after = error.retry_after if isinstance(error, APIStatusError) else None
    if status in {429, 503} and retry_after is not None:
        headers["Retry-After"] = str(max(0, math.ceil(retry_after)))
    if status >= 500:
        _logger.warning("answered %d to %s: %s", status, type(error).__name__, error)
    return ErrorAnswer(status=status, body={"error": detail}, headers=headers)
