"""Receive Lean webhooks in aiohttp, and share one `LeanClient` across an app.

Needs the ``aiohttp`` extra::

    from aiohttp import web
    from lean_async import WebhookEvent
    from lean_async.webhooks.aiohttp import LEAN_CLIENT, lean_client_ctx, webhook_handler

    async def on_event(event: WebhookEvent) -> None:
        print(event.type, event.data)

    app = web.Application()
    app.cleanup_ctx.append(lean_client_ctx())  # app[LEAN_CLIENT], closed on shutdown
    app.router.add_post("/webhooks/lean", webhook_handler(api_key=KEY, handler=on_event))

``web.Application(middlewares=[lean_error_middleware])`` turns a `LeanError` escaping a
handler into an HTTP answer instead of a bare 500, with the same statuses and bodies
as the FastAPI helper (``add_lean_error_handlers``): 422 for a `ValidationError` with its
fields, 404, 429 with ``Retry-After``, 504 for a timeout...; never the API key.

The webhook handler answers as the FastAPI router does: 200 once processed (and 200 for a
duplicate, without calling *handler*), 401 bad signature, 400 a body that is not a JSON
object with an event type, 413 too large, 409 while another delivery of the event is
running, 500 when *handler* raised (the event is released so Lean's retry runs it
again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

try:
    from aiohttp import web
except ImportError as exc:  # an optional dependency: say which extra brings it
    raise ImportError(
        "lean_async.webhooks.aiohttp needs aiohttp: pip install 'lean-async[aiohttp]'"
    ) from exc

from lean_async._client import LeanClient
from lean_async._secrets import WebhookKeys, secret_kwargs, take_webhook_keys
from lean_async.errors import LeanError
from lean_async.webhooks._answers import error_answer
from lean_async.webhooks._dedup import DedupStore, MemoryDedupStore
from lean_async.webhooks._delivery import WebhookHandler, handle_delivery, too_large
from lean_async.webhooks._signature import DEFAULT_MAX_BODY_BYTES, checked_config

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = ["LEAN_CLIENT", "lean_client_ctx", "lean_error_middleware", "webhook_handler"]

LEAN_CLIENT: web.AppKey[LeanClient] = web.AppKey("lean_client", LeanClient)
"""Where `lean_client_ctx` keeps the shared client: ``app[LEAN_CLIENT]``."""


async def _read_body(request: web.Request, max_body_bytes: int) -> bytes | None:
    """Return the body, or None once it is known to exceed *max_body_bytes*."""
    length = request.content_length
    if length is not None and length > max_body_bytes:
        return None
    body = bytearray()
    while len(body) <= max_body_bytes:
        chunk = await request.content.read(max_body_bytes + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    return None


def webhook_handler(
    *,
    api_key: str | Sequence[str] | WebhookKeys,
    handler: WebhookHandler,
    store: DedupStore | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    meter_provider: MeterProvider | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Return an aiohttp request handler that receives Lean's webhooks.

    Args:
        api_key: your API key, or several during a rotation (any of them verifies).
        handler: ``async def handler(event: WebhookEvent) -> None`` (or a plain ``def``,
            run in a worker thread), called once per event. Returning marks the event
            done (200); raising answers 500 so Lean's retry runs it again.
        store: where processed events are recorded; default a new `MemoryDedupStore`.
        max_body_bytes: larger bodies get 413 without being read further.
        meter_provider: the OpenTelemetry meter provider that counts deliveries
            (``lean.webhooks.deliveries``); default the global one.

    Returns:
        The request handler, for ``app.router.add_post(path, ...)``.

    Raises:
        TypeError: *api_key* is not str(s) (None: is the variable set?), or
            *max_body_bytes* is not an int.
        ValueError: *api_key* is empty or an empty list, or *max_body_bytes* < 0.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # the handler closes over the redacting holder, never the raw keys
    keys = checked_config(keys, problem, max_body_bytes)  # fails at startup, not per delivery
    dedup = MemoryDedupStore() if store is None else store

    async def receive_lean_webhook(request: web.Request) -> web.Response:
        payload = await _read_body(request, max_body_bytes)
        if payload is None:
            result = too_large(max_body_bytes, meter_provider=meter_provider)
        else:
            result = await handle_delivery(
                payload,
                request.headers,
                api_key=keys,
                handler=handler,
                store=dedup,
                max_body_bytes=max_body_bytes,
                meter_provider=meter_provider,
            )
        return web.json_response(result.body, status=result.status_code)

    return receive_lean_webhook


def lean_client_ctx(
    *, key: web.AppKey[LeanClient] = LEAN_CLIENT, **client_kwargs: Any
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Return a ``cleanup_ctx`` entry that opens one `LeanClient` and closes it on shutdown.

    Args:
        key: where the client is stored in the app (default `LEAN_CLIENT`).
        **client_kwargs: passed to `LeanClient` (e.g. ``api_key``, ``base_url``);
            by default it reads ``$LEAN_API_KEY`` and ``$LEAN_BASE_URL``.

    Returns:
        The async generator function for ``app.cleanup_ctx.append(...)``.

    Raises:
        LeanError: at startup, when the client cannot be built (e.g. no API key).
    """

    client_kwargs = secret_kwargs(client_kwargs)  # the closure holds no raw key

    async def lean_client(app: web.Application) -> AsyncIterator[None]:
        async with LeanClient(**client_kwargs) as client:
            app[key] = client
            yield

    return lean_client


@web.middleware
async def lean_error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer every `LeanError` a handler raises with its HTTP status instead of a bare 500.

    Use as ``web.Application(middlewares=[lean_error_middleware])``. A `ValidationError`
    (nothing was sent) becomes 422 with ``{"error": {"type": "validation_error",
    "message": ..., "fields": [{"field": "total_amount", "message": ...}]}}``; Lean's own
    400, 404, 409 and 422 pass through with Lean's text; 429 and 503 keep Lean's
    ``Retry-After``; a refused key, a 5xx or a malformed answer is 502, a timeout 504.
    No answer holds the API key, a URL or a header; answers of 500 and more are logged
    (``lean_async.webhooks`` logger). Other exceptions pass through untouched.

    Args:
        request: the request being served.
        handler: the next handler.

    Returns:
        The handler's response, or the JSON answer for its `LeanError`.
    """
    try:
        return await handler(request)
    except LeanError as error:
        answer = error_answer(error)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)
