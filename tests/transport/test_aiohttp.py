"""Tests for `AiohttpTransport` against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import gc
import gzip
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import aiohttp
import httpx
import pytest

from lean_async import LeanClient
from lean_async._config import Secret
from lean_async._endpoints.validate import special_payment_body
from lean_async.errors import APIResponseValidationError
from lean_async.sandbox import DropAfterCommit, ManualClock, Sandbox, ServerError, running_server
from lean_async.transport import (
    AuthTransport,
    ResponseLimitTransport,
    RetryBudget,
    RetryPolicy,
    build_stack,
)
from lean_async.transport import extensions as ext
from lean_async.transport._aiohttp import AiohttpTransport, _entries
from tests.transport.helpers import Sleep

TIMEOUTS = {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": 1.0}
OK_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Echo: a\r\nX-Echo: b\r\n\r\nok"
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RawServer:
    """An HTTP/1.1 server on 127.0.0.1 that misbehaves as told and counts connections.

    Modes: ``ok`` (answer 200 ``ok``), ``close`` (close without answering), ``reset``
    (send a TCP RST), ``stall`` (never answer), ``truncate`` (promise 100 body bytes,
    send 10, close; ``stallbody``: send 10, stall), ``endless`` (a chunked body that
    never ends), ``gzip`` (a gzip body). ``delay`` holds each answer that long.
    """

    def __init__(self, mode: str = "ok", delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._done = asyncio.Event()
        self.reached = asyncio.Event()
        self.hung_up = asyncio.Event()
        self.url = ""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RawServer]:
        """Serve until the block exits, then close every connection."""
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/x?q=1"
        try:
            yield self
        finally:
            self._done.set()
            server.close()
            for writer in self._writers:
                writer.close()
            await server.wait_closed()
            await asyncio.sleep(0.01)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        self._writers.append(writer)
        try:
            while await self._exchange(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            self.hung_up.set()
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        self.heads.append(head)
        self.reached.set()
        self.bodies.append(await reader.readexactly(length))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "ok":
            writer.write(OK_ANSWER)
            await writer.drain()
            return True
        if self.mode == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif self.mode == "stall":
            await self._done.wait()
        elif self.mode == "endless":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not reader.at_eof():
                writer.write(b"64\r\n" + b"x" * 100 + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0.01)
        elif self.mode == "gzip":
            body = gzip.compress(b"ok" * 1000)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body
            )
            await writer.drain()
            return True
        elif self.mode in {"truncate", "stallbody"}:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            await writer.drain()
            if self.mode == "stallbody":
                await self._done.wait()
        return False


def get(url: str, timeouts: dict[str, float] | None = None, **kwargs: Any) -> httpx.Request:
    """Return a GET built as the SDK builds it, with per-attempt timeouts."""
    request = httpx.Request("GET", url, **kwargs)
    request.extensions["timeout"] = dict(timeouts or TIMEOUTS)
    return request


async def fetch(transport: AiohttpTransport, request: httpx.Request) -> httpx.Response:
    """Send *request* and read its body, as the layers above do."""
    response = await transport.handle_async_request(request)
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    """A transport with its own session, closed after the test."""
    transport = AiohttpTransport()
    yield transport
    await transport.aclose()


@contextmanager
def backlog_full() -> Iterator[int]:
    """Yield a loopback port whose accept queue is full, so a connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    port = listener.getsockname()[1]
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a plain exchange --------------------------------------------------------------


async def test_sends_the_request_as_it_is(transport: AiohttpTransport) -> None:
    """Method, path, query, headers and body go out unchanged; aiohttp adds none of its own."""
    async with RawServer().running() as server:
        request = httpx.Request(
            "POST",
            server.url,
            headers={"User-Agent": "lean-async/test", "Idempotency-Key": "k1"},
            content=b'{"a":1}',
        )
        response = await fetch(transport, request)
    head = server.heads[0].decode()
    assert head.startswith("POST /api/x?q=1 HTTP/1.1\r\n")
    lines = [line.lower() for line in head.split("\r\n")]
    assert [line for line in lines if line.startswith("user-agent:")] == [
        "user-agent: lean-async/test"
    ]
    assert "idempotency-key: k1" in lines
    assert "content-length: 7" in lines
    assert not any(line.startswith(("accept-encoding:", "content-type:")) for line in lines)
    assert server.bodies == [b'{"a":1}']
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response.headers.get_list("X-Echo") == ["a", "b"]
    assert response.reason_phrase == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.request is request


