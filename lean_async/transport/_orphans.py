"""Letting go of a connection pool whose event loop is gone: closed, or left behind by fork().

Such a pool cannot be closed the usual way. Closing a connection schedules callbacks on
its loop (a closed loop raises ``RuntimeError: Event loop is closed``), and closing a TLS
connection writes a ``close_notify`` that, from a forked child, would end the parent's
connection too. So each connection's socket is closed directly, without a shutdown (in a
forked child that only closes the child's copy of the descriptor), and the pool is marked
closed so that nothing warns about it later.

This is the one module that reaches into asyncio's, aiohttp's, httpcore's and anyio's
private state for it. Every step is looked up with `getattr` and skipped when a library
has changed its insides; the worst case is then what happens without this module (the
garbage collector closes the descriptor, with a `ResourceWarning`).
``tests/transport/test_loops.py`` shows that each step is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

__all__ = ["abandon", "close_socket"]


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
