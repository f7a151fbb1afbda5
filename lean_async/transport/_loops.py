"""One connection pool per event loop: the base of a pooled `LeanClient`.

A pool's connections belong to the event loop that opened them, so one client used from
several loops (a Celery task's ``asyncio.run``, Django's ``async_to_sync``, a script,
threads each with a loop) needs one pool per loop. `LoopPools` makes a loop's pool on
its first use there, from a factory (the aiohttp base or httpx's pooled transport, with
the client's network settings), and lets it go in one of three ways:

- **the loop finishes** (``asyncio.run`` and ``asyncio.Runner`` shut down a loop's async
  generators before closing it): each pool is watched by an async generator started in
  its loop, whose ``finally`` closes the pool while the loop still runs;
- **the loop was closed some other way** (``loop.close()`` without that shutdown): the
  pool is dropped without touching the loop when it is next noticed (a new loop's first
  call, or `aclose`), its sockets closed directly (`_private_state.abandon`);
- **fork()**: a child drops every pool it inherited the same way (closing only its
  copies of the descriptors, writing nothing), so it never sends on the parent's
  connections; its first call makes its own.

`aclose` closes the current loop's pool and lets the others go: a running loop closes
its own pool (scheduled there), a closed loop's pool is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any, Final

import httpx

from lean_async._secrets import Secret
from lean_async.transport._authorizing import AuthorizingTransport, send_with_header
from lean_async.transport._private_state import abandon

__all__ = ["LoopPools"]

_NO_POOL: Final[tuple[None, None]] = (None, None)


class _Pool:
    """One loop's pool, and the async generator that closes it when the loop finishes."""

    __slots__ = ("done", "loop", "transport", "watcher")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, transport: httpx.AsyncBaseTransport
    ) -> None:
        self.loop = loop
        self.transport = transport
        self.watcher: AsyncGenerator[None, None] | None = None
        self.done = False  # closed or dropped: claimed under the registry's lock


