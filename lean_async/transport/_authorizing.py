"""The two ways the auth layer's credential reaches the wire.

`AuthTransport` owns the ``Authorization`` header. Most inner transports only send
what a request holds, so the header is stored in the request for the send and redacted
right after (`send_with_header`). A base that builds its own header list for its HTTP
library (the aiohttp one) is an `AuthorizingTransport`: it takes the credential's
holder and writes the header into that list itself, so the request never holds the
credential at all, and nothing has to be stored or redacted in it.
"""

from __future__ import annotations

import abc
from collections.abc import Coroutine
from typing import Any

import httpx

from lean_async._secrets import Secret
from lean_async.transport._redact import REDACTED_AUTHORIZATION

__all__ = ["AuthorizingTransport", "send_with_header"]


class AuthorizingTransport(httpx.AsyncBaseTransport, abc.ABC):
    """A transport that writes the ``Authorization`` header itself while it sends."""

    @abc.abstractmethod
    def send_authorized(
        self, request: httpx.Request, authorization: Secret[str]
    ) -> Coroutine[Any, Any, httpx.Response]:
        """Send *request* with ``Authorization`` set to *authorization*'s value.

        The value goes into what is written to the wire, never into *request*; an
        ``Authorization`` header *request* holds is not sent, and leaves as
        ``Basic [REDACTED]`` unless it is that already. The value is taken out of its
        holder only inside the expression that writes it.

        Args:
            request: the request to send, headers and body final.
            authorization: the whole header value, e.g. ``Basic <token>``.

        Returns:
            An awaitable of the response, as `handle_async_request` returns it.
        """


async def send_with_header(
    inner: httpx.AsyncBaseTransport, request: httpx.Request, authorization: Secret[str]
) -> httpx.Response:
    """Send *request* through *inner* with the header stored in it, redacted afterwards.

    Once *inner* has returned or raised, the request's header reads ``Basic
    [REDACTED]``: the request then reaches responses and errors.
    """
    headers = request.headers
    headers["Authorization"] = authorization.get_secret_value()
    try:
        return await inner.handle_async_request(request)
    finally:
        # Response headers have arrived (or the send failed): the bytes are gone.
        # The sender may have replaced the headers object: redact the one it holds now.
        current = request.headers
        current["Authorization"] = REDACTED_AUTHORIZATION
        if current is not headers:
            headers["Authorization"] = REDACTED_AUTHORIZATION
