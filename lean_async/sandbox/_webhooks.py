"""Signed webhook deliveries with retries, to URLs and in-process listeners.

Each event is serialised once to the bytes every attempt sends::

    {"id": "evt_<uuid>", "event": "gig.completed", "data": {<the gig>}, "createdAt": "<ts>"}

signed as ``x-lean-signature: base64(HMAC-SHA1(api_key, body))``. A destination that
does not answer 2xx (or raises, or times out) gets the same bytes again after
``retry_base * 2**(attempt - 1)`` seconds of sandbox time, up to ``max_retries`` times
(Lean's "retry up to 5 times": at most 6 attempts).

Every attempt is logged on the ``lean_async.sandbox.webhooks`` logger: a delivered one
at INFO, a failed one at WARNING with the event type and id, the destination, the
attempt, the status or error, and when it will be retried or that it was given up::

    webhook gig.completed evt_… -> http://h/hook: attempt 1/6 failed (status 500); retrying in 0.5 s
    webhook gig.completed evt_… -> http://h/hook: delivered (attempt 2/6, status 200)

Each record also carries ``lean_event_id``, ``lean_event_type``, ``lean_destination``,
``lean_attempt``, ``lean_max_attempts``, ``lean_status_code``, ``lean_error``,
``lean_outcome`` and ``lean_retry_in`` (seconds, or None) for structured handlers.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import httpx

from lean_async._codec.convert import format_datetime, unstructure
from lean_async.models import Customer, EventType, Gig, SpecialPayment, WebhookEvent
from lean_async.sandbox._clock import Clock, stamp
from lean_async.sandbox._scheduler import Scheduler
from lean_async.webhooks import SIGNATURE_HEADER, sign

__all__ = [
    "WEBHOOK_LOGGER",
    "Delivery",
    "DeliveryAttemptOutcome",
    "WebhookDispatcher",
    "WebhookListener",
    "check_webhook_url",
]

WEBHOOK_LOGGER = "lean_async.sandbox.webhooks"
"""The logger every delivery attempt is reported on (a child of ``lean_async.sandbox``)."""

logger = logging.getLogger(WEBHOOK_LOGGER)

WebhookListener = Callable[[bytes, Mapping[str, str]], Awaitable[int | None]]
"""An in-process receiver: gets the raw body and headers, returns a status (None: 200)."""


class DeliveryAttemptOutcome(enum.StrEnum):
    """What one delivery attempt achieved."""

    DELIVERED = "delivered"
    RETRYING = "retrying"  # failed; another attempt is scheduled
    GAVE_UP = "gave_up"  # failed, and it was the last attempt


@attrs.frozen(kw_only=True)
class Delivery:
    """One attempt to deliver one event to one destination.

    Attributes:
        event_id: the event's ``id`` (``evt_...``).
        event_type: e.g. ``"gig.completed"``.
        destination: the URL, ``"asgi:<path>"`` for an app given to
            `Sandbox.forward_webhooks_to`, or ``"listener:<name>"`` for another
            in-process listener.
        attempt: 1 for the first try.
        status_code: the receiver's answer, or None when there was none.
        outcome: delivered, retrying or gave_up.
        error: why there was no answer (connection error, timeout, exception).
        at: sandbox time of the attempt.
    """

    event_id: str
    event_type: str
    destination: str
    attempt: int
    status_code: int | None
    outcome: DeliveryAttemptOutcome
    at: dt.datetime
    error: str | None = None


@attrs.frozen
class _Event:
    id: str
    type: str
    body: bytes
    headers: dict[str, str]


def _listener_name(listener: WebhookListener) -> str:
    named = getattr(listener, "destination", None)  # e.g. "asgi:/webhooks/lean"
    if isinstance(named, str):
        return named
    return "listener:" + getattr(listener, "__qualname__", type(listener).__qualname__)


def check_webhook_url(url: object) -> str:
    """Return *url* if it is an absolute ``http``/``https`` URL with a host.

    Raises:
        ValueError: anything else (a relative path, another scheme, no host), with why.
    """
    example = "e.g. http://127.0.0.1:8000/webhooks/lean"
    if not isinstance(url, str):
        raise ValueError(f"a webhook URL must be a string, {example}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"webhook URL {url!r} is not a valid URL ({exc}), {example}") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"webhook URL {url!r} must start with http:// or https://, {example}")
    if not parsed.host:
        raise ValueError(f"webhook URL {url!r} has no host, {example}")
    return url


def _shown(destination: str) -> str:
    """Return a destination fit for a log line: a URL without its user:password part."""
    if "@" not in destination:
        return destination
    try:
        return str(httpx.URL(destination).copy_with(username=None, password=None))
    except httpx.InvalidURL:  # pragma: no cover - URLs are checked at registration
        return "<url>"


class WebhookDispatcher:
    """Builds, signs and delivers the sandbox's webhook events."""

    def __init__(
        self,
        *,
        api_key: str,
        clock: Clock,
        scheduler: Scheduler,
        retry_base: float,
        max_retries: int,
        timeout: float,
    ) -> None:
        self._api_key = api_key
        self._clock = clock
        self._scheduler = scheduler
        self._retry_base = retry_base
        self._max_retries = max_retries
        self._timeout = timeout
        self.urls: list[str] = []
        self.listeners: list[WebhookListener] = []
        self.events: list[WebhookEvent] = []
        self.deliveries: list[Delivery] = []
        self._client: httpx.AsyncClient | None = None

    def emit(self, event_type: EventType, data: Customer | Gig | SpecialPayment) -> WebhookEvent:
        """Record an event and schedule its delivery to every current destination."""
        now = stamp(self._clock)
        raw: dict[str, Any] = {
            "id": f"evt_{uuid.uuid4()}",
            "event": event_type.value,
            "data": unstructure(data),
            "createdAt": format_datetime(now),
        }
        body = json.dumps(raw, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self._api_key)}
        event = WebhookEvent(id=raw["id"], type=event_type, data=data, created_at=now, raw=raw)
        self.events.append(event)
        sent = _Event(event.id, event_type.value, body, headers)
        destinations: list[str | WebhookListener] = [*self.urls, *self.listeners]
        for destination in destinations:
            self._schedule(sent, destination, attempt=1, delay=0.0)
        return event

    def _schedule(
        self, event: _Event, destination: str | WebhookListener, *, attempt: int, delay: float
    ) -> None:
        job = functools.partial(self._attempt, event, destination, attempt)
        self._scheduler.call_later(delay, job)

    async def _attempt(
        self, event: _Event, destination: str | WebhookListener, attempt: int
    ) -> None:
        status, error = await self._send(destination, event)
        retry_in: float | None = None
        if status is not None and 200 <= status < 300:
            outcome = DeliveryAttemptOutcome.DELIVERED
        elif attempt <= self._max_retries:
            outcome = DeliveryAttemptOutcome.RETRYING
            retry_in = self._retry_base * 2 ** (attempt - 1)
            self._schedule(event, destination, attempt=attempt + 1, delay=retry_in)
        else:
            outcome = DeliveryAttemptOutcome.GAVE_UP
        name = destination if isinstance(destination, str) else _listener_name(destination)
        self._log(event, name, attempt, status, error, outcome, retry_in)
        self.deliveries.append(
            Delivery(
                event_id=event.id,
                event_type=event.type,
                destination=name,
                attempt=attempt,
                status_code=status,
                outcome=outcome,
                error=error,
                at=stamp(self._clock),
            )
        )

    def _log(
        self,
        event: _Event,
        destination: str,
        attempt: int,
        status: int | None,
        error: str | None,
        outcome: DeliveryAttemptOutcome,
        retry_in: float | None,
    ) -> None:
        level = logging.INFO if outcome is DeliveryAttemptOutcome.DELIVERED else logging.WARNING
        if not logger.isEnabledFor(level):
            return
        shown = _shown(destination)
        attempts = self._max_retries + 1
        extra = {
            "lean_event_id": event.id,
            "lean_event_type": event.type,
            "lean_destination": shown,
            "lean_attempt": attempt,
            "lean_max_attempts": attempts,
            "lean_status_code": status,
            "lean_error": error,
            "lean_outcome": outcome.value,
            "lean_retry_in": retry_in,
        }
        head = "webhook %s %s -> %s: "
        if outcome is DeliveryAttemptOutcome.DELIVERED:
            logger.info(
                head + "delivered (attempt %d/%d, status %s)",
                *(event.type, event.id, shown, attempt, attempts, status),
                extra=extra,
            )
            return
        why = f"status {status}" if status is not None else error
        tail = f"retrying in {retry_in:g} s" if retry_in is not None else "gave up"
        logger.warning(
            head + "attempt %d/%d failed (%s); %s",
            *(event.type, event.id, shown, attempt, attempts, why, tail),
            extra=extra,
        )

    async def _send(
        self, destination: str | WebhookListener, event: _Event
    ) -> tuple[int | None, str | None]:
        if isinstance(destination, str):
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
            try:
                response = await self._client.post(
                    destination, content=event.body, headers=event.headers
                )
            except httpx.HTTPError as exc:
                return None, f"{type(exc).__name__}: {exc}"
            return response.status_code, None
        try:
            status = await destination(event.body, dict(event.headers))
        except Exception as exc:  # a listener's bug is a failed delivery, not ours
            return None, f"{type(exc).__name__}: {exc}"
        return 200 if status is None else status, None

    async def aclose(self) -> None:
        """Close the HTTP client used for URL deliveries."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
