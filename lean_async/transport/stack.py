"""The one place that knows the order of the transport layers."""

from __future__ import annotations

import httpx

from lean_async._config import Secret
from lean_async.transport._budget import RetryBudget
from lean_async.transport._policy import RetryPolicy
from lean_async.transport.auth import AuthTransport
from lean_async.transport.errors import ErrorsTransport
from lean_async.transport.idempotency import IdempotencyTransport
from lean_async.transport.retry import RetryTransport

__all__ = ["build_stack"]


def build_stack(
    base: httpx.AsyncBaseTransport,
    *,
    api_key: Secret,
    policy: RetryPolicy,
    budget: RetryBudget | None,
) -> httpx.AsyncBaseTransport:
    """Wrap *base* in lean-async's layers; a request flows down, the response up::

        ErrorsTransport           httpx exceptions -> APIConnectionError/APITimeoutError,
          |                       non-2xx -> the APIStatusError subclass
        IdempotencyTransport      POST gets an Idempotency-Key, the same on every attempt
          |
        RetryTransport            backoff + full jitter, Retry-After, budget, safe replays
          |
        AuthTransport             HTTP Basic, API key as username, empty password
          |
        base                      httpx.AsyncHTTPTransport, or any AsyncBaseTransport

    Args:
        base: the transport that does the I/O; closing the stack closes it.
        api_key: the Lean API key.
        policy: the retry policy.
        budget: the client's retry budget, or ``None`` for none.

    Returns:
        The outermost layer, to pass as ``httpx.AsyncClient(transport=...)``.
    """
    return ErrorsTransport(
        IdempotencyTransport(RetryTransport(AuthTransport(base, api_key), policy, budget))
    )
