"""Signed webhook deliveries with retries, to URLs and in-process listeners.

Each event is serialised once to the bytes every attempt sends::

    {"id": "evt_<uuid>", "event": "gig.completed", "data": {<the gig>}, "createdAt": "<ts>"}

signed as ``x-lean-signature: base64(HMAC-SHA1(api_key, body))``. A destination that
does not answer 2xx (or raises, or times out) gets the same bytes again after
``retry_base * 2**(attempt - 1)`` seconds of sandbox time, up to ``max_retries`` times
(Lean's "retry up to 5 times": at most 6 attempts).

Like a service, the dispatcher never lets a burst of events starve the API that shares
its event loop: each destination has its own bounded queue (*max_queued* attempts) and
at most *max_in_flight* attempts in flight, through its own connection pool of that
size; a retry waits its delay on the scheduler, then queues again. An attempt that finds
its destination's queue full is given up at once (logged as such). While the API is busy
(*API_BUSY* requests per second, an import in full swing), each worker steps aside for up
to half a second before its next attempt: the API first, the deliveries right after.
With a `ManualClock` there is no queue: `Sandbox.advance` runs each attempt in order when
it falls due.

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

import asyncio
import collections
import contextlib
import datetime as dt
import enum
import functools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

import attrs
import httpx

from lean_async._codec.convert import format_datetime, unstructure
from lean_async.models import Customer, EventType, Gig, SpecialPayment, WebhookEvent
from lean_async.sandbox._clock import Clock, ManualClock, stamp
from lean_async.sandbox._poster import Poster
from lean_async.sandbox._scheduler import Scheduler
from lean_async.webhooks import SIGNATURE_HEADER, sign

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_QUEUED",
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

DEFAULT_MAX_IN_FLIGHT: Final = 8
"""Delivery attempts in flight at once to one destination."""

DEFAULT_MAX_QUEUED: Final = 100_000
"""Delivery attempts one destination's queue holds; one more is given up."""

API_BUSY: Final = 200.0
"""API requests per second at which delivery workers step aside before their next attempt."""

_YIELD_STEP: Final = 0.01
_YIELD_STEPS: Final = 50  # a worker steps aside at most 0.5 s per attempt: it never starves

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


Destination = str | WebhookListener


class APILoad(Protocol):
    """How busy the API served beside the dispatcher is."""

    @property
    def served(self) -> int:
        """Requests started so far."""
        ...

    def busy(self, rate: float) -> bool:
        """Whether requests came in at *rate* per second or more just now."""
        ...


@attrs.define(eq=False)
class _Lane:
    """One destination's queue of attempts and the workers draining it."""

    destination: Destination
    queue: collections.deque[tuple[_Event, int]] = attrs.field(factory=collections.deque)
    workers: set[asyncio.Task[None]] = attrs.field(factory=set)
    in_flight: int = 0
    poster: Poster | None = None


