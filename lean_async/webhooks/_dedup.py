"""De-duplication stores: process each webhook event once, even across Lean's retries.

A store tracks each event id through claim -> complete, or claim -> release:

- ``claim(id, token)`` takes a short *lease* on the id and answers `ClaimStatus.CLAIMED`;
  if the id is already leased it answers ``IN_PROGRESS``, if already done ``DONE``.
- ``complete(id, token)`` marks the id done for the long *ttl* (how long Lean may keep
  retrying), whoever holds the lease.
- ``release(id, token)`` drops the lease when the handler failed, so Lean's next retry
  can claim it again; it does nothing if the lease is no longer this token's.

The lease bounds how long a crashed receiver blocks the event (Lean's retries are
answered "in progress" until it expires) and must outlast your slowest handler: a
handler still running when its lease expires may see the same event run again.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "ClaimStatus",
    "DedupStore",
    "MemoryDedupStore",
]

DEFAULT_LEASE: Final = 60.0
"""Seconds a claim holds an event id while its handler runs."""

DEFAULT_TTL: Final = 86_400.0
"""Seconds a processed event id is remembered (one day)."""


class ClaimStatus(enum.Enum):
    """What `DedupStore.claim` found."""

    CLAIMED = "claimed"
    """The caller holds the lease now and should run the handler."""
    IN_PROGRESS = "in_progress"
    """Another delivery of the same event holds the lease."""
    DONE = "done"
    """The event was processed already."""


@runtime_checkable
class DedupStore(Protocol):
    """Where receivers record which webhook events they are processing or processed."""

    async def claim(self, event_id: str, token: str) -> ClaimStatus:
        """Try to take the processing lease on *event_id*.

        Args:
            event_id: the event's identity (`WebhookEvent.id`).
            token: a value unique to this delivery attempt, given back to
                `complete` and `release`.

        Returns:
            CLAIMED when the lease was taken, else IN_PROGRESS or DONE.
        """
        ...

    async def complete(self, event_id: str, token: str) -> None:
        """Mark *event_id* processed, so later deliveries are answered as duplicates.

        Args:
            event_id: the event's identity.
            token: the token the claim was made with.
        """
        ...

    async def release(self, event_id: str, token: str) -> None:
        """Drop this token's lease on *event_id* so a later delivery can claim it.

        Args:
            event_id: the event's identity.
            token: the token the claim was made with; another holder's lease is kept.
        """
        ...


class MemoryDedupStore:
    """An in-process `DedupStore` with expiring entries (the default).

    Good for one receiver process. Expired entries are purged as new claims arrive, so
    memory stays bounded by the events of one *ttl*. Receivers spread over several
    processes need a shared store such as `lean_async.webhooks.redis.RedisDedupStore`.

    Args:
        ttl: seconds a processed event id is remembered.
        lease: seconds a claim holds an event id while its handler runs.
        clock: a monotonic clock in seconds (inject one in tests).

    Raises:
        ValueError: *ttl* or *lease* is not positive.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or lease <= 0:
            raise ValueError("ttl and lease must be positive numbers of seconds")
        self._ttl = ttl
        self._lease = lease
        self._clock = clock
        # Each map is in insertion order, and with a fixed duration per map that is
        # also expiry order: purging pops from the front until a live entry.
        self._claims: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._done: OrderedDict[str, float] = OrderedDict()

    def __repr__(self) -> str:
        return f"MemoryDedupStore(ttl={self._ttl}, lease={self._lease}, entries={len(self)})"

    def __len__(self) -> int:
        """Return how many event ids are held (leased or done), expired ones included."""
        return len(self._claims) + len(self._done)

    def _purge(self, now: float) -> None:
        while self._claims and next(iter(self._claims.values()))[1] <= now:
            self._claims.popitem(last=False)
        while self._done and next(iter(self._done.values())) <= now:
            self._done.popitem(last=False)

    async def claim(self, event_id: str, token: str) -> ClaimStatus:
        """Take the lease on *event_id* unless it is leased or done.

        Args:
            event_id: the event's identity.
            token: this delivery's token.

        Returns:
            CLAIMED, IN_PROGRESS or DONE (see `DedupStore.claim`).
        """
        now = self._clock()
        self._purge(now)
        if event_id in self._done:
            return ClaimStatus.DONE
        if event_id in self._claims:
            return ClaimStatus.IN_PROGRESS
        self._claims[event_id] = (token, now + self._lease)
        return ClaimStatus.CLAIMED

    async def complete(self, event_id: str, token: str) -> None:
        """Mark *event_id* done for *ttl* seconds, whoever holds its lease.

        Args:
            event_id: the event's identity.
            token: this delivery's token (not checked: the work is done either way).
        """
        self._claims.pop(event_id, None)
        self._done.pop(event_id, None)
        self._done[event_id] = self._clock() + self._ttl

    async def release(self, event_id: str, token: str) -> None:
        """Drop the lease on *event_id* if *token* holds it.

        Args:
            event_id: the event's identity.
            token: this delivery's token; another holder's lease is kept.
        """
        held = self._claims.get(event_id)
        if held is not None and held[0] == token:
            del self._claims[event_id]
