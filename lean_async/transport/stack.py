"""The one place that knows the order of the transport layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import httpx

from lean_async._config import DEFAULT_MAX_RESPONSE_BYTES, Secret
from lean_async.transport._budget import RetryBudget
from lean_async.transport._policy import RetryPolicy
from lean_async.transport._redact import Redactor
from lean_async.transport.auth import AuthTransport
from lean_async.transport.errors import ErrorsTransport
from lean_async.transport.idempotency import IdempotencyTransport
from lean_async.transport.limit import ResponseLimitTransport
from lean_async.transport.pacing import PacingTransport
from lean_async.transport.retry import RetryTransport

if TYPE_CHECKING:
    from lean_async._telemetry import Telemetry
    from lean_async.ratelimit import RateLimiter

__all__ = ["build_stack"]


def build_stack(
    base: httpx.AsyncBaseTransport,
    *,
    api_key: Secret[str],
    policy: RetryPolicy,
    budget: RetryBudget | None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    telemetry: Telemetry | None = None,
    redactor: Redactor | None = None,
    limiter: RateLimiter | None = None,
) -> httpx.AsyncBaseTransport:
    """Wrap *base* in lean-async's layers; a request flows down, the response up::

        ErrorsTransport           httpx exceptions -> APIConnectionError/APITimeoutError,
          |                       non-2xx -> the APIStatusError subclass; key redacted
        IdempotencyTransport      the key LeanClient made for a POST, on every attempt
          |
        RetryTransport            backoff + full jitter, Retry-After, budget, safe replays
          |                       (with telemetry, its on_retry hook puts each backoff
          |                       on the call's span: `_attempt.retry_reporter`)
        PacingTransport           with a limiter: each attempt waits its turn in the shared
          |                       token bucket; 429s slow it, successes speed it up again
        AttemptTelemetryTransport with telemetry: an HTTP client span + duration point per
          |                       attempt, traceparent injected (absent without telemetry)
        ResponseLimitTransport    reads each body, refusing one above max_response_bytes
          |
        AuthTransport             HTTP Basic, API key as username, empty password: the
          |                       aiohttp base writes it itself; other bases get it on
          |                       the request, redacted once it is sent
        base                      httpx.AsyncHTTPTransport, or any AsyncBaseTransport

    Args:
        base: the transport that does the I/O; closing the stack closes it.
        api_key: the Lean API key.
        policy: the retry policy.
        budget: the client's retry budget, or ``None`` for none.
        max_response_bytes: the largest response body accepted (after decoding).
        telemetry: the client's OpenTelemetry reporting, or ``None`` for none (then the
            attempt layer is left out).
        redactor: what removes secrets from error text; by default, the API key's.
        limiter: the client's rate limiter, or ``None`` for no pacing (then the pacing
            layer is left out).

    Returns:
        The outermost layer, to pass as ``httpx.AsyncClient(transport=...)``.
    """
    attempt: httpx.AsyncBaseTransport = ResponseLimitTransport(
        AuthTransport(base, api_key), max_response_bytes
    )
    if telemetry is not None:
        from lean_async.transport._attempt import AttemptTelemetryTransport, retry_reporter

        attempt = AttemptTelemetryTransport(attempt, telemetry)
        # Backoffs reach the call's span through the retry layer's own hook.
        policy = attrs.evolve(policy, on_retry=retry_reporter(telemetry, policy.on_retry))
    if limiter is not None:
        attempt = PacingTransport(attempt, limiter)
    return ErrorsTransport(
        IdempotencyTransport(RetryTransport(attempt, policy, budget)),
        redactor=redactor if redactor is not None else Redactor(api_key),
    )