async def test_header_bytes_go_out_unchanged(transport: AiohttpTransport) -> None:
    """A UTF-8 header value reaches the server byte for byte, not re-encoded."""
    async with RawServer().running() as server:
        await fetch(transport, get(server.url, headers={"X-Note": "caf\u00e9".encode()}))
    assert b"X-Note: caf\xc3\xa9\r\n" in server.heads[0]


async def test_headers_aiohttp_writes_are_left_to_it_only_when_the_same(
    transport: AiohttpTransport,
) -> None:
    """Host, Content-Length and Connection: keep-alive go out once, as sent; others stay."""
    async with RawServer().running() as server:
        host = server.url.split("/")[2]
        same = httpx.Request(
            "POST",
            server.url,
            headers={"Host": host, "Connection": "keep-alive", "X-A": "1"},
            content=b"{}",
        )
        assert same.headers["Content-Length"] == "2"
        await fetch(transport, same)
        other = get(server.url, headers={"Host": "api.example", "Connection": "close"})
        await fetch(transport, other)
    first, second = ([line.lower() for line in h.decode().split("\r\n")] for h in server.heads)
    assert [line for line in first if line.startswith("host:")] == [f"host: {host}"]
    assert [line for line in first if line.startswith("content-length:")] == ["content-length: 2"]
    assert not any(line.startswith("connection:") for line in first)  # HTTP/1.1 keeps alive
    assert "x-a: 1" in first
    assert [line for line in second if line.startswith("host:")] == ["host: api.example"]
    assert "connection: close" in second


def test_a_content_length_that_differs_from_the_body_is_kept() -> None:
    """Only a Content-Length aiohttp would write the same is left to it."""
    request = httpx.Request("POST", "http://127.0.0.1:1/", headers={"Content-Length": "5"})

    def lengths(data: bytes | None) -> list[str]:
        entries, _, _ = _entries(request.headers, b"127.0.0.1:1", data)
        return [value for name, value in entries if name.lower() == "content-length"]

    assert lengths(b"{}") == ["5"]
    assert lengths(b"12345") == []
    assert lengths(None) == ["5"]


def test_header_conversions_are_kept_but_never_a_credential() -> None:
    """The kept conversions give what converting afresh gives, and hold no Authorization."""
    live = "Basic c2tfbGl2ZV9TRUNSRVQ6"
    kept: dict[tuple[bytes, bytes], tuple[int, tuple[str, str]]] = {}
    for attempt in range(3):
        request = httpx.Request(
            "POST",
            "http://127.0.0.1:1/api/gig",
            headers={
                "Accept": "application/json",
                "Authorization": live,
                "Connection": "keep-alive",
                "Idempotency-Key": f"k-{attempt}",
                "X-Note": "caf\u00e9".encode(),
            },
            content=b'{"a":1}',
        )
        fresh = _entries(request.headers, b"127.0.0.1:1", request.content)
        assert _entries(request.headers, b"127.0.0.1:1", request.content, kept) == fresh
        entries, _, held = fresh
        assert ("Idempotency-Key", f"k-{attempt}") in entries
        assert all(
            name.lower() not in {"authorization", "connection", "host"} for name, _ in entries
        )
        assert held == 2  # a value other than the marker: it is redacted before the send
    assert kept  # Accept, Host, Content-Type, Content-Length, Connection are kept
    assert not [pair for pair in kept if pair[0].lower() == b"authorization"]
    assert "c2tfbGl2ZV9TRUNSRVQ6" not in repr(kept)
    assert not [pair for pair in kept if pair[0].lower() == b"idempotency-key"]


