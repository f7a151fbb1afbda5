"""Test doubles for the transport layers: a scripted server, a clock and a sleep."""

from __future__ import annotations

import gc
import types
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx

from lean_async.transport import extensions as ext

Outcome = int | httpx.Response | type[httpx.RequestError] | str

BODY_READ_ERROR = "body read error"


class BrokenStream(httpx.AsyncByteStream):
    """A response body that breaks after its first chunk."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"partial'
        raise httpx.ReadError("connection reset while reading the body")

    async def aclose(self) -> None:
        self.closed = True


class Seen:
    """What the server saw of one attempt, copied at the time."""

    def __init__(self, request: httpx.Request) -> None:
        self.method = request.method
        self.url = request.url
        self.headers = dict(request.headers)
        self.header_items = request.headers.multi_items()  # repeated names kept apart
        self.extensions: dict[str, Any] = dict(request.extensions)
        self.timeout = request.extensions.get("timeout")


class Server:
    """A `httpx.MockTransport` handler that plays a script and records every request.

    Each outcome is a status code (answered with a small JSON body), a ready response,
    an httpx exception class (raised) or `BODY_READ_ERROR` (a 200 whose body breaks).
    The last outcome repeats once the script runs out.
    """

    def __init__(self, *script: Outcome) -> None:
        self.script = list(script) or [200]
        self.seen: list[Seen] = []
        self.streams: list[BrokenStream] = []

    @property
    def attempts(self) -> int:
        """How many requests reached the server."""
        return len(self.seen)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(Seen(request))
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(outcome, type):
            raise outcome("scripted failure", request=request)
        if outcome == BODY_READ_ERROR:
            stream = BrokenStream()
            self.streams.append(stream)
            return httpx.Response(200, stream=stream)
        if isinstance(outcome, int):
            return httpx.Response(outcome, json={"status": outcome})
        assert isinstance(outcome, httpx.Response)
        return outcome

    def transport(self) -> httpx.MockTransport:
        """Return a MockTransport served by this handler."""
        return httpx.MockTransport(self)


class Clock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleep:
    """An async sleep that records each delay, advances a clock, and never waits."""

    def __init__(self, clock: Clock | None = None, overshoot: float = 0.0) -> None:
        self.delays: list[float] = []
        self.clock = clock
        self.overshoot = overshoot

    async def __call__(self, delay: float) -> None:
        self.delays.append(float(delay))
        if self.clock is not None:
            self.clock.now += delay + self.overshoot


def build(
    method: str = "GET",
    url: str = "https://api.example/gig",
    *,
    replay_safe: bool = False,
    max_retries: int | None = None,
    deadline: float | None = None,
) -> httpx.Request:
    """Build a request as LeanClient would, with the lean-async extensions given."""
    exts: dict[str, Any] = {"timeout": httpx.Timeout(30.0, connect=5.0).as_dict()}
    if replay_safe:
        exts[ext.REPLAY_SAFE] = True
    if max_retries is not None:
        exts[ext.MAX_RETRIES] = max_retries
    if deadline is not None:
        exts[ext.DEADLINE] = deadline
    json = {"amount": "1.00"} if method == "POST" else None
    return httpx.Request(method, url, json=json, extensions=exts)


# Objects the secret search does not enter: code, the machinery of the event loop and
# sockets (reached through a response's network stream), which lead to the whole process.
_OPAQUE_MODULES = ("asyncio", "_asyncio", "socket", "ssl", "_ssl", "selectors", "anyio")


def reachable_secrets(root: object, secrets: Iterable[str], limit: int = 200_000) -> list[str]:
    """Return ``repr``s of the strings and bytes reachable from *root* that hold a secret.

    The walk follows `gc.get_referents` (attributes, slots, containers, closures) but
    does not enter classes, modules, functions, frames, coroutines or event-loop and
    socket objects, which lead to the whole process rather than to what *root* holds.
    """
    needles = [s for s in secrets if s]
    byte_needles = [s.encode() for s in needles]
    found: list[str] = []
    seen: set[int] = set()
    todo: list[object] = [root]
    while todo and len(seen) < limit:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, str):
            if any(n in node for n in needles):
                found.append(repr(node))
            continue
        if isinstance(node, bytes | bytearray | memoryview):
            data = bytes(node)
            if any(n in data for n in byte_needles):
                found.append(repr(data))
            continue
        if isinstance(node, _OPAQUE_TYPES) or _is_opaque(node):
            continue
        todo.extend(gc.get_referents(node))
    return found


_OPAQUE_TYPES = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.FrameType,
    types.CodeType,
    types.CoroutineType,
    types.TracebackType,
)


def _is_opaque(node: object) -> bool:
    module = type(node).__module__ or ""
    return module.split(".")[0] in _OPAQUE_MODULES
