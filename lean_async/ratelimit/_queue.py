"""First come, first served: the callers of one limiter waiting in one event loop.

Each event loop gets its own queue (a future belongs to its loop), created on first use
and dropped with the loop; the count of waiting callers is shared, so that a caller
that finds a free turn does not pass callers already waiting.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["WaitQueue", "fresh_lock_after_fork"]

_LOCKED: weakref.WeakSet[Any] = weakref.WeakSet()


def fresh_lock_after_fork(owner: Any) -> None:
    """Give *owner* a new ``_lock`` in a forked child (a lock held at the fork stays held)."""
    _LOCKED.add(owner)


def _renew_locks() -> None:
    for owner in list(_LOCKED):
        owner._lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - every POSIX Python has it
    os.register_at_fork(after_in_child=_renew_locks)


class WaitQueue:
    """Lets one caller per event loop at a time into the section `turn` guards, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, collections.deque[asyncio.Future[None]]
        ] = weakref.WeakKeyDictionary()
        self._waiting = 0
        fresh_lock_after_fork(self)

    @property
    def waiting(self) -> int:
        """Callers inside `turn`, waiting or at its head, over every event loop."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait until every caller that came before in this loop is done, then enter."""
        loop = asyncio.get_running_loop()
        with self._lock:
            queue = self._loops.get(loop)
            if queue is None:
                queue = self._loops[loop] = collections.deque()
            self._waiting += 1
        mine: asyncio.Future[None] = loop.create_future()
        queue.append(mine)
        try:
            if queue[0] is not mine:
                await mine  # the caller before hands over when it is done
            yield
        finally:
            with self._lock:
                self._waiting -= 1
            head = queue[0] is mine
            queue.remove(mine)
            if head and queue:
                successor = queue[0]
                if not successor.done():
                    successor.set_result(None)