async def test_a_streaming_request_body_is_refused(transport: AiohttpTransport) -> None:
    """A request body not built as bytes is refused before anything is sent."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"{}"

    request = httpx.Request("POST", "http://127.0.0.1:1/", content=chunks())
    with pytest.raises(TypeError, match="bytes"):
        await transport.handle_async_request(request)
    assert transport._slots is not None
    assert not transport._slots.locked()


async def test_a_get_sends_no_body_headers(transport: AiohttpTransport) -> None:
    """A GET without a body carries no Content-Length or Content-Type."""
    async with RawServer().running() as server:
        await fetch(transport, get(server.url))
    head = server.heads[0].lower()
    assert b"content-length" not in head
    assert b"content-type" not in head


@pytest.mark.parametrize(
    ("held", "left"),
    [
        ({"Authorization": "Basic [REDACTED]"}, ["Basic [REDACTED]"]),  # LeanClient's requests
        ({"Authorization": "Bearer mine"}, ["Basic [REDACTED]"]),
        ({}, []),
    ],
)
async def test_under_the_auth_layer_the_credential_never_enters_the_request(
    transport: AiohttpTransport, held: dict[str, str], left: list[str]
) -> None:
    """The base writes the header itself: the wire has the key, the request never does."""
    token = base64.b64encode(b"sk_live_AIOHTTP_WRITES:").decode()
    auth = AuthTransport(transport, Secret("sk_live_AIOHTTP_WRITES"))
    async with RawServer(delay=0.2).running() as server:
        request = get(server.url, headers=held)
        sending = asyncio.create_task(auth.handle_async_request(request))
        await server.reached.wait()  # the head is on the wire; the answer is held back
        during = request.headers.get_list("Authorization")
        await (await sending).aclose()
    sent = [line for line in server.heads[0].split(b"\r\n") if line.lower().startswith(b"auth")]
    assert sent == [f"Authorization: Basic {token}".encode()]
    assert during == left
    assert request.headers.get_list("Authorization") == left


async def test_lean_client_requests_go_out_with_each_header_once() -> None:
    """Over aiohttp a call sends its own headers once each, and aiohttp adds none."""
    async with RawServer().running() as server:
        base_url = server.url.split("/api/")[0] + "/api/"
        async with LeanClient(api_key="sk_live_ONCE", base_url=base_url, max_retries=0) as lean:
            await lean.request("POST", "x", json={"a": 1})
            await lean.request("GET", "x")
    for head in server.heads:
        names = [line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:] if line]
        assert len(names) == len(set(names)), names
        assert {b"accept", b"accept-encoding", b"user-agent", b"authorization", b"host"} <= set(
            names
        )
        assert b"connection" not in names
    post, get_ = (head.lower() for head in server.heads)
    assert b"content-type: application/json" in post
    assert b"idempotency-key" in post
    assert b"content-type" not in get_
    assert b"content-length" not in get_


async def test_a_body_that_arrived_whole_comes_back_read(transport: AiohttpTransport) -> None:
    """A small answer that arrived with its headers is returned read, its connection free."""
    async with RawServer().running() as server:
        response = await transport.handle_async_request(get(server.url))
        assert response.content == b"ok"
        assert transport._slots is not None
        assert not transport._slots.locked()


async def test_an_endless_body_is_refused_by_the_limit_layer() -> None:
    """A body still arriving streams: the limit layer refuses it past the limit, mid-body."""
    transport = AiohttpTransport(max_connections=1)
    limited = ResponseLimitTransport(transport, max_bytes=150)
    try:
        async with RawServer("endless").running() as server:
            with pytest.raises(APIResponseValidationError, match="larger than"):
                await limited.handle_async_request(get(server.url))
            await server.hung_up.wait()  # the half-read connection was closed
        assert transport._slots is not None
        assert not transport._slots.locked()  # its pool slot is free again
    finally:
        await transport.aclose()


async def test_an_encoded_body_is_decoded_by_httpx_above(transport: AiohttpTransport) -> None:
    """A gzip body is left to httpx to decode, so the limit counts decoded bytes."""
    async with RawServer("gzip").running() as server:
        response = await transport.handle_async_request(get(server.url))
        with pytest.raises(httpx.ResponseNotRead):
            _ = response.content
        assert await response.aread() == b"ok" * 1000


# -- failures map onto the phases the retry layer decides by -------------------------


async def test_closed_port_is_connect_error(transport: AiohttpTransport) -> None:
    """A refused connection is httpx.ConnectError: nothing was sent."""
    request = get(f"http://127.0.0.1:{closed_port()}/")
    with pytest.raises(httpx.ConnectError) as info:
        await fetch(transport, request)
    assert info.value.request is request


async def test_unanswered_connect_is_connect_timeout(transport: AiohttpTransport) -> None:
    """A connect that gets no answer within the connect timeout is httpx.ConnectTimeout."""
    with backlog_full() as port, pytest.raises(httpx.ConnectTimeout):
        await fetch(transport, get(f"http://127.0.0.1:{port}/", {**TIMEOUTS, "connect": 0.2}))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("close", httpx.RemoteProtocolError),
        ("reset", httpx.ReadError),
        ("truncate", httpx.RemoteProtocolError),
    ],
)
async def test_failures_after_sending_may_have_acted(
    transport: AiohttpTransport, mode: str, expected: type[httpx.TransportError]
) -> None:
    """A close, a reset or a truncated body after the request went out is 'possibly sent'."""
    async with RawServer(mode).running() as server:
        request = get(server.url)
        with pytest.raises(expected) as info:
            await fetch(transport, request)
    assert not isinstance(info.value, NOTHING_SENT)
    assert info.value.request is request
    assert server.heads, "the request reached the server"


async def test_stalled_answer_is_read_timeout(transport: AiohttpTransport) -> None:
    """No answer within the read timeout is httpx.ReadTimeout."""
    async with RawServer("stall").running() as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(httpx.ReadTimeout):
            await fetch(transport, get(server.url, {**TIMEOUTS, "read": 0.2}))
        assert loop.time() - started < 2.0


async def test_stalled_body_is_read_timeout(transport: AiohttpTransport) -> None:
    """A body that stops arriving for longer than the read timeout is httpx.ReadTimeout."""
    async with RawServer("stallbody").running() as server:
        request = get(server.url, {**TIMEOUTS, "read": 0.2})
        response = await transport.handle_async_request(request)
        with pytest.raises(httpx.ReadTimeout) as info:
            await response.aread()
    assert info.value.request is request
    assert info.value.__context__ is None


async def test_mapped_errors_chain_nothing_from_aiohttp(transport: AiohttpTransport) -> None:
    """The httpx error keeps aiohttp's message but no aiohttp exception (they hold headers)."""
    async with RawServer("close").running() as server:
        with pytest.raises(httpx.RemoteProtocolError) as info:
            await fetch(transport, get(server.url))
    assert "ServerDisconnectedError" in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


