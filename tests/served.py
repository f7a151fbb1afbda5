"""A sandbox served on 127.0.0.1 from a thread of its own, for tests that run their own loops.

Tests of a client used across ``asyncio.run`` calls, threads and forks cannot serve the
sandbox from the loop they test: it runs here, in a daemon thread with its own loop, for
the duration of a ``with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from lean_async.sandbox import Sandbox, running_server

__all__ = ["open_fds", "rss_bytes", "served_sandbox"]


@contextlib.contextmanager
def served_sandbox(api_key: str = "sk_test_loops", **server: Any) -> Iterator[str]:
    """Serve a sandbox on a free loopback port from another thread; yield its base URL.

    Args:
        api_key: the key the sandbox accepts.
        **server: passed to `running_server` (e.g. TLS settings).
    """
    ready = threading.Event()
    found: list[str | BaseException] = []
    stop: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop.append((asyncio.get_running_loop(), asyncio.Event()))
        try:
            async with (
                Sandbox(api_key=api_key) as sandbox,
                running_server(sandbox, **server) as url,
            ):
                found.append(url)
                ready.set()
                await stop[0][1].wait()
        except BaseException as exc:
            found.append(exc)
            ready.set()
            raise

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the sandbox did not start"
    if isinstance(found[0], BaseException):
        thread.join(10)
        raise found[0]
    try:
        yield found[0]
    finally:
        loop, event = stop[0]
        loop.call_soon_threadsafe(event.set)
        thread.join(30)


def open_fds() -> int:
    """The number of file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """This process's resident memory, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
