"""`RedisDedupStore`: one de-duplication record shared by receivers in many processes.

Needs the ``redis`` extra (``pip install 'lean-async[redis]'``)::

    import redis.asyncio as redis
    from lean_async.webhooks.redis import RedisDedupStore

    store = RedisDedupStore(redis.Redis.from_url("redis://localhost:6379/0"))

Each event id is one key, ``<prefix><event id>``: a claim is ``SET key <token> NX EX
<lease>``, completion overwrites it with ``done`` for ``ttl`` seconds, and a release
deletes it only while it still holds the same token (a small Lua compare-and-delete),
so a slow receiver whose lease expired cannot free another receiver's claim. The
client is the caller's: this store never closes it.
"""

from __future__ import annotations

from typing import Any, Final

try:
    import redis.asyncio as aioredis
except ImportError as exc:  # an optional dependency: say which extra brings it
    raise ImportError(
        "lean_async.webhooks.redis needs redis: pip install 'lean-async[redis]'"
    ) from exc

from lean_async.webhooks._dedup import DEFAULT_LEASE, DEFAULT_TTL, ClaimStatus

__all__ = ["RedisDedupStore"]

_DONE: Final = "done"

_RELEASE_SCRIPT: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _whole_seconds(name: str, value: float) -> int:
    seconds = int(value)
    if seconds < 1 or seconds != value:
        raise ValueError(f"{name} must be a positive whole number of seconds, got {value!r}")
    return seconds


class RedisDedupStore:
    """A `DedupStore` in Redis, for receivers spread over several processes or hosts.

    Args:
        redis: a ``redis.asyncio.Redis`` client (either ``decode_responses`` setting);
            the caller owns and closes it.
        prefix: prepended to every event id to form its key.
        ttl: whole seconds a processed event id is remembered.
        lease: whole seconds a claim holds an event id while its handler runs.

    Raises:
        ValueError: *ttl* or *lease* is not a positive whole number of seconds.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "lean:webhook:",
        ttl: float = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = _whole_seconds("ttl", ttl)
        self._lease = _whole_seconds("lease", lease)
        self._release_script: Any = redis.register_script(_RELEASE_SCRIPT)

    def __repr__(self) -> str:
        return f"RedisDedupStore(prefix={self._prefix!r}, ttl={self._ttl}, lease={self._lease})"

    def _key(self, event_id: str) -> str:
        return self._prefix + event_id

    async def claim(self, event_id: str, token: str) -> ClaimStatus:
        """Take the lease on *event_id* with ``SET key token NX EX lease``.

        Args:
            event_id: the event's identity.
            token: this delivery's token.

        Returns:
            CLAIMED, IN_PROGRESS or DONE (see `DedupStore.claim`).

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or failed.
        """
        key = self._key(event_id)
        if await self._redis.set(key, token, nx=True, ex=self._lease):
            return ClaimStatus.CLAIMED
        held = await self._redis.get(key)
        if held in (_DONE, _DONE.encode()):
            return ClaimStatus.DONE
        # Leased, or freed between the two calls: "in progress" makes Lean retry later.
        return ClaimStatus.IN_PROGRESS

    async def complete(self, event_id: str, token: str) -> None:
        """Mark *event_id* done for *ttl* seconds, whoever holds its lease.

        Args:
            event_id: the event's identity.
            token: this delivery's token (not checked: the work is done either way).

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or failed.
        """
        await self._redis.set(self._key(event_id), _DONE, ex=self._ttl)

    async def release(self, event_id: str, token: str) -> None:
        """Delete the lease on *event_id* if *token* still holds it (atomically, in Lua).

        Args:
            event_id: the event's identity.
            token: this delivery's token; another holder's lease, or a done mark, is kept.

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or failed.
        """
        await self._release_script(keys=[self._key(event_id)], args=[token])
