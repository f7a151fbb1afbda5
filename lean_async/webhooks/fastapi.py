"""Receive Lean webhooks in FastAPI.

Needs the ``fastapi`` extra. Mount a router that verifies, de-duplicates and hands
each event to your handler once::

    from lean_async import WebhookEvent
    from lean_async.webhooks.fastapi import webhook_router

    async def on_event(event: WebhookEvent) -> None:
        print(event.type, event.data)

    app.include_router(webhook_router(api_key=API_KEY, handler=on_event))

It answers 200 once the handler returned (and 200, without calling it, for a duplicate
delivery), 401 for a missing or wrong signature, 400 for a body that is not a Lean
event, 413 for one over ``max_body_bytes``, 409 while another delivery of the same event
is being handled, and 500 when the handler raised (the event is then released, so
Lean's retry runs it again). Pass ``store=RedisDedupStore(...)`` when several processes
receive the same webhooks.

The ``verified_event`` dependency only verifies and parses, for routes that want their
own handling; it cannot de-duplicate safely, because a dependency cannot tell whether
the route body that runs after it succeeded.

Share one `LeanClient` across the app with a lifespan::

    from contextlib import asynccontextmanager
    from fastapi import FastAPI, Request
    from lean_async import LeanClient

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with LeanClient() as lean:  # $LEAN_API_KEY, $LEAN_BASE_URL
            app.state.lean = lean
            yield

    app = FastAPI(lifespan=lifespan)

    def get_lean(request: Request) -> LeanClient:  # use as Depends(get_lean)
        return request.app.state.lean
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

try:
    from fastapi import APIRouter, HTTPException, Request, Response
    from fastapi.responses import JSONResponse
except ImportError as exc:  # an optional dependency: say which extra brings it
    raise ImportError(
        "lean_async.webhooks.fastapi needs fastapi: pip install 'lean-async[fastapi]'"
    ) from exc

from lean_async.errors import WebhookVerificationError
from lean_async.models import WebhookEvent
from lean_async.webhooks._dedup import DedupStore, MemoryDedupStore
from lean_async.webhooks._delivery import (
    WebhookHandler,
    handle_delivery,
    rejected,
    too_large,
)
from lean_async.webhooks._parse import parse
from lean_async.webhooks._signature import DEFAULT_MAX_BODY_BYTES, normalize_keys

__all__ = ["verified_event", "webhook_router"]


async def _read_body(request: Request, max_body_bytes: int) -> bytes | None:
    """Return the body, or None once it is known to exceed *max_body_bytes*."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_body_bytes:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body_bytes:
            return None
    return bytes(body)


def webhook_router(
    *,
    api_key: str | Sequence[str],
    handler: WebhookHandler,
    store: DedupStore | None = None,
    path: str = "/webhooks/lean",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    include_in_schema: bool = False,
) -> APIRouter:
    """Return a router with one ``POST`` route that receives Lean's webhooks.

    Args:
        api_key: your API key, or several during a rotation (any of them verifies).
        handler: ``async def handler(event: WebhookEvent) -> None``, run once per event.
        store: where processed events are recorded; default a new `MemoryDedupStore`.
        path: the route's path (the URL you register with Lean).
        max_body_bytes: larger bodies get 413 without being read further.
        include_in_schema: whether the route shows in the OpenAPI schema.

    Returns:
        An `APIRouter` for ``app.include_router(...)``.

    Raises:
        TypeError: *api_key* is not str(s).
        ValueError: *api_key* is empty or an empty list.
    """
    normalize_keys(api_key)
    dedup = MemoryDedupStore() if store is None else store

    async def receive_lean_webhook(request: Request) -> Response:
        payload = await _read_body(request, max_body_bytes)
        if payload is None:
            result = too_large(max_body_bytes)
        else:
            result = await handle_delivery(
                payload,
                request.headers,
                api_key=api_key,
                handler=handler,
                store=dedup,
                max_body_bytes=max_body_bytes,
            )
        return JSONResponse(result.body, status_code=result.status_code)

    router = APIRouter()
    router.add_api_route(
        path, receive_lean_webhook, methods=["POST"], include_in_schema=include_in_schema
    )
    return router


def verified_event(
    *, api_key: str | Sequence[str], max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Callable[[Request], Awaitable[WebhookEvent]]:
    """Return a dependency giving the route the verified `WebhookEvent` (no de-duplication).

    Use as ``event: WebhookEvent = Depends(verified_event(api_key=KEY))``. A rejected
    delivery ends in `HTTPException` with 401, 400 or 413 and its reason as detail.

    Args:
        api_key: your API key, or several during a rotation.
        max_body_bytes: larger bodies get 413 without being read further.

    Returns:
        The dependency callable.

    Raises:
        TypeError: *api_key* is not str(s).
        ValueError: *api_key* is empty or an empty list.
    """
    normalize_keys(api_key)

    async def lean_webhook_event(request: Request) -> WebhookEvent:
        payload = await _read_body(request, max_body_bytes)
        if payload is None:
            result = too_large(max_body_bytes)
        else:
            try:
                return parse(payload, request.headers, api_key, max_body_bytes=max_body_bytes)
            except WebhookVerificationError as exc:
                result = rejected(exc)
        raise HTTPException(result.status_code, detail=result.reason)

    return lean_webhook_event
