"""The sandbox on a real socket, with uvicorn (imported only here, only when used).

Broken-connection faults need the socket, which ASGI does not expose, so the server
uses uvicorn's h11 protocol with one hook: each connection's app is wrapped so that a
`ConnectionAborted` from the sandbox aborts that connection's transport instead of
answering. `ConnectionReset` sets ``SO_LINGER`` to 0 first, so the client gets a TCP
RST (``ECONNRESET``: httpx raises `httpx.ReadError`); `DropAfterCommit` closes with a
plain FIN after the request was processed (httpx raises `httpx.RemoteProtocolError`,
"Server disconnected without sending a response").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

import attrs

from lean_async.sandbox._faults import ConnectionAborted
from lean_async.sandbox._http import ASGIApp, Receive, Scope, Send
from lean_async.sandbox._sandbox import DEFAULT_API_KEY, Sandbox

if TYPE_CHECKING:
    import uvicorn

__all__ = ["TLSFiles", "running_server", "serve"]

DISCONNECT_GRACE: Final = 1.0


def _break_connection(transport: asyncio.Transport, *, reset: bool) -> None:
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # Linger on, timeout 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _aborting(app: ASGIApp, transport: asyncio.Transport) -> ASGIApp:
    async def app_with_aborts(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except ConnectionAborted as exc:
            _break_connection(transport, reset=not exc.after_commit)
            # Wait until uvicorn has seen the disconnect, so it neither logs an error
            # nor tries to answer 500 on the dead connection.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DISCONNECT_GRACE):
                    while (await receive())["type"] != "http.disconnect":
                        pass  # pragma: no cover - the body was fully read already

    return app_with_aborts


@functools.cache
def protocol_class() -> type[asyncio.Protocol]:
    """Return uvicorn's h11 protocol, extended to break connections on demand."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class AbortingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.app = _aborting(self.app, transport)

    return AbortingH11Protocol


@attrs.frozen
class TLSFiles:
    """What serving the sandbox over TLS takes: PEM paths, as ``lean-async sandbox`` names them.

    Attributes:
        cert: the server's certificate chain (``--tls-cert``).
        key: its private key (``--tls-key``).
        client_ca: CA certificates that client certificates must chain to; when given,
            a client without such a certificate is refused (``--tls-client-ca``).
    """

    cert: str
    key: str
    client_ca: str | None = None


def _tls_options(tls: TLSFiles | None) -> dict[str, Any]:
    if tls is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
    if tls.client_ca is not None:
        options |= {"ssl_ca_certs": tls.client_ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def _config(
    sandbox: Sandbox, host: str, port: int, tls: TLSFiles | None = None, **kwargs: Any
) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        sandbox,
        host=host,
        port=port,
        http=protocol_class(),
        ws="none",
        lifespan="on",
        date_header=False,  # the sandbox states its own clock's Date
        **_tls_options(tls),
        **kwargs,
    )


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits the process when it cannot bind
        raise RuntimeError("the sandbox server could not start") from exc


def _url(host: str, port: int, tls: TLSFiles | None = None) -> str:
    scheme = "http" if tls is None else "https"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}/api"


@contextlib.asynccontextmanager
async def running_server(
    sandbox: Sandbox,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    startup_timeout: float = 10.0,
    tls: TLSFiles | None = None,
    shutdown_timeout: float | None = None,
) -> AsyncIterator[str]:
    """Serve *sandbox* on a real socket for the duration of an ``async with``.

    ``port=0`` picks a free port. The server runs in a task of the current event loop
    and is shut down cleanly at exit (requests still running after *shutdown_timeout*
    seconds are cancelled; None waits for them); the sandbox itself stays open. With
    *tls* it serves HTTPS (and, with ``tls.client_ca``, requires client certificates).

    Yields:
        The API base URL, e.g. ``"http://127.0.0.1:54321/api"``.

    Raises:
        RuntimeError: the server could not start (e.g. the port is taken).
        TimeoutError: it did not start within *startup_timeout* seconds.
    """
    import uvicorn

    config = _config(
        sandbox,
        host,
        port,
        tls,
        log_level=log_level,
        log_config=None,
        timeout_graceful_shutdown=shutdown_timeout,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(_serve(server), name="lean-sandbox-server")
    try:
        async with asyncio.timeout(startup_timeout):
            while not server.started:
                if task.done():
                    task.result()  # raises the startup failure
                await asyncio.sleep(0.01)
    except BaseException:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        raise
    try:
        yield _url(host, server.servers[0].sockets[0].getsockname()[1], tls)
    finally:
        server.should_exit = True
        await task


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    api_key: str = DEFAULT_API_KEY,
    log_level: str = "info",
    tls: TLSFiles | None = None,
    **sandbox_kwargs: Any,
) -> None:
    """Run a sandbox server until interrupted (blocking).

    Args:
        host: the interface to listen on.
        port: the port to listen on.
        api_key: the API key the server accepts.
        log_level: uvicorn's log level.
        tls: serve HTTPS with these files (see `TLSFiles`).
        **sandbox_kwargs: passed to `Sandbox` (``approval_delay=``, ``clock=``, ...).
    """
    sandbox = Sandbox(api_key=api_key, **sandbox_kwargs)

    async def main() -> None:
        import uvicorn

        async with sandbox:
            config = _config(sandbox, host, port, tls, log_level=log_level)
            await _serve(uvicorn.Server(config))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