async def test_pool_wait_past_the_timeout_is_pool_timeout() -> None:
    """With every connection busy, waiting past the pool timeout is httpx.PoolTimeout."""
    transport = AiohttpTransport(max_connections=1)
    try:
        async with RawServer("stall").running() as server:
            busy = asyncio.create_task(fetch(transport, get(server.url)))
            await server.reached.wait()
            with pytest.raises(httpx.PoolTimeout):
                await fetch(transport, get(server.url, {**TIMEOUTS, "pool": 0.1}))
            busy.cancel()
            with pytest.raises(asyncio.CancelledError):
                await busy
        assert server.connections == 1
    finally:
        await transport.aclose()


async def test_a_cancelled_request_frees_its_connection() -> None:
    """Cancelling a request in flight frees its pool slot for the next one."""
    transport = AiohttpTransport(max_connections=1)
    try:
        async with RawServer("stall").running() as stalled, RawServer().running() as ok:
            busy = asyncio.create_task(fetch(transport, get(stalled.url)))
            await stalled.reached.wait()
            busy.cancel()
            with pytest.raises(asyncio.CancelledError):
                await busy
            response = await fetch(transport, get(ok.url, {**TIMEOUTS, "pool": 0.5}))
        assert response.status_code == 200
    finally:
        await transport.aclose()


