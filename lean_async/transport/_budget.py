"""The retry budget: a token bucket that keeps a total outage from becoming a retry storm."""

from __future__ import annotations

__all__ = ["RetryBudget"]


class RetryBudget:
    """A token bucket shared by every request of one client (the AWS SDKs' standard mode).

    Each retry takes *retry_cost* tokens (*timeout_cost* after a timeout) and is not
    made when too few remain; each successful call puts *success_refund* back, up to
    *capacity*. During a total outage the bucket drains and attempts fall to about one
    per logical call; as calls succeed again it refills.

    It is safe within one event loop without locks: no method awaits, so no other task
    runs between a check and its update. Do not share one budget between threads.

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
        if cost > self._tokens:
            return False
        self._tokens -= cost
        return True

    def record_success(self) -> None:
        """Put *success_refund* tokens back after a successful call, up to *capacity*."""
        self._tokens = min(self.capacity, self._tokens + self.success_refund)
