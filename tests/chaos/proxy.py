"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1, put between the SDK and a sandbox server.

Fault model
-----------
Every request whose path starts with ``/api/`` is one *attempt*. For each attempt the
proxy draws from a seeded `random.Random`: with probability ``rate`` it injects one
fault, its kind drawn uniformly from ``kinds``. Kinds differ by whether the request
reached the server (``forwards``) and by what the client gets back:

=====================  =========  ==========================================================
kind                   forwarded  the client sees
=====================  =========  ==========================================================
``reset_before``       no         a TCP RST instead of an answer
``reset_after``        yes        a TCP RST after the server answered (committed, answer lost)
``stall_after``        yes        nothing for ``stall_seconds`` (past its timeout), then FIN
``503_retry_after``    no         ``503`` with ``Retry-After: <retry_after>``
``503``                no         ``503`` without ``Retry-After``
``truncated``          yes        the answer's head, half its body, then FIN
``html_502_before``    no         an HTML ``502 Bad Gateway`` page
``html_502_after``     yes        the same page in place of the server's answer
=====================  =========  ==========================================================

``outage = True`` answers every attempt ``503`` without forwarding (kind ``outage``);
`FaultPlan.force` queues a kind for the next attempt matching a route, for tests that
need one fault of a given kind. ``/_sandbox/...`` routes are never faulted.

Under concurrency the order in which attempts reach the proxy varies from run to run, so
a seed fixes the distribution of faults, and the exact sequence only for serial clients.

Connections: the client side speaks HTTP/1.1 keep-alive (request head, then a
``Content-Length`` body); a connection is closed after any fault that breaks it. The
upstream side opens one connection per attempt, so a stale upstream keep-alive
connection can never be mistaken for an injected fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import socket
import struct
from collections import Counter, deque
from collections.abc import Sequence
from typing import Final

__all__ = ["FaultKind", "FaultPlan", "FaultProxy", "HttpMessage"]

_MAX_HEAD: Final = 64 * 1024
_MAX_BODY: Final = 16 * 1024 * 1024
_CLOSE_TIMEOUT: Final = 5.0
_HTML_502: Final = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


class FaultKind(enum.Enum):
    """What the proxy does to one attempt instead of passing it through."""

    RESET_BEFORE = "reset_before"
    RESET_AFTER = "reset_after"
    STALL_AFTER = "stall_after"
    STATUS_503_RETRY_AFTER = "503_retry_after"
    STATUS_503 = "503"
    TRUNCATED = "truncated"
    HTML_502_BEFORE = "html_502_before"
    HTML_502_AFTER = "html_502_after"
    OUTAGE = "outage"

    @property
    def forwards(self) -> bool:
        """Whether the request reaches the server (it may have acted) before the fault."""
        return self in _FORWARDING


_FORWARDING: Final = frozenset(
    {
        FaultKind.RESET_AFTER,
        FaultKind.STALL_AFTER,
        FaultKind.TRUNCATED,
        FaultKind.HTML_502_AFTER,
    }
)
ALL_KINDS: Final = tuple(k for k in FaultKind if k is not FaultKind.OUTAGE)


