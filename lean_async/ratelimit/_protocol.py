"""The interface the transport stack's pacing layer drives."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lean_async.ratelimit._feedback import Feedback

__all__ = ["RateLimiter"]


@runtime_checkable
class RateLimiter(Protocol):
    """Gives each attempt its turn and learns from how it was answered.

    The pacing layer calls `try_acquire` first (it must not block: no I/O, no await)
    and, when that returns ``None``, awaits `acquire`; either returns an *epoch*, an
    opaque number that `record` gets back with the answer to that attempt. A limiter
    may be used from several event loops and threads at once.
    """

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second, or ``None`` while not limiting."""
        ...

    def try_acquire(self) -> int | None:
        """Take a turn now if that needs no waiting; return its epoch, else ``None``."""
        ...

    async def acquire(self) -> int:
        """Wait for a turn; return its epoch."""
        ...

    def record(self, epoch: int, feedback: Feedback) -> None:
        """Learn from the answer to an attempt sent with the turn of *epoch*; never blocks."""
        ...
