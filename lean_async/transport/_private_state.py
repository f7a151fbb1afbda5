"""The one module that touches other libraries' private state: httpx, asyncio, aiohttp,
httpcore and anyio. Two jobs need it, each in its own section below.

**Shortcuts** (httpx). Each does what a public call does, for less, by reaching into how
httpx keeps its objects. Each is chosen once, at import: its result is compared with what
the public path builds from the same input, and it is used only when the two agree;
otherwise the public path is used (correct, slower). `ACTIVE` names the shortcuts in use.
A shortcut stays only while ``benchmarks/bench_calls.py --shortcuts`` shows it saves 5 %
of a call or more. Measured for issue 18 (CPU per whole call, with the shortcut on and
off, one interleaved run): the read body stored on the response saves 26 % of
``gigs.create``, the parsed-URL join 38 % of a ``customers.get`` of a new id, the Request
built without its constructor's copies 5 % of ``gigs.create`` and 11 % of
``customers.get``; the Response built the same way (aiohttp base), the header-entry
stores of the auth layer and of request headers, the aiohttp base's header read and the
json string escape each saved under 5 % (1-3 %), and went.

**Dropping a pool whose event loop is gone** (closed, or left behind by fork()). Such a
pool cannot be closed the usual way. Closing a connection schedules callbacks on its loop
(a closed loop raises ``RuntimeError: Event loop is closed``), and closing a TLS
connection writes a ``close_notify`` that, from a forked child, would end the parent's
connection too. So each connection's socket is closed directly, without a shutdown (in a
forked child that only closes the child's copy of the descriptor), and the pool is marked
closed so that nothing warns about it later. Every step is looked up with `getattr` and
skipped when a library has changed its insides; the worst case is then what happens
without it (the garbage collector closes the descriptor, with a `ResourceWarning`).

``tests/transport/test_private_state.py`` fails when a shortcut is off with the versions the
project pins, or when any other module touches a private attribute;
``tests/transport/test_loops.py`` shows that each step of dropping a pool is on.
OpenTelemetry is used through its public API only.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import httpx

__all__ = [
    "ACTIVE",
    "PUBLIC",
    "abandon",
    "close_socket",
    "join_path",
    "new_request",
    "read_response",
]

_READ: Final = httpx.ByteStream(b"")


# --- httpx.Request without its constructor's copies -------------------------------------


def _public_request(
    method: str, url: httpx.URL, headers: httpx.Headers, content: bytes, extensions: dict[str, Any]
) -> httpx.Request:
    # stream= skips httpx's header inference: Host and the body headers are set already.
    # The URL is set again afterwards: the constructor copies it, and the calls to one
    # path share its URL object (the aiohttp base converts it once).
    request = httpx.Request(
        method, url, headers=headers, stream=httpx.ByteStream(content), extensions=extensions
    )
    request.url = url
    request.read()  # sets request.content, as httpx does for a bytes body
    return request


def _fast_request(
    method: str, url: httpx.URL, headers: httpx.Headers, content: bytes, extensions: dict[str, Any]
) -> httpx.Request:
    # What httpx.Request(...) then .read() leave, without copying the URL, the headers
    # and the extensions, which are the call's own already.
    request = httpx.Request.__new__(httpx.Request)
    request.method = method
    request.url = url
    request.headers = headers
    request.extensions = extensions
    request.stream = httpx.ByteStream(content)
    request._content = content
    return request


def _same_request(fast: httpx.Request, public: httpx.Request) -> bool:
    return (
        vars(fast).keys() == vars(public).keys()
        and fast.method == public.method
        and fast.url is public.url
        and fast.headers.multi_items() == public.headers.multi_items()
        and fast.extensions == public.extensions
        and fast.content == public.content
        and type(fast.stream) is type(public.stream)
    )


# --- a response whose body was read by a layer ------------------------------------------


def _public_read(
    response: httpx.Response, content: bytes, request: httpx.Request
) -> httpx.Response:
    # A new response holding *content* (already decoded: its Content-Encoding goes).
    headers = [
        (name, value) for name, value in response.headers.raw if name.lower() != b"content-encoding"
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=request,
        extensions=response.extensions,
    )


def _fast_read(response: httpx.Response, content: bytes, request: httpx.Request) -> httpx.Response:
    # What Response.aread() stores once it has read the body; the empty stream replaces
    # the connection's, which holds the sent headers.
    response._content = content
    response.stream = _READ
    return response


def _same_read(fast: httpx.Response, public: httpx.Response) -> bool:
    return (
        fast.content == public.content
        and fast.status_code == public.status_code
        and fast.headers["content-type"] == public.headers["content-type"]
        and fast.json() == public.json()
    )


# --- httpx.URL of a path below a parsed base -------------------------------------------


def _public_join(base: httpx.URL, text: str, path: str) -> httpx.URL:
    return httpx.URL(text + path)


def _fast_join(base: httpx.URL, text: str, path: str) -> httpx.URL:
    # httpx keeps a parsed URL as a named tuple: a plain relative path (no dots, query or
    # fragment, only unreserved characters and escapes) is appended to the base's path.
    reference = base._uri_reference
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = reference._replace(path=reference.path + path)
    return url


# --- the choice, at import --------------------------------------------------------------

_SAMPLE_HEADERS: Final = ((b"Content-Type", b"application/json"), (b"X-Seen", b"caf\xc3\xa9"))


def _try(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:  # the private shape is not there: the public path it is
        return False


def _request_agrees() -> bool:
    args = (
        "POST",
        httpx.URL("https://example.invalid/api/gig"),
        httpx.Headers(list(_SAMPLE_HEADERS)),
        b"{}",
        {"timeout": None},
    )
    return _same_request(_fast_request(*args), _public_request(*args))


def _read_agrees() -> bool:
    request = httpx.Request("GET", "http://127.0.0.1/")

    def fresh() -> httpx.Response:
        return httpx.Response(200, headers=_SAMPLE_HEADERS, stream=_READ, request=request)

    return _same_read(
        _fast_read(fresh(), b'{"a":1}', request), _public_read(fresh(), b'{"a":1}', request)
    )


def _join_agrees() -> bool:
    text = "https://example.invalid/api/"
    base = httpx.URL(text)
    path = "customer/uid%201_-~"
    return (
        base.query == b""
        and _fast_join(base, text, path) == _public_join(base, text, path)
        and str(_fast_join(base, text, path)) == text + path
    )


def _agreeing() -> frozenset[str]:
    """The shortcuts whose check passes; a check that raises (the shape is gone) fails."""
    return frozenset(name for name, (_, agrees) in _FAST.items() if _try(agrees))


def _chosen(name: str, active: frozenset[str]) -> Any:
    return _FAST[name][0] if name in active else PUBLIC[name]


PUBLIC: Final[dict[str, Callable[..., Any]]] = {
    "new_request": _public_request,
    "read_response": _public_read,
    "join_path": _public_join,
}
"""The public path of each shortcut, by name (what is used when the shortcut is off)."""

_FAST: Final[dict[str, tuple[Callable[..., Any], Callable[[], bool]]]] = {
    "new_request": (_fast_request, _request_agrees),
    "read_response": (_fast_read, _read_agrees),
    "join_path": (_fast_join, _join_agrees),
}

ACTIVE: Final[frozenset[str]] = _agreeing()
"""The shortcuts in use: those whose private shape is there and agrees with the public path."""

new_request: Callable[[str, httpx.URL, httpx.Headers, bytes, dict[str, Any]], httpx.Request] = (
    _chosen("new_request", ACTIVE)
)
"""Return an `httpx.Request` with its body read, holding the given URL, headers and
extensions as they are (not copies)."""

read_response: Callable[[httpx.Response, bytes, httpx.Request], httpx.Response] = _chosen(
    "read_response", ACTIVE
)
"""Return *response* read, its body being *content* (decoded): the same object when it can."""

join_path: Callable[[httpx.URL, str, str], httpx.URL] = _chosen("join_path", ACTIVE)
"""Return the URL of a plain relative *path* below *base* (whose text is *text*, ending in /)."""


# --- Dropping a pool without its loop ---------------------------------------------------


def close_socket(transport: asyncio.BaseTransport | None) -> bool:
    """Close the socket under an asyncio *transport* without using its loop.

    Returns:
        Whether a socket was found and closed.
    """
    if transport is None:
        return False
    target: Any = transport
    ssl_protocol = getattr(target, "_ssl_protocol", None)
    if ssl_protocol is not None:
        # asyncio's TLS transport warns "unclosed transport" unless it is marked closed.
        with contextlib.suppress(AttributeError):
            target._closed = True
        target = getattr(ssl_protocol, "_transport", None)
    sock = getattr(target, "_sock", None)
    if not isinstance(sock, socket.socket):
        return False
    # close() and never shutdown(): a forked parent may still be using the connection.
    sock.close()
    target._sock = None  # a selector transport warns "unclosed transport" while it has one
    if hasattr(target, "_closing"):
        target._closing = True  # a later close() is then a no-op
    return True


def abandon(pool: httpx.AsyncBaseTransport) -> None:
    """Drop *pool* (an aiohttp base or an httpx pooled transport) without its loop.

    Its sockets are closed directly and it is marked closed; nothing is scheduled on its
    loop and nothing is written to its connections.
    """
    inner = getattr(pool, "inner_pool", None)  # a wrapper around the pool
    if isinstance(inner, httpx.AsyncBaseTransport):
        abandon(inner)
        return
    if isinstance(pool, httpx.AsyncHTTPTransport):
        _abandon_httpx(pool)
        return
    session = getattr(pool, "_session", None)  # our AiohttpTransport
    if session is not None:
        with contextlib.suppress(AttributeError):
            pool._closed = True  # type: ignore[attr-defined]
        _abandon_aiohttp_session(session)


def _abandon_aiohttp_session(session: Any) -> None:
    if session.closed:
        return
    connector = session.connector
    if connector is not None:
        for transport in _aiohttp_transports(connector):
            close_socket(transport)
        for name in ("_conns", "_acquired", "_cleanup_closed_transports"):
            with contextlib.suppress(AttributeError):
                getattr(connector, name).clear()
    # The session is closed from now on and does not close the connector again; the
    # connector, with no connection left, does not warn either.
    session.detach()


def _aiohttp_transports(connector: Any) -> Iterator[asyncio.BaseTransport | None]:
    conns = getattr(connector, "_conns", {})
    for idle in conns.values():
        for protocol, _ in idle:
            yield protocol.transport
    for protocol in getattr(connector, "_acquired", ()):
        yield getattr(protocol, "transport", None)
    yield from getattr(connector, "_cleanup_closed_transports", ())


def _abandon_httpx(transport: httpx.AsyncHTTPTransport) -> None:
    pool = getattr(transport, "_pool", None)
    connections: Iterable[object] = getattr(pool, "connections", ())  # httpcore: public
    for connection in connections:
        close_socket(_httpcore_transport(connection))
    with contextlib.suppress(AttributeError):
        pool._connections.clear()  # type: ignore[union-attr]


def _httpcore_transport(connection: object) -> asyncio.BaseTransport | None:
    """The asyncio transport under an httpcore connection (proxied ones included)."""
    node: object | None = connection
    stream = None
    for _ in range(4):  # pool entry -> (proxy) connection -> HTTP/1.1 connection
        stream = getattr(node, "_network_stream", None)
        if stream is not None or node is None:
            break
        node = getattr(node, "_connection", None)
    anyio_stream = getattr(stream, "_stream", None)  # httpcore's AnyIOStream
    while (wrapped := getattr(anyio_stream, "transport_stream", None)) is not None:
        anyio_stream = wrapped  # anyio's TLSStream (public attribute)
    found = getattr(anyio_stream, "_transport", None)  # anyio's asyncio SocketStream
    return found if isinstance(found, asyncio.BaseTransport) else None
