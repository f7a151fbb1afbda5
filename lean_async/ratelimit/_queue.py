"""First come, first served: the callers of one limiter waiting in one event loop.

Each event loop gets its own queue (a future belongs to its loop), created on first use
and dropped with the loop; the count of waiting callers is shared, so that a caller
that finds a free turn does not pass callers already waiting.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator

__all__ = ["WaitQueue"]


class WaitQueue:
    """Lets one caller per event loop at a time into the section `turn` guards, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, collections.deque[asyncio.Future[None]]
        ] = weakref.WeakKeyDictionary()
        self._waiting = 0

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
