"""The idempotency layer: every POST carries an ``Idempotency-Key``."""

from __future__ import annotations

import os
from collections.abc import Coroutine
from typing import Any

import httpx

from lean_async.transport.extensions import IDEMPOTENCY_KEY

__all__ = ["IDEMPOTENCY_HEADER", "IdempotencyTransport", "new_key"]

IDEMPOTENCY_HEADER = "Idempotency-Key"


def new_key() -> str:
    """Return a fresh random key: a version-4 UUID in its usual text form.

    The same as ``str(uuid.uuid4())``, built from `os.urandom` directly at a third of
    its cost (it is made for every POST).
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


class IdempotencyTransport(httpx.AsyncBaseTransport):
    """Gives every POST without an ``Idempotency-Key`` header a fresh uuid4 key.

    A key the caller set is kept (in the header, or in the header and
    ``request.extensions[IDEMPOTENCY_KEY]``, as `LeanClient` does); either way the key
    ends up recorded in ``request.extensions[IDEMPOTENCY_KEY]``. This layer sits above
    the retry layer, so every attempt of one call carries the same key and the API acts
    at most once.

    Args:
        inner: the transport that sends the request (normally the retry layer).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"IdempotencyTransport({self._inner!r})"

    def handle_async_request(self, request: httpx.Request) -> Coroutine[Any, Any, httpx.Response]:
        """Make sure a POST carries an Idempotency-Key, then send it.

        Nothing is left to do once the key is set, so this returns the inner layer's
        coroutine rather than awaiting it in a frame of its own (awaited alike).

        Args:
            request: the request to send.

        Returns:
            The inner transport's response.
        """
        if request.method == "POST":
            # LeanClient records the key it set in the extension: no header lookup.
            key = request.extensions.get(IDEMPOTENCY_KEY) or request.headers.get(IDEMPOTENCY_HEADER)
            if not key:
                key = new_key()
                request.headers[IDEMPOTENCY_HEADER] = key
            request.extensions[IDEMPOTENCY_KEY] = key
        return self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
