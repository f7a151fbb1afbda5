"""Receive Lean webhooks in FastAPI, and share one `LeanClient` across an app.

Needs the ``fastapi`` extra::

    from fastapi import FastAPI
    from lean_async import WebhookEvent
    from lean_async.webhooks.fastapi import LeanClientDep, lean_client_lifespan, webhook_router

    app = FastAPI(lifespan=lean_client_lifespan())  # one LeanClient, closed on shutdown

    async def on_event(event: WebhookEvent) -> None:
        print(event.type, event.data)

    app.include_router(webhook_router(api_key=API_KEY, handler=on_event))

    @app.get("/gigs")
    async def gigs(lean: LeanClientDep) -> list[str]:
        return [gig.gig_id for gig in await lean.gigs.list()]

The router's one route (``POST /webhooks/lean``, or ``path=``) answers 200 once the
handler returned (and 200, without calling it, for a duplicate delivery), 401 for a
missing or wrong signature, 400 for a body that is not a JSON object with an event
type, 413 for one over ``max_body_bytes``, 409 while another delivery of the same event
is being handled, and 500 when the handler raised (the event is then released, so
Lean's retry runs it again). Pass ``store=RedisDedupStore(...)`` when several processes
receive the same webhooks.

``add_lean_error_handlers(app)`` turns a `LeanError` escaping a route into an HTTP
answer instead of a bare 500: a `ValidationError` is 422 with its fields, a
`NotFoundError` 404, a `RateLimitError` 429 with ``Retry-After``, a timeout 504, and so
on (the table is in ``lean_async.webhooks._answers``); no answer holds the API key.

The ``verified_event`` dependency only verifies and parses, for routes that want their
own handling; it cannot de-duplicate safely, because a dependency cannot tell whether
the route body that runs after it succeeded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Final

try:
    from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
    from fastapi.responses import JSONResponse
except ImportError as exc:  # an optional dependency: say which extra brings it
    raise ImportError(
        "lean_async.webhooks.fastapi needs fastapi: pip install 'lean-async[fastapi]'"
    ) from exc

from lean_async._client import LeanClient
from lean_async._secrets import WebhookKeys, secret_kwargs, take_webhook_keys
from lean_async.errors import LeanError, WebhookVerificationError
from lean_async.models import WebhookEvent
from lean_async.webhooks._answers import error_answer
from lean_async.webhooks._dedup import DedupStore, MemoryDedupStore
from lean_async.webhooks._delivery import (
    WebhookHandler,
    handle_delivery,
    rejected,
    too_large,
)
from lean_async.webhooks._parse import parse
from lean_async.webhooks._signature import DEFAULT_MAX_BODY_BYTES, checked_config

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = [
    "DEFAULT_PATH",
    "LeanClientDep",
    "add_lean_error_handlers",
    "get_lean_client",
    "lean_client_lifespan",
    "verified_event",
    "webhook_router",
]

DEFAULT_PATH: Final = "/webhooks/lean"
"""Where `webhook_router` receives deliveries unless given ``path=``."""

_STATE_NAME: Final = "lean"  # app.state.lean


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
    api_key: str | Sequence[str] | WebhookKeys,
    handler: WebhookHandler,
    store: DedupStore | None = None,
    path: str = DEFAULT_PATH,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    include_in_schema: bool = False,
    meter_provider: MeterProvider | None = None,
) -> APIRouter:
    """Return a router with one ``POST`` route that receives Lean's webhooks.

    Args:
        api_key: your API key, or several during a rotation (any of them verifies).
        handler: ``async def handler(event: WebhookEvent) -> None`` (or a plain ``def``,
            run in a worker thread), called once per event. Returning marks the event
            done (200); raising answers 500 so Lean's retry runs it again.
        store: where processed events are recorded; default a new `MemoryDedupStore`.
        path: the route's path (the URL you register with Lean); default
            `DEFAULT_PATH`, ``/webhooks/lean``. ``include_router(..., prefix=)`` works too.
        max_body_bytes: larger bodies get 413 without being read further.
        include_in_schema: whether the route shows in the OpenAPI schema.
        meter_provider: the OpenTelemetry meter provider that counts deliveries
            (``lean.webhooks.deliveries``); default the global one.

    Returns:
        An `APIRouter` for ``app.include_router(...)``.

    Raises:
        TypeError: *api_key* is not str(s) (None: is the variable set?), or
            *max_body_bytes* is not an int.
        ValueError: *api_key* is empty or an empty list, or *max_body_bytes* < 0.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # the route closes over the redacting holder, never the raw keys
    keys = checked_config(keys, problem, max_body_bytes)
    dedup = MemoryDedupStore() if store is None else store

    async def receive_lean_webhook(request: Request) -> Response:
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
        return JSONResponse(result.body, status_code=result.status_code)

    router = APIRouter()
    router.add_api_route(
        path, receive_lean_webhook, methods=["POST"], include_in_schema=include_in_schema
    )
    return router