class FaultPlan:
    """Decides, attempt by attempt, which fault (if any) to inject.

    Args:
        seed: seeds the plan's own `random.Random`.
        rate: the probability that an attempt gets a fault, 0 to 1.
        kinds: the kinds drawn from, uniformly.
    """

    def __init__(
        self, seed: int = 0, rate: float = 0.0, kinds: Sequence[FaultKind] = ALL_KINDS
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self.seed = seed
        self.rate = rate
        self.kinds = tuple(kinds)
        self.outage = False
        self._rng = random.Random(seed)
        self._forced: deque[tuple[str | None, FaultKind]] = deque()

    def force(self, kind: FaultKind, route: str | None = None) -> None:
        """Inject *kind* into the next attempt whose ``"METHOD /path"`` starts with *route*."""
        self._forced.append((route, kind))

    def decide(self, method: str, path: str) -> FaultKind | None:
        """Return the fault for one attempt, or ``None`` to pass it through."""
        if self.outage:
            return FaultKind.OUTAGE
        route = f"{method} {path}"
        for i, (prefix, kind) in enumerate(self._forced):
            if prefix is None or route.startswith(prefix):
                del self._forced[i]
                return kind
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None


class HttpMessage:
    """One HTTP/1.1 message: its start line, headers and (de-chunked) body."""

    __slots__ = ("body", "headers", "start")

    def __init__(self, start: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.start = start
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        """Return the first header called *name* (case-insensitive), if any."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def encode(self, *, close: bool = False) -> bytes:
        """Return the message as bytes, framed by ``Content-Length``.

        Args:
            close: add ``Connection: close`` (hop-by-hop headers are never copied).
        """
        skip = {"content-length", "transfer-encoding", "connection", "keep-alive"}
        lines = [self.start, *(f"{k}: {v}" for k, v in self.headers if k.lower() not in skip)]
        lines.append(f"Content-Length: {len(self.body)}")
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None  # a clean end of the connection between messages
        raise
    lines = raw.decode("latin-1").split("\r\n")[:-2]
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


async def _read_body(
    reader: asyncio.StreamReader, headers: list[tuple[str, str]], *, to_eof: bool
) -> bytes:
    fields = {k.lower(): v for k, v in headers}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    if "content-length" in fields:
        length = int(fields["content-length"])
        if not 0 <= length <= _MAX_BODY:
            raise ValueError(f"Content-Length {length} out of bounds")
        return await reader.readexactly(length)
    return await reader.read(_MAX_BODY) if to_eof else b""


async def read_request(reader: asyncio.StreamReader) -> HttpMessage | None:
    """Read one request from a keep-alive connection, or ``None`` at its clean end."""
    head = await _read_head(reader)
    if head is None:
        return None
    start, headers = head
    return HttpMessage(start, headers, await _read_body(reader, headers, to_eof=False))


async def read_response(reader: asyncio.StreamReader) -> HttpMessage:
    """Read one whole response (Content-Length, chunked, or up to EOF)."""
    head = await _read_head(reader)
    if head is None:
        raise ConnectionError("the upstream closed the connection without answering")
    start, headers = head
    status = int(start.split(" ", 2)[1])
    bodyless = status in (204, 304) or 100 <= status < 200
    body = b"" if bodyless else await _read_body(reader, headers, to_eof=True)
    return HttpMessage(start, headers, body)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _status(code: int, reason: str, body: bytes, *extra: tuple[str, str]) -> bytes:
    headers = [("Content-Type", "text/html" if body.startswith(b"<") else "application/json")]
    return HttpMessage(f"HTTP/1.1 {code} {reason}", [*headers, *extra], body).encode()


class FaultProxy:
    """Serves 127.0.0.1:<port> and passes requests to an upstream, injecting faults.

    Use as ``async with FaultProxy(upstream_port, plan) as proxy:``; ``proxy.url`` is
    the base URL to give the SDK. Counters: ``attempts`` (API requests received),
    ``forwarded`` (requests that reached the upstream), ``faults`` (by kind value) and
    ``connections`` (client connections accepted).

    Args:
        upstream_port: the port of the server on 127.0.0.1.
        plan: decides the faults.
        stall_seconds: how long a ``stall_after`` holds the answer back; set it above
            the client's timeout.
        retry_after: the ``Retry-After`` value of ``503_retry_after``.
    """

    def __init__(
        self,
        upstream_port: int,
        plan: FaultPlan,
        *,
        stall_seconds: float = 2.0,
        retry_after: str = "1",
    ) -> None:
        self.upstream_port = upstream_port
        self.plan = plan
        self.stall_seconds = stall_seconds
        self.retry_after = retry_after
        self.connections = 0
        self.attempts = 0
        self.forwarded = 0
        self.faults: Counter[str] = Counter()
        self.proxy_errors: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        assert self._server is not None, "the proxy is not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The API base URL through the proxy."""
        return f"http://127.0.0.1:{self.port}/api"

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(
            self._on_connection, "127.0.0.1", 0, limit=_MAX_HEAD
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        # End every connection (stalls wake up on the event); handlers then return by
        # themselves, so none is cancelled mid-callback.
        self._closing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=_CLOSE_TIMEOUT)
            for task in pending:
                task.cancel()
        await self._server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while await self._one_exchange(reader, writer):
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.proxy_errors[type(exc).__name__] += 1
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.transport.abort()

    async def _one_exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; return whether the connection stays open."""
        request = await read_request(reader)
        if request is None:
            return False
        method, path = [*request.start.split(" "), "", ""][:2]
        kind: FaultKind | None = None
        if path.startswith("/api/"):
            self.attempts += 1
            kind = self.plan.decide(method, path)
            if kind is not None:
                self.faults[kind.value] += 1
        keep_alive = (request.header("connection") or "").lower() != "close"
        if kind is FaultKind.RESET_BEFORE:
            _reset(writer)
            return False
        if kind in (FaultKind.OUTAGE, FaultKind.STATUS_503):
            writer.write(_status(503, "Service Unavailable", b'{"message":"unavailable"}'))
        elif kind is FaultKind.STATUS_503_RETRY_AFTER:
            writer.write(
                _status(
                    503,
                    "Service Unavailable",
                    b'{"message":"unavailable"}',
                    ("Retry-After", self.retry_after),
                )
            )
        elif kind is FaultKind.HTML_502_BEFORE:
            writer.write(_status(502, "Bad Gateway", _HTML_502))
        else:
            response = await self._forward(request)
            if kind is FaultKind.RESET_AFTER:
                _reset(writer)
                return False
            if kind is FaultKind.STALL_AFTER:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.stall_seconds)
                writer.close()
                return False
            if kind is FaultKind.TRUNCATED:
                data = response.encode()
                writer.write(data[: len(data) - max(1, len(response.body) // 2)])
                await writer.drain()
                writer.close()
                return False
            if kind is FaultKind.HTML_502_AFTER:
                writer.write(_status(502, "Bad Gateway", _HTML_502))
            else:
                # The upstream's Connection header is about the upstream hop (which the
                # proxy closes after each answer), not about the client's.
                writer.write(response.encode())
        await writer.drain()
        return keep_alive

    async def _forward(self, request: HttpMessage) -> HttpMessage:
        """Send *request* upstream on a fresh connection and return the whole answer."""
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            up_writer.write(request.encode(close=True))
            await up_writer.drain()
            self.forwarded += 1
            return await read_response(up_reader)
        finally:
            up_writer.close()
            with contextlib.suppress(ConnectionError):
                await up_writer.wait_closed()
