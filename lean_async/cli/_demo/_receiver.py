"""The demo's webhook receiver: lean-async's aiohttp integration on a real 127.0.0.1 port.

The sandbox POSTs its signed events here over HTTP, exactly as Lean would to your app;
`lean_async.webhooks.aiohttp.webhook_handler` verifies, parses and de-duplicates each
one. Every answer the receiver gives (processed, duplicate, rejected, ...) is recorded
as an `Arrival` and handed to a callback, so the demo can show each delivery arriving.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Final, Self

import attrs

try:
    from aiohttp import web
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the demo's webhook receiver needs aiohttp: pip install 'lean-async[cli]'"
    ) from exc

from lean_async.models import EventType, WebhookEvent
from lean_async.webhooks.aiohttp import webhook_handler

__all__ = ["WEBHOOK_PATH", "Arrival", "WebhookReceiver", "event_mentions"]

WEBHOOK_PATH: Final = "/webhooks/lean"


@attrs.frozen(kw_only=True)
class Arrival:
    """One HTTP delivery the receiver answered.

    Attributes:
        status_code: what the receiver answered (200, 401, ...).
        outcome: the integration's verdict: processed, duplicate, rejected, ...
        event_type: e.g. ``"gig.completed"``; None when the delivery was rejected.
        event_id: the event's ``id``; None when the delivery was rejected.
        reason: why it was rejected, e.g. ``"signature_mismatch"``.
    """

    status_code: int
    outcome: str
    event_type: str | None = None
    event_id: str | None = None
    reason: str | None = None


def event_mentions(event: WebhookEvent, object_id: str) -> bool:
    """Return whether *event* is about *object_id* (a customer, gig or payment id)."""
    data = event.data
    ids = {getattr(data, name, None) for name in ("partner_user_id", "gig_id", "id")}
    return object_id in ids


class WebhookReceiver:
    """An aiohttp app on 127.0.0.1 (an ephemeral port) that receives Lean webhooks.

    Use as ``async with WebhookReceiver(api_key) as receiver:``; `url` is where to
    register it. Only 127.0.0.1 is ever bound.

    Args:
        api_key: the key deliveries are signed with.
        on_arrival: called with each `Arrival` as soon as it was answered.
    """

    def __init__(self, api_key: str, on_arrival: Callable[[Arrival], None] | None = None) -> None:
        self._api_key = api_key
        self._on_arrival = on_arrival
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._processed: list[WebhookEvent] = []
        self._changed = asyncio.Condition()
        self.arrivals: list[Arrival] = []
        """Every delivery answered, oldest first."""

    @property
    def url(self) -> str:
        """The URL to register with the sandbox, e.g. ``http://127.0.0.1:54321/webhooks/lean``."""
        if self._url is None:
            raise RuntimeError("the receiver is not running; use it with `async with`")
        return self._url

    @property
    def processed(self) -> list[WebhookEvent]:
        """The events the handler ran for (once each), oldest first."""
        return list(self._processed)

    async def __aenter__(self) -> Self:
        integration = webhook_handler(api_key=self._api_key, handler=self._handle)

        async def receive(request: web.Request) -> web.StreamResponse:
            response = await integration(request)
            self._record(response)
            return response

        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, receive)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self._url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _handle(self, event: WebhookEvent) -> None:
        async with self._changed:
            self._processed.append(event)
            self._changed.notify_all()

    def _record(self, response: web.Response) -> None:
        body = json.loads(response.body) if isinstance(response.body, bytes) else {}
        event = next((e for e in self._processed if e.id == body.get("event_id")), None)
        arrival = Arrival(
            status_code=response.status,
            outcome=str(body.get("status", "")),
            event_type=str(event.type) if event is not None else None,
            event_id=body.get("event_id"),
            reason=body.get("reason"),
        )
        self.arrivals.append(arrival)
        if self._on_arrival is not None:
            self._on_arrival(arrival)

    async def wait_for(self, kind: EventType, object_id: str, timeout: float) -> WebhookEvent:
        """Return the first processed *kind* event about *object_id*.

        Raises:
            TimeoutError: none arrived within *timeout* seconds.
        """

        def find() -> WebhookEvent | None:
            for event in self._processed:
                if event.type is kind and event_mentions(event, object_id):
                    return event
            return None

        async with asyncio.timeout(timeout), self._changed:
            while (event := find()) is None:
                await self._changed.wait()
            return event