class WebhookDispatcher:
    """Builds, signs and delivers the sandbox's webhook events.

    Args:
        api_key: the signing key.
        clock: the sandbox's clock (a `ManualClock` delivers inline, in order).
        scheduler: runs retries when they fall due.
        retry_base: the first retry's delay; each later one waits twice as long.
        max_retries: retries after the first attempt.
        timeout: seconds a URL has to answer one attempt.
        max_in_flight: attempts in flight at once per destination.
        max_queued: attempts waiting per destination; one more is given up.

    Raises:
        ValueError: *max_in_flight* or *max_queued* is below 1.
    """

    def __init__(
        self,
        *,
        api_key: str,
        clock: Clock,
        scheduler: Scheduler,
        retry_base: float,
        max_retries: int,
        timeout: float,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        if max_in_flight < 1 or max_queued < 1:
            raise ValueError("webhook max_in_flight and max_queued must be at least 1")
        self._api_key = api_key
        self._clock = clock
        self._scheduler = scheduler
        self._retry_base = retry_base
        self._max_retries = max_retries
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._max_queued = max_queued
        self._inline = isinstance(clock, ManualClock)
        self._api: APILoad | None = None
        self._api_seen = (0.0, 0)  # (monotonic time, requests served) at the last look
        self._api_busy = False
        self._lanes: dict[Destination, _Lane] = {}
        self._waiting_retries = 0
        self.urls: list[str] = []
        self.listeners: list[WebhookListener] = []
        self.events: list[WebhookEvent] = []
        self.deliveries: list[Delivery] = []

    @property
    def pending(self) -> int:
        """Delivery attempts not yet made: queued, in flight, or waiting to be retried."""
        lanes = self._lanes.values()
        return self._waiting_retries + sum(len(lane.queue) + lane.in_flight for lane in lanes)

    def emit(self, event_type: EventType, data: Customer | Gig | SpecialPayment) -> WebhookEvent:
        """Record an event and queue its delivery to every current destination."""
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
        destinations: list[Destination] = [*self.urls, *self.listeners]
        for destination in destinations:
            if self._inline:
                self._schedule(sent, destination, attempt=1, delay=0.0)
            else:
                self._enqueue(sent, destination, 1)
        return event

    def ensure_started(self) -> None:
        """Start workers for attempts queued while no event loop was running."""
        for lane in self._lanes.values():
            self._start_workers(lane)

    def _schedule(
        self, event: _Event, destination: Destination, *, attempt: int, delay: float
    ) -> None:
        if self._inline:
            job = functools.partial(self._attempt, event, destination, attempt)
        else:
            self._waiting_retries += 1
            job = functools.partial(self._retry_due, event, destination, attempt)
        self._scheduler.call_later(delay, job)

    async def _retry_due(self, event: _Event, destination: Destination, attempt: int) -> None:
        self._waiting_retries -= 1
        self._enqueue(event, destination, attempt)

    def _enqueue(self, event: _Event, destination: Destination, attempt: int) -> None:
        lane = self._lanes.get(destination)
        if lane is None:
            lane = self._lanes[destination] = _Lane(destination)
        if len(lane.queue) >= self._max_queued:
            error = f"queue full ({self._max_queued} deliveries waiting for this destination)"
            self._record(event, destination, attempt, None, error, DeliveryAttemptOutcome.GAVE_UP)
            return
        lane.queue.append((event, attempt))
        self._start_workers(lane)

    def _start_workers(self, lane: _Lane) -> None:
        wanted = min(self._max_in_flight, len(lane.queue)) - len(lane.workers)
        if wanted <= 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: ensure_started() starts them from inside one
        for _ in range(wanted):
            worker = loop.create_task(self._drain(lane), name="lean-sandbox-webhooks")
            lane.workers.add(worker)
            worker.add_done_callback(lane.workers.discard)

    async def _drain(self, lane: _Lane) -> None:
        # A worker ends when its lane's queue is empty; _enqueue starts new ones.
        while lane.queue:
            await self._step_aside()
            if not lane.queue:  # pragma: no cover - another worker took the last one
                return
            event, attempt = lane.queue.popleft()
            lane.in_flight += 1
            try:
                await self._attempt(event, lane.destination, attempt)
            except Exception:  # pragma: no cover - _attempt turns failures into outcomes
                logger.exception("webhook delivery failed unexpectedly")
            finally:
                lane.in_flight -= 1

    def watch_api(self, api: APILoad) -> None:
        """Step aside while *api* is busy (the sandbox's app)."""
        self._api = api

    def _busy(self) -> bool:
        api = self._api
        if api is None:
            return False
        # Two views: the last few requests came close together (at once), or the rate
        # since the last look, at least a step apart, was high (across the loop's stalls).
        now, served = time.monotonic(), api.served
        then, before = self._api_seen
        if now - then >= _YIELD_STEP:
            self._api_busy = (served - before) / (now - then) >= API_BUSY
            self._api_seen = (now, served)
        return self._api_busy or api.busy(API_BUSY)

    async def _step_aside(self) -> None:
        for _ in range(_YIELD_STEPS):
            if not self._busy():
                return
            await asyncio.sleep(_YIELD_STEP)

    async def _attempt(self, event: _Event, destination: Destination, attempt: int) -> None:
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
        self._record(event, destination, attempt, status, error, outcome, retry_in)

    def _record(
        self,
        event: _Event,
        destination: Destination,
        attempt: int,
        status: int | None,
        error: str | None,
        outcome: DeliveryAttemptOutcome,
        retry_in: float | None = None,
    ) -> None:
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

    async def _send(self, destination: Destination, event: _Event) -> tuple[int | None, str | None]:
        if isinstance(destination, str):
            return await self._poster_for(destination).post(destination, event.body, event.headers)
        try:
            status = await destination(event.body, dict(event.headers))
        except Exception as exc:  # a listener's bug is a failed delivery, not ours
            return None, f"{type(exc).__name__}: {exc}"
        return 200 if status is None else status, None

    def _poster_for(self, url: str) -> Poster:
        lane = self._lanes.get(url)
        if lane is None:  # a ManualClock's attempts run inline, outside any lane
            lane = self._lanes[url] = _Lane(url)
        if lane.poster is None:
            lane.poster = Poster(connections=self._max_in_flight, timeout=self._timeout)
        return lane.poster

    async def aclose(self) -> None:
        """Stop the delivery workers (queued attempts are dropped) and close their clients."""
        workers = [worker for lane in self._lanes.values() for worker in lane.workers]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        for lane in self._lanes.values():
            if lane.poster is not None:
                poster, lane.poster = lane.poster, None
                await poster.aclose()