async def test_callers_session_pool_wait_is_connect_timeout() -> None:
    """With a caller's session aiohttp waits for the pool: past pool+connect, ConnectTimeout."""
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session,
        RawServer("stall").running() as server,
    ):
        transport = AiohttpTransport(session=session)
        busy = asyncio.create_task(fetch(transport, get(server.url)))
        await server.reached.wait()
        with pytest.raises(httpx.ConnectTimeout):
            await fetch(transport, get(server.url, {**TIMEOUTS, "pool": 0.05, "connect": 0.05}))
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy


# -- connections ------------------------------------------------------------------


async def test_sequential_requests_reuse_one_connection(transport: AiohttpTransport) -> None:
    """Keep-alive: five requests in a row use one connection."""
    async with RawServer().running() as server:
        for _ in range(5):
            await fetch(transport, get(server.url))
    assert (server.connections, len(server.heads)) == (1, 5)


async def test_keepalive_off_opens_a_connection_per_request() -> None:
    """max_keepalive_connections=0 closes each connection after its request."""
    transport = AiohttpTransport(max_keepalive_connections=0)
    try:
        async with RawServer().running() as server:
            for _ in range(3):
                await fetch(transport, get(server.url))
        assert server.connections == 3
    finally:
        await transport.aclose()


async def test_max_connections_bounds_concurrent_connections() -> None:
    """Eight concurrent requests with max_connections=2 never open more than two."""
    transport = AiohttpTransport(max_connections=2)
    try:
        async with RawServer(delay=0.03).running() as server:
            responses = await asyncio.gather(*(fetch(transport, get(server.url)) for _ in range(8)))
        assert [response.status_code for response in responses] == [200] * 8
        assert server.max_open == 2
    finally:
        await transport.aclose()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_connections": 0},
        {"max_connections": True},
        {"max_keepalive_connections": -1},
        {"keepalive_expiry": -1.0},
    ],
)
def test_rejects_bad_limits(kwargs: dict[str, Any]) -> None:
    """Limits that cannot be honoured are refused at construction."""
    with pytest.raises(ValueError, match="must be"):
        AiohttpTransport(**kwargs)


# -- lifecycle ----------------------------------------------------------------------


async def test_aclose_closes_its_session_once() -> None:
    """aclose() closes the session it created, can be called again, and refuses new sends."""
    transport = AiohttpTransport()
    async with RawServer().running() as server:
        await fetch(transport, get(server.url))
        session = transport._session
        assert session is not None
        assert not session.closed
        await transport.aclose()
        await transport.aclose()
        assert session.closed
        with pytest.raises(RuntimeError, match="closed"):
            await fetch(transport, get(server.url))


async def test_callers_session_is_never_closed() -> None:
    """A caller's session serves requests and stays open after aclose()."""
    async with aiohttp.ClientSession() as session, RawServer().running() as server:
        transport = AiohttpTransport(session=session)
        assert (await fetch(transport, get(server.url))).content == b"ok"
        await transport.aclose()
        assert not session.closed


async def test_unclosed_transport_warns() -> None:
    """Dropping a transport whose own session is open warns ResourceWarning, nothing more."""
    transport = AiohttpTransport()
    async with RawServer().running() as server:
        await fetch(transport, get(server.url))
    session = transport._session
    assert session is not None
    held = [transport]
    del transport
    with pytest.warns(ResourceWarning, match="unclosed AiohttpTransport"):
        held.clear()  # the last reference: the transport is collected here
    assert not session.closed  # nothing was scheduled: closing is the owner's job
    await session.close()


def test_unused_transport_does_not_warn() -> None:
    """A transport that never opened a session has nothing to close and does not warn."""
    transport = AiohttpTransport()
    del transport
    gc.collect()


