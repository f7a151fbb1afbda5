"""The keys lean-async puts in `httpx.Request.extensions` and `httpx.Response.extensions`.

Per-request settings travel with the request, as httpx's own ``timeout`` does, so one
transport stack serves every `LeanClient.with_options` copy. Layers read them through
the typed getters below and never by string.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

__all__ = [
    "ATTEMPTS",
    "DEADLINE",
    "IDEMPOTENCY_KEY",
    "MAX_RETRIES",
    "MAY_HAVE_ARRIVED",
    "REPLAY_SAFE",
    "call_context",
    "earlier_attempt_may_have_arrived",
    "get_attempts",
    "get_deadline",
    "get_idempotency_key",
    "get_max_retries",
    "is_replay_safe",
]

MAX_RETRIES: Final = "lean.max_retries"
"""int: retries allowed for this request (0 disables retrying)."""

DEADLINE: Final = "lean.deadline"
"""float: `time.monotonic()` instant by which the whole call, backoff included, must end."""

REPLAY_SAFE: Final = "lean.replay_safe"
"""bool: the request may be sent again after bytes reached the server (a unique key or
an Idempotency-Key the API honours protects it)."""

IDEMPOTENCY_KEY: Final = "lean.idempotency_key"
"""str: the call's Idempotency-Key (made by `LeanClient`, recorded by the idempotency layer)."""

ATTEMPTS: Final = "lean.attempts"
"""int: attempts made so far; the retry layer writes it on the request and the response."""

MAY_HAVE_ARRIVED: Final = "lean.may_have_arrived"
"""bool: an attempt before the last one may have reached the server (it did not fail
before sending: its answer was lost, or was a status that is retried); the retry layer
sets it on the request before the next attempt."""


def get_max_retries(request: httpx.Request, default: int) -> int:
    """Return the request's retry allowance, or *default* when it sets none."""
    value = request.extensions.get(MAX_RETRIES)
    return default if value is None else int(value)


def get_deadline(request: httpx.Request) -> float | None:
    """Return the request's monotonic deadline, if any."""
    value = request.extensions.get(DEADLINE)
    return None if value is None else float(value)


def is_replay_safe(request: httpx.Request) -> bool:
    """Return whether sending *request* twice cannot act twice."""
    if request.method in {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}:
        return True
    return bool(request.extensions.get(REPLAY_SAFE, False))


def get_idempotency_key(request: httpx.Request) -> str | None:
    """Return the Idempotency-Key the request carries, if any."""
    value = request.extensions.get(IDEMPOTENCY_KEY)
    if value is None:
        value = request.headers.get("Idempotency-Key")
    return None if value is None else str(value)


def get_attempts(request: httpx.Request) -> int:
    """Return how many attempts were made for *request* (at least 1)."""
    return int(request.extensions.get(ATTEMPTS, 1))


def earlier_attempt_may_have_arrived(request: httpx.Request) -> bool:
    """Return whether an attempt of *request* before the last one may have reached the server."""
    return bool(request.extensions.get(MAY_HAVE_ARRIVED, False))


def call_context(request: httpx.Request) -> dict[str, Any]:
    """Return the `APIError` keyword arguments that describe the call of *request*.

    They are its method, its URL without user info, the attempts made and the
    idempotency key, if any.
    """
    return {
        "method": request.method,
        "url": str(request.url.copy_with(username=None, password=None)),
        "attempts": get_attempts(request),
        "idempotency_key": get_idempotency_key(request),
    }
