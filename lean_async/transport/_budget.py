"""The retry budget: a token bucket that keeps a total outage from becoming a retry storm."""

from __future__ import annotations

import threading

__all__ = ["RetryBudget"]


class RetryBudget:
    """A token bucket shared by every request of one client (the AWS SDKs' standard mode).

    Each retry takes *retry_cost* tokens (*timeout_cost* after a timeout) and is not
    made when too few remain; each successful call puts *success_refund* back, up to
    *capacity*. During a total outage the bucket drains and attempts fall to about one
    per logical call; as calls succeed again it refills.

    One budget is shared by every event loop and thread that uses its client: each
    check and its update happen under a lock (no method awaits while holding it).

    Args:
        capacity: the full bucket, and the starting balance.
        retry_cost: tokens one retry takes.
        timeout_cost: tokens one retry after a timeout takes.
        success_refund: tokens a successful call puts back.

    Raises:
        ValueError: an amount is negative.
    """

    # __weakref__: the telemetry's budget gauge reads a budget without keeping it alive.
    __slots__ = (
        "__weakref__",
        "_lock",
        "_tokens",
        "capacity",
        "retry_cost",
        "success_refund",
        "timeout_cost",
    )

    def __init__(
        self,
        capacity: int = 500,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refund: int = 1,
    ) -> None:
        if min(capacity, retry_cost, timeout_cost, success_refund) < 0:
            raise ValueError("retry budget amounts must not be negative")
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._tokens = capacity
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RetryBudget(tokens={self._tokens}, capacity={self.capacity})"

    @property
    def tokens(self) -> int:
        """The tokens left."""
        return self._tokens

    def try_acquire(self, *, timeout: bool = False) -> bool:
        """Take the cost of one retry if the bucket holds it.

        Args:
            timeout: the failed attempt timed out, so the retry costs *timeout_cost*.

        Returns:
            Whether the retry may be made; nothing is taken when it may not.
        """
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if cost > self._tokens:
                return False
            self._tokens -= cost
            return True

    def record_success(self) -> None:
        """Put *success_refund* tokens back after a successful call, up to *capacity*."""
        if self._tokens >= self.capacity:
            return  # full, as it usually is: nothing to put back, no lock to take
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + self.success_refund)
