"""The idempotency layer: the key a POST carries is the call's, on every attempt.

`LeanClient` makes a call's ``Idempotency-Key`` (`new_key`), once, before anything is
sent, so that the key is known whatever ends the call (it is on every error and in the
note of a cancelled call). This layer makes none: it sits above the retry layer,
records the key a POST carries, so that every attempt, error and span names it, and
refuses a POST without one, which a retry could send twice.
"""

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
    """Records the ``Idempotency-Key`` a POST carries, for every attempt of its call.

    A key in the ``Idempotency-Key`` header is recorded in
    ``request.extensions[IDEMPOTENCY_KEY]`` (where `LeanClient` puts the key it made,
    also in the header), so every attempt, error and span names it. This layer sits
    above the retry layer: every attempt of one call carries the same key and the API
    acts at most once. It makes no key: `LeanClient` makes one per call; a POST sent
    through the stack otherwise must carry its own (``new_key()`` makes one).

    Args:
        inner: the transport that sends the request (normally the retry layer).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"IdempotencyTransport({self._inner!r})"

    def handle_async_request(self, request: httpx.Request) -> Coroutine[Any, Any, httpx.Response]:
        """Record the key of a POST, then send it.

        Nothing is left to do once the key is recorded, so this returns the inner
        layer's coroutine rather than awaiting it in a frame of its own (awaited alike).

        Args:
            request: the request to send.

        Returns:
            The inner transport's response.

        Raises:
            ValueError: a POST without an ``Idempotency-Key``; nothing was sent.
        """
        if request.method == "POST" and not request.extensions.get(IDEMPOTENCY_KEY):
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if not key:
                raise ValueError(
                    "a POST through the lean-async stack needs an Idempotency-Key header "
                    "(LeanClient makes one per call; lean_async.transport.idempotency."
                    "new_key() makes one), so that a retry cannot act twice"
                )
            request.extensions[IDEMPOTENCY_KEY] = key
        return self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