class LoopPools(AuthorizingTransport):
    """Sends each request through the pool of the running event loop, made on first use.

    Thread-safe: several threads, each running its own loop, may send at once.

    Args:
        factory: makes a new pool (called inside the loop that will use it).
    """

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
        # The last (loop, pool) used, read in one step: the fast path of every call.
        self._last: tuple[asyncio.AbstractEventLoop | None, httpx.AsyncBaseTransport | None] = (
            _NO_POOL
        )
        self._closed = False
        _ALL.add(self)

    def __repr__(self) -> str:
        return f"LoopPools(pools={len(self._pools)})"

    @property
    def open_pools(self) -> int:
        """The pools currently open (one per loop that used this client and is not done)."""
        return len(self._pools)

    def handle_async_request(self, request: httpx.Request) -> Coroutine[Any, Any, httpx.Response]:
        """Send *request* through the running loop's pool (no frame of its own).

        Raises:
            RuntimeError: called outside a running event loop, or after `aclose`.
        """
        loop = asyncio.get_running_loop()
        last_loop, pool = self._last
        if last_loop is not loop or pool is None:
            pool = self._pool_for(loop)
        return pool.handle_async_request(request)

    def send_authorized(
        self, request: httpx.Request, authorization: Secret[str]
    ) -> Coroutine[Any, Any, httpx.Response]:
        """Send *request* through the running loop's pool with *authorization* on.

        The pool writes the header itself when it can (the aiohttp base); otherwise the
        header is stored in the request for the send and redacted after
        (`send_with_header`).
        """
        loop = asyncio.get_running_loop()
        last_loop, pool = self._last
        if last_loop is not loop or pool is None:
            pool = self._pool_for(loop)
        if isinstance(pool, AuthorizingTransport):
            return pool.send_authorized(request, authorization)
        return send_with_header(pool, request, authorization)

    def _pool_for(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncBaseTransport:
        dead: list[_Pool] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("the connection pools are closed")
            entry = self._pools.get(loop)
            if entry is None:
                dead = self._claim_dead()
                entry = _Pool(loop, self._factory())
                self._pools[loop] = entry
                entry.watcher = self._watch(entry)
                _start(entry.watcher)
            self._last = (loop, entry.transport)
        for old in dead:
            _drop(old)
        return entry.transport

    def _claim_dead(self) -> list[_Pool]:
        """Take the pools whose loop is closed out of the registry (lock held)."""
        dead = [entry for entry in self._pools.values() if entry.loop.is_closed()]
        for entry in dead:
            del self._pools[entry.loop]
            entry.done = True
        return dead

    async def _watch(self, entry: _Pool) -> AsyncGenerator[None, None]:
        # Started in the pool's loop, so that the loop's shutdown_asyncgens() (asyncio.run,
        # asyncio.Runner) closes it, and with it the pool, before the loop closes.
        try:
            yield
        finally:
            if self._claim(entry):
                await entry.transport.aclose()

    def _claim(self, entry: _Pool) -> bool:
        """Take *entry* out of the registry; whether this caller is the one to close it."""
        with self._lock:
            if entry.done:
                return False
            entry.done = True
            if self._pools.get(entry.loop) is entry:
                del self._pools[entry.loop]
            if self._last[1] is entry.transport:
                self._last = _NO_POOL
            return True

    async def aclose(self) -> None:
        """Close the running loop's pool and let the others go (see the module docstring)."""
        with self._lock:
            self._closed = True
            entries = list(self._pools.values())
            self._pools.clear()
            self._last = _NO_POOL
            for entry in entries:
                entry.done = True
        loop = asyncio.get_running_loop()
        current = None
        for entry in entries:
            if entry.loop is loop:
                current = entry
            else:
                _drop(entry)
        if current is not None:
            _finish(current)
            await current.transport.aclose()

    def drop_finished(self) -> None:
        """Let go of the pools whose loop has closed (without touching those loops)."""
        with self._lock:
            dead = self._claim_dead()
        for entry in dead:
            _drop(entry)

    def __del__(self) -> None:
        # Pools of closed loops are dropped here, which schedules nothing; a pool whose
        # loop still runs is left to warn ResourceWarning itself.
        with contextlib.suppress(Exception):
            self.drop_finished()

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it during fork()
        entries = list(self._pools.values())
        self._pools.clear()
        self._last = _NO_POOL
        for entry in entries:
            entry.done = True
            _finish(entry)
            abandon(entry.transport)


def _start(watcher: AsyncGenerator[None, None]) -> None:
    """Run *watcher* to its first ``yield`` now, which registers it with the running loop."""
    step = watcher.__anext__()
    try:
        step.send(None)
    except StopIteration:
        pass
    else:  # pragma: no cover - the watcher yields without awaiting
        step.close()


def _finish(entry: _Pool) -> None:
    """End *entry*'s watcher here, without its loop (its ``finally`` finds it claimed)."""
    watcher, entry.watcher = entry.watcher, None
    if watcher is None:
        return
    closing = watcher.aclose()
    try:
        closing.send(None)
    except (StopIteration, RuntimeError):  # RuntimeError: its loop is closing it right now
        pass
    else:  # pragma: no cover - the claimed watcher's finally does not await
        closing.close()


def _drop(entry: _Pool) -> None:
    """Let go of a claimed pool that is not the running loop's."""
    _finish(entry)
    loop = entry.loop
    if not loop.is_closed():
        # Its loop still runs (another thread) or may run again: it closes its own pool.
        with contextlib.suppress(RuntimeError):  # closed in the meantime: dropped below
            loop.call_soon_threadsafe(_close_in_loop, entry.transport)
            return
    abandon(entry.transport)


def _close_in_loop(transport: httpx.AsyncBaseTransport) -> None:
    task = asyncio.get_running_loop().create_task(transport.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Task[None]] = set()
_ALL: weakref.WeakSet[LoopPools] = weakref.WeakSet()


def _forget_inherited_pools() -> None:  # pragma: no cover - runs in forked children only
    for pools in list(_ALL):
        pools._after_fork_in_child()


os.register_at_fork(after_in_child=_forget_inherited_pools)