# -- secrets ------------------------------------------------------------------------


def _reachable(roots: list[object]) -> list[object]:
    seen: dict[int, object] = {}
    stack = list(roots)
    while stack and len(seen) < 200_000:
        node = stack.pop()
        if id(node) in seen or isinstance(node, type):
            continue
        seen[id(node)] = node
        stack.extend(gc.get_referents(node))
    return list(seen.values())


@pytest.mark.parametrize("mode", ["ok", "gzip"])  # read at once / streamed
async def test_nothing_of_aiohttp_survives_on_the_response(
    transport: AiohttpTransport, mode: str
) -> None:
    """After the read, no aiohttp object (its request_info holds the sent headers) is reachable."""
    async with RawServer(mode).running() as server:
        request = get(server.url, headers={"Authorization": "Basic c2VjcmV0Og=="})
        response = await fetch(transport, request)
        request.headers["Authorization"] = "Basic [REDACTED]"  # as the auth layer does
    reachable = _reachable([response])
    assert not [node for node in reachable if type(node).__module__.startswith("aiohttp")]
    assert not [node for node in reachable if isinstance(node, str) and "c2VjcmV0" in node]
    assert not [node for node in reachable if isinstance(node, bytes) and b"c2VjcmV0" in node]


# -- under the whole stack -------------------------------------------------------------


@pytest.fixture
async def served() -> AsyncIterator[tuple[Sandbox, str]]:
    """A ManualClock sandbox served on a loopback port."""
    async with Sandbox(clock=ManualClock()) as sandbox, running_server(sandbox) as url:
        yield sandbox, url


def stack_client(sandbox: Sandbox, url: str) -> httpx.AsyncClient:
    """An httpx client over build_stack(AiohttpTransport())."""
    stack = build_stack(
        AiohttpTransport(),
        api_key=Secret(sandbox.api_key),
        policy=RetryPolicy(sleep=Sleep()),
        budget=RetryBudget(),
    )
    return httpx.AsyncClient(transport=stack, base_url=url + "/")


async def test_stack_get_retries_a_503(served: tuple[Sandbox, str]) -> None:
    """A GET answered 503 once is retried over aiohttp and succeeds on attempt two."""
    sandbox, url = served
    sandbox.faults.add(ServerError(status=503), route="GET /gig")
    async with stack_client(sandbox, url) as http:
        response = await http.get("gig")
    assert response.status_code == 200
    assert response.json() == []
    assert response.extensions[ext.ATTEMPTS] == 2


async def test_stack_post_dropped_after_commit_pays_once(served: tuple[Sandbox, str]) -> None:
    """A POST whose answer is lost after commit is retried with its key: one payment."""
    sandbox, url = served
    lean = LeanClient(api_key=sandbox.api_key, base_url=url, transport=AiohttpTransport())
    async with lean:
        await lean.customers.create(
            partner_user_id="uid_1",
            first_name="Jane",
            last_name="Doe",
            birthday="1980-12-31",
            phone_number="4085000001",
            email="jane@example.com",
            street="700 Treehouse Drive",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date="2020-01-01",
        )
    sandbox.activate_customer("uid_1")
    rule = sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    body = special_payment_body(partner_user_id="uid_1", amount="3", type="bonus")
    async with stack_client(sandbox, url) as http:
        response = await http.post(
            "specialpayment",
            json=body,
            headers={"Idempotency-Key": "k-dropped"},
            extensions={ext.REPLAY_SAFE: True},
        )
    assert rule.hits == 1
    assert response.extensions[ext.ATTEMPTS] == 2
    assert list(sandbox.special_payments) == [response.json()["id"]]


# -- the lazy import -----------------------------------------------------------------------


def test_exported_lazily_from_the_transport_package() -> None:
    """lean_async.transport.AiohttpTransport is this class, and stays out of __all__."""
    import lean_async.transport

    assert lean_async.transport.AiohttpTransport is AiohttpTransport
    assert "AiohttpTransport" not in lean_async.transport.__all__
