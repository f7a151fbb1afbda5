"""Telling a refusing proxy and a failed certificate check apart from other connect errors.

Both bases raise these (httpx exception types, so the layers above treat them as
transport errors); the errors layer turns them into `APIConnectionError` with their
message, which names the proxy by its URL without credentials:

- `CertificateVerifyError`: the server's certificate failed verification. Never retried:
  it will not heal by itself.
- `ProxyAuthenticationError`: the proxy answered ``407 Proxy Authentication Required``
  (missing or wrong credentials). Never retried.
- `ProxyRefusedError`: the proxy refused a ``CONNECT`` otherwise (``403``, ``502`` when
  it cannot reach the API...). Nothing reached the API, so it is retried like any
  connect error.
- `ProxyConnectError`: the proxy could not be reached. Retried likewise.

`ProxyAnswersTransport` sits on each connection pool of a client that has a proxy; for
httpx's pool, `HttpxErrorsTransport` recognises certificate failures (the aiohttp base
does in its own error mapping).
"""

from __future__ import annotations

import ssl
from typing import Final

import httpx

__all__ = [
    "NEVER_RETRIED",
    "CertificateVerifyError",
    "HttpxErrorsTransport",
    "ProxyAnswersTransport",
    "ProxyAuthenticationError",
    "ProxyConnectError",
    "ProxyRefusedError",
    "certificate_failure",
]


class CertificateVerifyError(httpx.ConnectError):
    """The server's TLS certificate failed verification (not retried)."""


class ProxyConnectError(httpx.ConnectError):
    """The proxy could not be reached (nothing was sent; retried)."""


class ProxyRefusedError(httpx.ConnectError):
    """The proxy refused to open a tunnel to the API (nothing reached it; retried)."""


class ProxyAuthenticationError(ProxyRefusedError):
    """The proxy answered 407 Proxy Authentication Required (not retried)."""


NEVER_RETRIED: Final = (CertificateVerifyError, ProxyAuthenticationError)
"""Failures a retry cannot cure: the retry layer gives up on them at once."""

_VERIFY_HINT: Final = "check verify=, cert= or $SSL_CERT_FILE; not retried"


def certificate_failure(exc: BaseException) -> str | None:
    """The verification failure behind *exc* (walking its chain), or ``None``."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, ssl.SSLCertVerificationError):
            return str(node.verify_message or node)
        if "CERTIFICATE_VERIFY_FAILED" in str(node):
            return str(node)
        node = node.__cause__ or node.__context__
    return None


def certificate_error(detail: str, request: httpx.Request) -> CertificateVerifyError:
    """The error for a certificate of *request*'s host that failed verification."""
    return CertificateVerifyError(
        f"TLS certificate verification failed for {request.url.host}: {detail} ({_VERIFY_HINT})",
        request=request,
    )


class HttpxErrorsTransport(httpx.AsyncBaseTransport):
    """Wraps httpx's pooled transport to raise `CertificateVerifyError` where it applies.

    Args:
        inner: httpx's pooled transport.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner_pool = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the pool."""
        error: httpx.TransportError
        try:
            return await self.inner_pool.handle_async_request(request)
        except httpx.ConnectError as exc:
            detail = certificate_failure(exc)
            if detail is None:
                raise
            error = certificate_error(detail, request)
        raise error  # outside the except block: the original chain is not kept

    async def aclose(self) -> None:
        """Close the pool."""
        await self.inner_pool.aclose()


class ProxyAnswersTransport(httpx.AsyncBaseTransport):
    """Turns a proxy's refusals into `ProxyRefusedError` (`ProxyAuthenticationError` for a
    407) or `ProxyConnectError`.

    A ``407`` answer comes back as a response when the proxy forwards plain HTTP, and as
    an exception when it refuses a ``CONNECT``; a connect error means the proxy is down,
    since every connection goes to it.

    Args:
        inner: a connection pool that sends through the proxy.
        proxy_url: the proxy's URL, without credentials (it goes into messages).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, proxy_url: str) -> None:
        self.inner_pool = inner
        self._proxy_url = proxy_url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request* through the proxy."""
        error: httpx.TransportError
        try:
            response = await self.inner_pool.handle_async_request(request)
        except CertificateVerifyError:
            raise
        except (httpx.ProxyError, ProxyRefusedError) as exc:  # httpx's, the aiohttp base's
            error = self._refused(str(exc), request)
        except httpx.ConnectError as exc:
            detail = certificate_failure(exc)
            if detail is not None:
                error = certificate_error(detail, request)
            else:
                error = ProxyConnectError(
                    f"cannot connect to the proxy {self._proxy_url}: {exc}", request=request
                )
        else:
            if response.status_code != 407:
                return response
            await response.aclose()
            error = self._refused("407 Proxy Authentication Required", request)
        raise error  # outside the except block: the original chain is not kept

    def _refused(self, detail: str, request: httpx.Request) -> ProxyRefusedError:
        message = f"the proxy {self._proxy_url} refused the request: {detail}"
        if "407" in detail:
            return ProxyAuthenticationError(
                f"{message} (check the proxy credentials); not retried", request=request
            )
        return ProxyRefusedError(message, request=request)

    async def aclose(self) -> None:
        """Close the pool."""
        await self.inner_pool.aclose()
