"""The retry policy and the decision it drives: stop, or wait how long."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import attrs
import httpx

from lean_async._config import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_CAP,
)
from lean_async.transport._budget import RetryBudget
from lean_async.transport._headers import parse_retry_after
from lean_async.transport.extensions import get_deadline, get_max_retries

__all__ = [
    "STATUS_CAUSE",
    "DeadlineExceeded",
    "RetryDetails",
    "RetryPolicy",
    "clip_timeouts",
    "decide",
    "is_testing",
    "set_testing",
]

_TIMEOUT_KEYS: Final = ("connect", "read", "write", "pool")

STATUS_CAUSE: Final = "HTTP "
"""How `RetryDetails.cause` starts for a retried status (``"HTTP 503"``); an exception's
cause is its class's name (``"ReadTimeout"``)."""
_testing = False


def set_testing(enabled: bool) -> None:
    """Switch every retry wait to zero, for test suites; the retries themselves still happen.

    Args:
        enabled: ``True`` to zero the waits, ``False`` to restore them.
    """
    global _testing
    _testing = enabled


def is_testing() -> bool:
    """Return whether `set_testing` has switched retry waits off."""
    return _testing


class DeadlineExceeded(httpx.TimeoutException):
    """The call's deadline passed before another attempt could start."""


@attrs.frozen(kw_only=True)
class RetryDetails:
    """What a retry hook learns about one retry; never headers or bodies.

    Attributes:
        method: the HTTP method.
        path: the URL path.
        attempt: the number of the attempt that failed (1 for the first).
        delay: the seconds to wait before the next attempt.
        cause: what failed, e.g. ``"ReadTimeout"`` or ``"HTTP 503"``.
    """

    method: str
    path: str
    attempt: int
    delay: float
    cause: str


def _no_conflict(_: object, __: attrs.Attribute[frozenset[int]], value: frozenset[int]) -> None:
    if 409 in value:
        raise ValueError("409 is never retried: a conflict calls for reconciliation")


def _seconds(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{attribute.name} must be a finite number of seconds >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the retry layer waits and when it gives up; built once per client.

    Attributes:
        max_retries: retries after the first attempt; a request's
            ``extensions.MAX_RETRIES`` overrides it.
        backoff_base: the ceiling of the first backoff, in seconds.
        backoff_cap: the largest backoff ceiling, in seconds.
        retry_after_cap: the longest ``Retry-After`` honoured; a longer one stops retrying.
        retry_statuses: the statuses retried for replay-safe requests; never 409.
        sleep: awaited to wait between attempts.
        clock: the monotonic clock deadlines are measured on.
        uniform: draws the jitter, as `random.uniform`.
        on_retry: called before each retry's wait; it must not raise.

    Raises:
        ValueError: a negative number, or 409 among *retry_statuses*.
    """

    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=DEFAULT_BACKOFF_BASE, validator=_seconds)
    backoff_cap: float = attrs.field(default=DEFAULT_BACKOFF_CAP, validator=_seconds)
    retry_after_cap: float = attrs.field(default=DEFAULT_RETRY_AFTER_CAP, validator=_seconds)
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({408, 429, 500, 502, 503, 504}), validator=_no_conflict
    )
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    uniform: Callable[[float, float], float] = random.uniform
    on_retry: Callable[[RetryDetails], None] | None = None

    def backoff(self, attempt: int) -> float:
        """Return the full-jitter wait after failed attempt number *attempt*.

        Args:
            attempt: the number of the attempt that failed (1 for the first).

        Returns:
            A uniform draw from ``[0, min(backoff_cap, backoff_base * 2 ** (attempt - 1))]``.
        """
        # The exponent is bounded so that a huge max_retries cannot overflow a float.
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(attempt - 1, 64))
        return self.uniform(0.0, ceiling)


def decide(
    policy: RetryPolicy,
    budget: RetryBudget | None,
    request: httpx.Request,
    attempt: int,
    outcome: httpx.Response | BaseException,
) -> float | None:
    """Return the wait before retrying a retryable failure, or ``None`` to stop.

    Stops when the retries are used up, the task is being cancelled, ``Retry-After``
    asks for more than the cap, the wait would end past the deadline, or the budget
    cannot pay; the budget is charged only when the answer is a wait.
    """
    if attempt > get_max_retries(request, policy.max_retries):
        return None
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return None
    server_wait = None
    if isinstance(outcome, httpx.Response):
        server_wait = parse_retry_after(outcome.headers.get("Retry-After"))
        if server_wait is not None and server_wait > policy.retry_after_cap:
            return None
    delay = policy.backoff(attempt) if server_wait is None else server_wait
    if _testing:
        delay = 0.0
    deadline = get_deadline(request)
    if deadline is not None and policy.clock() + delay >= deadline:
        return None
    timed_out = isinstance(outcome, httpx.TimeoutException)
    if budget is not None and not budget.try_acquire(timeout=timed_out):
        return None
    return delay


def clip_timeouts(timeouts: Mapping[str, float | None] | None, left: float) -> dict[str, float]:
    """Return httpx's per-request timeout dict with every value at most *left* seconds."""
    timeouts = timeouts or {}
    return {
        key: left if (value := timeouts.get(key)) is None else min(value, left)
        for key in _TIMEOUT_KEYS
    }
