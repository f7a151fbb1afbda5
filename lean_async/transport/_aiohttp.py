"""The aiohttp base transport: lean-async's layers on an `aiohttp.ClientSession`.

The default base of `LeanClient` (``backend="aiohttp"``). It sends an
`httpx.Request` as it is (the layers above have finished it; the ``Host``,
``Content-Length`` and ``Connection: keep-alive`` headers are left to aiohttp when it
writes the same). Under `AuthTransport` it writes the ``Authorization`` header itself,
from the credential's holder, into the headers handed to aiohttp: the request never
holds the credential (`AuthorizingTransport`). It hands back an
`httpx.Response` whose body streams from aiohttp, so the response-limit layer can
refuse a large body chunk by chunk.

aiohttp's failures become the httpx exceptions the retry layer decides by, split by how
far the attempt got:

==========================================  =========================  ==============
aiohttp                                      httpx                      bytes sent?
==========================================  =========================  ==============
waiting for a free connection too long       `httpx.PoolTimeout`        no
``ConnectionTimeoutError``                   `httpx.ConnectTimeout`     no
``ClientConnectorError`` (DNS, refused,      `httpx.ConnectError`       no
TLS, certificate)
``SocketTimeoutError`` / other timeouts      `httpx.ReadTimeout`        maybe
``ServerDisconnectedError``,                 `httpx.RemoteProtocolError`  maybe
``ClientPayloadError``, ``ClientResponseError``
``ClientOSError`` (reset), other errors      `httpx.ReadError`          maybe
==========================================  =========================  ==============

No aiohttp object is chained to, or reachable from, what this transport returns or
raises: aiohttp keeps the sent headers (the Authorization credential among them) on
``ClientResponse.request_info`` and on some of its exceptions.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import warnings
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any, Final

import aiohttp
import httpx
import yarl
from multidict import CIMultiDict

from lean_async._secrets import Secret
from lean_async.transport import _private_state
from lean_async.transport._authorizing import AuthorizingTransport
from lean_async.transport._connect_errors import (
    ProxyAuthenticationError,
    ProxyConnectError,
    ProxyRefusedError,
    certificate_error,
)
from lean_async.transport._network import ProxySettings
from lean_async.transport._redact import REDACTED_AUTHORIZATION

__all__ = ["AiohttpTransport"]

_Timeouts = Mapping[str, float | None]

_NO_TIMEOUT: Final = aiohttp.ClientTimeout(
    total=None, connect=None, sock_read=None, sock_connect=None
)
_HTTP_VERSIONS: Final = {(1, 1): b"HTTP/1.1", (1, 0): b"HTTP/1.0"}
_URL_CACHE_SIZE: Final = 256
_HEADER_CACHE_SIZE: Final = 256
_READ: Final = httpx.ByteStream(b"")

# The request headers this base looks at, by lowercased name. aiohttp adds the first
# four when a request lacks them (bits: which ones the request has); the request is sent
# as it is instead. It writes Host, Content-Length and Connection itself, so those are
# left to it when it would write the same. Authorization is written apart (see _send).
_ACCEPT, _ACCEPT_ENCODING, _USER_AGENT, _CONTENT_TYPE = 1, 2, 4, 8
_HOST, _CONTENT_LENGTH, _CONNECTION, _AUTHORIZATION = 16, 32, 64, 128
_LOOKED_AT: Final = {
    b"accept": _ACCEPT,
    b"accept-encoding": _ACCEPT_ENCODING,
    b"user-agent": _USER_AGENT,
    b"content-type": _CONTENT_TYPE,
    b"host": _HOST,
    b"content-length": _CONTENT_LENGTH,
    b"connection": _CONNECTION,
    b"authorization": _AUTHORIZATION,
}
_AUTO_NAMES: Final = (
    (_ACCEPT, "Accept"),
    (_ACCEPT_ENCODING, "Accept-Encoding"),
    (_USER_AGENT, "User-Agent"),
    (_CONTENT_TYPE, "Content-Type"),
)
# aiohttp's skip_auto_headers for each set of missing names (a bit mask): usually none
# is missing, and aiohttp's own path without skip_auto_headers is the cheap one.
_SKIP: Final = tuple(
    tuple(name for bit, name in _AUTO_NAMES if missing & bit) for missing in range(16)
)
# aiohttp sets a Content-Type on these (and on any request with a body) unless told not.
_TYPED_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_REDACTED: Final = REDACTED_AUTHORIZATION.encode()
# What a request's Authorization header holds: none, the redacted marker, anything else.
_NO_AUTHORIZATION, _MARKER, _OTHER = 0, 1, 2


class AiohttpTransport(AuthorizingTransport):
    """Sends each request over an aiohttp session: the base of `build_stack`.

    Without *session* it creates its own on first use, inside the running loop: a
    `aiohttp.TCPConnector` limited to *max_connections*, no cookie jar, no redirects,
    no automatic decompression (httpx decodes ``Content-Encoding`` above, so the
    response limit counts decoded bytes), no proxies from the environment. `aclose`
    closes it; dropping the transport with it open warns `ResourceWarning`. With a
    caller's *session*, that session's settings apply and it is never closed here.

    Timeouts come from the request's httpx ``timeout`` extension, per attempt:

    - ``connect`` bounds name resolution plus the TCP/TLS connect (aiohttp's
      ``connect`` and ``sock_connect``);
    - ``read`` bounds each wait for response bytes (aiohttp's ``sock_read``);
    - ``pool`` bounds the wait for a free connection; with a caller's session aiohttp
      does that wait, so ``pool + connect`` becomes its ``connect`` and a pool wait
      past it surfaces as `httpx.ConnectTimeout` (also a nothing-sent failure);
    - ``write`` has no aiohttp counterpart: request bodies are small and written to
      the socket buffer, and ``read`` starts bounding the exchange once they are.

    A request without the extension has no timeouts. Note that aiohttp rounds a
    timeout of 5 s or more up to a whole second of the loop clock.

    Args:
        session: a caller's session to send through; not closed by `aclose`.
        max_connections: the most connections open at once (own session only).
        max_keepalive_connections: ``0`` turns keep-alive off; ``None`` or a positive
            number keeps idle connections for *keepalive_expiry* seconds, up to
            *max_connections* (aiohttp has no separate cap on idle connections).
        keepalive_expiry: seconds an idle connection is kept.
        ssl: TLS verification: ``True`` (the system's default context), an
            `ssl.SSLContext`, or ``False`` to skip verification.
        proxy: an ``http://`` proxy every request goes through (own session only);
            HTTPS through ``CONNECT``. Its credentials are handed to aiohttp only
            inside the expression that sends each request.

    Raises:
        ValueError: a limit is not a positive integer (``0`` allowed for keep-alive),
            or *keepalive_expiry* is negative.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int | None = None,
        keepalive_expiry: float = 5.0,
        ssl: _ssl.SSLContext | bool = True,
        proxy: ProxySettings | None = None,
    ) -> None:
        _check_count("max_connections", max_connections, 1)
        if max_keepalive_connections is not None:
            _check_count("max_keepalive_connections", max_keepalive_connections, 0)
        if keepalive_expiry < 0:
            raise ValueError(f"keepalive_expiry must be >= 0, got {keepalive_expiry!r}")
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._keepalive = max_keepalive_connections != 0
        self._keepalive_expiry = keepalive_expiry
        self._ssl = ssl
        self._proxy = proxy
        # Our own pool wait, so that it can be told apart from a connect timeout.
        self._slots = asyncio.Semaphore(max_connections) if session is None else None
        self._closed = False
        self._timeouts: tuple[object, aiohttp.ClientTimeout] = (None, _NO_TIMEOUT)
        self._urls: dict[int, tuple[httpx.URL, yarl.URL, bytes | None]] = {}
        # Each header entry LeanClient sends again and again (those of its templates),
        # with what _entries makes of it; never an Authorization entry.
        self._converted: dict[tuple[bytes, bytes], tuple[int, tuple[str, str]]] = {}

    def __repr__(self) -> str:
        # getattr: a constructor refusing its arguments leaves a half-built object,
        # which error trackers still repr.
        owner = "own session" if getattr(self, "_owns_session", True) else "caller's session"
        limit = getattr(self, "_max_connections", None)
        return f"AiohttpTransport({owner}, max_connections={limit})"

    def handle_async_request(self, request: httpx.Request) -> Coroutine[Any, Any, httpx.Response]:
        """Send *request* and return its response, the body still to be read.

        Returns the coroutine of the send (no frame of its own; awaited alike).

        Args:
            request: the request to send, headers and body final.

        Returns:
            The response; its stream reads the body from aiohttp and releases the
            connection when read or closed.

        Raises:
            httpx.TransportError: sending failed (see the module docstring).
            RuntimeError: the transport is closed.
        """
        return self._send(request, None)

    def send_authorized(
        self, request: httpx.Request, authorization: Secret[str]
    ) -> Coroutine[Any, Any, httpx.Response]:
        """Send *request* as `handle_async_request` does, with ``Authorization`` written here.

        See `AuthorizingTransport.send_authorized`.
        """
        return self._send(request, authorization)

    async def _send(
        self, request: httpx.Request, authorization: Secret[str] | None
    ) -> httpx.Response:
        session = self._session
        if session is None:
            session = self._open_session()
        elif self._closed:
            raise RuntimeError("the AiohttpTransport is closed")
        data = _body(request)
        url, host = self._url(request.url)
        # No Authorization value in `entries`: a frame's locals must not show one.
        entries, present, held = _entries(request.headers, host, data, self._converted)
        if authorization is not None and held == _OTHER:
            request.headers["Authorization"] = REDACTED_AUTHORIZATION  # not the one sent
        missing = ~present & (15 if data is not None or request.method in _TYPED_METHODS else 7)
        timeouts = request.extensions.get("timeout")
        slots = self._slots
        if slots is not None:
            if slots.locked():
                await self._wait_for_slot(slots, request, timeouts)
            else:
                await slots.acquire()  # returns at once
        error: httpx.TransportError
        try:
            response = await session.request(
                request.method,
                url,
                # Built in the call, not kept in a local: an exception passing through
                # this frame must not find a copy holding the live Authorization.
                headers=_with_authorization(entries, authorization, request, held),
                data=data,
                allow_redirects=False,
                timeout=self._client_timeout(timeouts),
                proxy_headers=self._proxy_headers(),
                skip_auto_headers=_SKIP[missing] if missing and self._owns_session else None,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = _mapped(exc, request)
        except BaseException:
            if slots is not None:
                slots.release()
            raise
        else:
            return _response(response, request, slots)
        if slots is not None:
            slots.release()
        # Raised outside the except block: nothing of aiohttp's is chained to it.
        raise error

    async def aclose(self) -> None:
        """Close the session this transport created; safe to call more than once.

        A caller's session stays open.
        """
        self._closed = True
        session = self._session
        if self._owns_session and session is not None and not session.closed:
            await session.close()

    def __del__(self) -> None:
        # Only warn: closing from here would run after the event loop may be gone.
        session = self.__dict__.get("_session")
        if self.__dict__.get("_owns_session") and session is not None and not session.closed:
            warnings.warn(
                f"unclosed {self!r}: await aclose() (LeanClient does on exit)",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the AiohttpTransport is closed")
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            force_close=not self._keepalive,
            keepalive_timeout=self._keepalive_expiry if self._keepalive else None,
            ssl=self._ssl,
        )
        proxy = self._proxy
        self._session = session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            raise_for_status=False,
            # LeanClient resolves the environment itself (lean_async.transport._network).
            trust_env=False,
            timeout=_NO_TIMEOUT,
            proxy=None if proxy is None else proxy.url,
            # Plain http through a proxy is forwarded, not tunnelled: aiohttp sends the
            # request's own headers to the proxy and ignores proxy_headers.
            headers=None
            if proxy is None or not proxy.forward or proxy.authorization is None
            else {"Proxy-Authorization": proxy.authorization.get_secret_value()},
        )
        return session

    def _proxy_headers(self) -> dict[str, str] | None:
        # Built per request inside this expression, so the credential is never a local
        # of a frame that an exception passes through.
        return (
            None
            if self._proxy is None or self._proxy.forward or self._proxy.authorization is None
            else {"Proxy-Authorization": self._proxy.authorization.get_secret_value()}
        )

    async def _wait_for_slot(
        self, slots: asyncio.Semaphore, request: httpx.Request, timeouts: _Timeouts | None
    ) -> None:
        pool = None if timeouts is None else timeouts.get("pool")
        try:
            async with asyncio.timeout(pool):
                await slots.acquire()
        except TimeoutError:
            pass
        else:
            return
        raise httpx.PoolTimeout(
            f"no free connection within {pool} s (max_connections={self._max_connections})",
            request=request,
        )

    def _url(self, url: httpx.URL) -> tuple[yarl.URL, bytes | None]:
        """aiohttp's URL for *url*, and the ``Host`` value aiohttp writes for it."""
        # httpx has already normalised and percent-encoded the URL: parse it once. Keyed
        # by the object (kept alive in the entry, so its id is not reused): LeanClient
        # hands the same httpx.URL to every call of one path, which skips formatting it.
        entry = self._urls.get(id(url))
        if entry is not None and entry[0] is url:
            return entry[1], entry[2]
        if len(self._urls) >= _URL_CACHE_SIZE:
            self._urls.clear()
        converted = yarl.URL(str(url), encoded=True)
        host = converted.host_port_subcomponent
        host_bytes = host.encode() if host is not None else None
        self._urls[id(url)] = (url, converted, host_bytes)
        return converted, host_bytes

    def _client_timeout(self, timeouts: _Timeouts | None) -> aiohttp.ClientTimeout:
        if timeouts is None:
            return _NO_TIMEOUT
        connect, read = timeouts.get("connect"), timeouts.get("read")
        pool = None if self._slots is not None else timeouts.get("pool")
        key = (connect, read, pool)
        cached_key, cached = self._timeouts
        if key == cached_key:
            return cached
        acquire = connect if pool is None or connect is None else pool + connect
        client_timeout = aiohttp.ClientTimeout(
            total=None, connect=acquire, sock_connect=connect, sock_read=read
        )
        self._timeouts = (key, client_timeout)
        return client_timeout


def _entries(
    headers: httpx.Headers,
    host: bytes | None,
    data: bytes | None,
    converted: dict[tuple[bytes, bytes], tuple[int, tuple[str, str]]] | None = None,
) -> tuple[list[tuple[str, str]], int, int]:
    """Return the request's headers for aiohttp, which of aiohttp's automatic ones it
    has, and what its Authorization header holds.

    The entries leave out ``Authorization`` (`_with_authorization` adds it) and the
    headers aiohttp writes itself when they would be the same: ``Host`` from the URL,
    ``Content-Length`` from the body and, on HTTP/1.1, ``Connection: keep-alive``.
    aiohttp takes str headers and writes them back as UTF-8 (a byte-exact round trip).
    *converted* keeps what was made of each entry with a name looked at here (a
    template's), so that the next request with the same entry skips the work.
    """
    entries: list[tuple[str, str]] = []
    present = 0
    held = _NO_AUTHORIZATION
    for pair in headers.raw:
        known = None if converted is None else converted.get(pair)
        if known is None:
            name, value = pair
            kind = _LOOKED_AT.get(name.lower(), 0)
            if kind == _AUTHORIZATION:  # never decoded, never kept
                held = _MARKER if value == _REDACTED and held != _OTHER else _OTHER
                continue
            known = (kind, (name.decode(), value.decode()))
            if kind and converted is not None:
                if len(converted) >= _HEADER_CACHE_SIZE:
                    converted.clear()
                converted[pair] = known
        kind, entry = known
        if kind:
            if kind < _HOST:
                present |= kind
            elif kind == _HOST:
                if pair[1] == host:
                    continue
            elif kind == _CONTENT_LENGTH:
                if data is not None and entry[1] == str(len(data)):
                    continue
            elif pair[1].lower() == b"keep-alive":  # Connection
                continue
        entries.append(entry)
    return entries, present, held


def _with_authorization(
    entries: list[tuple[str, str]],
    authorization: Secret[str] | None,
    request: httpx.Request,
    held: int,
) -> CIMultiDict[str]:
    """Return aiohttp's headers: *entries* and the Authorization header to send.

    That is *authorization*'s value when given, else the request's own header. Each is
    taken out only inside the expression that builds the result.
    """
    if authorization is not None:
        return CIMultiDict(entries, Authorization=authorization.get_secret_value())
    if held == _NO_AUTHORIZATION:
        return CIMultiDict(entries)
    return CIMultiDict(
        [
            *entries,
            *(("Authorization", value) for value in request.headers.get_list("Authorization")),
        ]
    )


def _response(
    response: aiohttp.ClientResponse, request: httpx.Request, slots: asyncio.Semaphore | None
) -> httpx.Response:
    """Return the httpx response for aiohttp's *response*, keeping nothing of it once read."""
    body = response.content
    # A small answer often arrives whole with its headers: hand it over read, and give
    # the connection back now. Only without Content-Encoding, whose decoding could
    # inflate the body past the response limit before that layer sees it.
    complete = body.is_eof() and "Content-Encoding" not in response.headers
    result = httpx.Response(
        response.status,
        headers=response.raw_headers,
        stream=_READ if complete else _Body(response, request, slots),
        extensions={
            "http_version": _HTTP_VERSIONS.get(response.version or (1, 1), b"HTTP/1.1"),
            "reason_phrase": (response.reason or "").encode("ascii", "replace"),
        },
        request=request,
    )
    if complete:
        # Handed over read (as ResponseLimitTransport does): building the response with
        # content= would decode it again through httpx's sync reader.
        result = _private_state.read_response(result, body.read_nowait(), request)
        response.release()
        if slots is not None:
            slots.release()
    return result


class _Body(httpx.AsyncByteStream):
    """A response body read from aiohttp; closing it releases the connection."""

    __slots__ = ("_request", "_response", "_slots")

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: httpx.Request,
        slots: asyncio.Semaphore | None,
    ) -> None:
        self._response: aiohttp.ClientResponse | None = response
        self._request = request
        self._slots = slots

    async def __aiter__(self) -> AsyncIterator[bytes]:
        response = self._response
        if response is None:
            raise httpx.StreamClosed()
        error: httpx.TransportError
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = _mapped(exc, self._request)
        else:
            return
        # aiohttp's response reaches the request as it was written (request_info).
        del response
        await self.aclose()
        raise error

    async def aclose(self) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        # A body read to the end has returned its connection to the pool already;
        # one left unread cannot be reused and is closed.
        if response.content.is_eof():
            response.release()
        else:
            response.close()
        if self._slots is not None:
            self._slots.release()


def _body(request: httpx.Request) -> bytes | None:
    try:
        content = request.content
    except httpx.RequestNotRead:
        raise TypeError(
            "AiohttpTransport sends bodies built as bytes; read a streaming request first"
        ) from None
    return content or None


def _mapped(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """Return the httpx error for aiohttp's *exc*, without keeping *exc* itself."""
    message = f"{type(exc).__name__}: {exc}"
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return certificate_error(str(exc.certificate_error), request)
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy refused the CONNECT
        message = f"{exc.status} {exc.message}"
        kind = ProxyAuthenticationError if exc.status == 407 else ProxyRefusedError
    elif isinstance(exc, aiohttp.ClientProxyConnectionError):
        kind = ProxyConnectError
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, TimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):  # DNS, refused, TLS, certificate
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(
        exc,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError,
    ):
        kind = httpx.RemoteProtocolError
    else:  # a reset (ClientOSError) or another failure once connected
        kind = httpx.ReadError
    return kind(message, request=request)


def _check_count(name: str, value: int, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