def verified_event(
    *,
    api_key: str | Sequence[str] | WebhookKeys,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    meter_provider: MeterProvider | None = None,
) -> Callable[[Request], Awaitable[WebhookEvent]]:
    """Return a dependency giving the route the verified `WebhookEvent` (no de-duplication).

    Use as ``event: WebhookEvent = Depends(verified_event(api_key=KEY))``. A rejected
    delivery ends in `HTTPException` with 401, 400 or 413 and its reason as detail, and
    is counted in ``lean.webhooks.deliveries``; an accepted one is not (only the route
    knows whether it was processed).

    Args:
        api_key: your API key, or several during a rotation.
        max_body_bytes: larger bodies get 413 without being read further.
        meter_provider: the OpenTelemetry meter provider that counts rejections;
            default the global one.

    Returns:
        The dependency callable.

    Raises:
        TypeError: *api_key* is not str(s), or *max_body_bytes* is not an int.
        ValueError: *api_key* is empty or an empty list, or *max_body_bytes* < 0.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # the dependency closes over the redacting holder, never the raw keys
    keys = checked_config(keys, problem, max_body_bytes)

    async def lean_webhook_event(request: Request) -> WebhookEvent:
        payload = await _read_body(request, max_body_bytes)
        if payload is None:
            result = too_large(max_body_bytes, meter_provider=meter_provider)
        else:
            try:
                return parse(payload, request.headers, keys, max_body_bytes=max_body_bytes)
            except WebhookVerificationError as exc:
                result = rejected(exc, meter_provider=meter_provider)
        raise HTTPException(result.status_code, detail=result.reason)

    return lean_webhook_event


def lean_client_lifespan(
    **client_kwargs: Any,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Return a FastAPI lifespan that opens one `LeanClient` and closes it on shutdown.

    The client lives on ``app.state.lean``; routes get it with `LeanClientDep` (or
    ``Depends(get_lean_client)``). Every request shares its connection pool and retry
    budget. To combine it with a lifespan of your own, enter it inside yours::

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with lean_client_lifespan()(app), my_database(app):
                yield

    Args:
        **client_kwargs: passed to `LeanClient` (e.g. ``api_key``, ``base_url``,
            ``timeout``); by default it reads ``$LEAN_API_KEY``, ``$LEAN_ENVIRONMENT``
            and ``$LEAN_BASE_URL``.

    Returns:
        The lifespan, for ``FastAPI(lifespan=...)``.

    Raises:
        LeanError: at startup, when the client cannot be built (e.g. no API key), so
            the app refuses to start instead of failing its first request.
    """

    client_kwargs = secret_kwargs(client_kwargs)  # the closure holds no raw key

    @asynccontextmanager
    async def lean_client(app: FastAPI) -> AsyncIterator[None]:
        async with LeanClient(**client_kwargs) as client:
            setattr(app.state, _STATE_NAME, client)
            yield

    return lean_client


def get_lean_client(request: Request) -> LeanClient:
    """Return the app's shared `LeanClient`: a dependency, ``Depends(get_lean_client)``.

    Args:
        request: the current request (FastAPI passes it).

    Returns:
        The client opened by `lean_client_lifespan`.

    Raises:
        RuntimeError: the app was not created with ``lifespan=lean_client_lifespan()``
            (or is not running).
    """
    client = getattr(request.app.state, _STATE_NAME, None)
    if not isinstance(client, LeanClient):
        raise RuntimeError(
            "no LeanClient on app.state.lean: create the app with "
            "FastAPI(lifespan=lean_client_lifespan())"
        )
    return client


LeanClientDep = Annotated[LeanClient, Depends(get_lean_client)]
"""A route parameter annotation giving the shared client: ``async def r(lean: LeanClientDep)``."""


async def _answer_lean_error(_: Request, error: Exception) -> Response:
    if not isinstance(error, LeanError):  # pragma: no cover - registered for LeanError only
        raise error
    answer = error_answer(error)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


def add_lean_error_handlers(app: FastAPI) -> None:
    """Answer every `LeanError` a route raises with its HTTP status instead of a bare 500.

    ``add_lean_error_handlers(app)`` once, after creating the app. A `ValidationError`
    (nothing was sent) becomes 422 with ``{"error": {"type": "validation_error",
    "message": ..., "fields": [{"field": "total_amount", "message": ...}]}}``; Lean's own
    400, 404, 409 and 422 pass through with Lean's text; 429 and 503 keep Lean's
    ``Retry-After``; a refused key, a 5xx or a malformed answer is 502, a timeout 504.
    No answer holds the API key, a URL or a header; answers of 500 and more are logged
    (``lean_async.webhooks`` logger). Errors that are not a `LeanError` are left to
    FastAPI.

    Args:
        app: the application whose routes call Lean.
    """
    app.add_exception_handler(LeanError, _answer_lean_error)
