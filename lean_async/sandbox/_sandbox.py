"""`Sandbox`: a stateful, in-process Lean API and the controls tests need."""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Final, Self

import httpx

from lean_async.models import Application, Customer, Gig, SpecialPayment, WebhookEvent
from lean_async.sandbox._admin import Admin
from lean_async.sandbox._api import API
from lean_async.sandbox._app import SandboxApp
from lean_async.sandbox._clock import Clock, RealClock
from lean_async.sandbox._faults import Faults
from lean_async.sandbox._forward import ASGIForwarder
from lean_async.sandbox._http import MAX_BODY, ASGIApp, Receive, Scope, Send
from lean_async.sandbox._idempotency import DAY, IdempotencyStore
from lean_async.sandbox._lifecycle import Lifecycle
from lean_async.sandbox._ratelimit import RequestRateLimit
from lean_async.sandbox._scheduler import Scheduler
from lean_async.sandbox._store import Store
from lean_async.sandbox._transport import SandboxTransport
from lean_async.sandbox._webhooks import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_QUEUED,
    Delivery,
    WebhookDispatcher,
    WebhookListener,
    check_webhook_url,
)

__all__ = ["DEFAULT_API_KEY", "Sandbox"]

DEFAULT_API_KEY: Final = "lean_sandbox_key"


class Sandbox:
    """A stateful Lean API that lives in this process (and can be served on a port).

    It is an ASGI app: use `transport` for an in-process `httpx.AsyncClient`, or
    `running_server` / `serve` for a real server. One sandbox belongs to one event loop.

    Args:
        api_key: the only API key accepted (Basic auth username) and the webhook
            signing key.
        production: behave as production: no ``POST /application`` (404); customers
            turn ACTIVE only through `activate_customer`.
        clock: `RealClock` (default: transitions happen on their own) or a
            `ManualClock` that only `advance` moves.
        approval_delay: seconds from application to approval (real Lean: ~1 minute).
        settle_delay: seconds from a gig or special payment to SUCCESS/FAILED.
        webhook_retry_base: first retry delay; each later retry waits twice as long.
        webhook_max_retries: retries after the first attempt (Lean: 5).
        webhook_timeout: seconds a webhook URL has to answer.
        idempotency_ttl: how long an ``Idempotency-Key`` is remembered (24 hours).
        max_body_size: larger request bodies are refused with 413.
        rate_limit: answer ``429`` with ``Retry-After`` to API requests above this many
            per second (None: no limit), as a rate-limited Lean would.
        rate_limit_burst: requests let through at once after a quiet spell (default:
            one second's worth, at least 1).
        webhook_max_in_flight: webhook attempts in flight at once per destination.
        webhook_max_queued: webhook attempts waiting per destination; beyond it an
            attempt is given up.

    Raises:
        ValueError: an empty *api_key*, a *rate_limit* or burst that is not positive,
            or webhook limits below 1.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        production: bool = False,
        clock: Clock | None = None,
        approval_delay: float = 1.0,
        settle_delay: float = 1.0,
        webhook_retry_base: float = 0.5,
        webhook_max_retries: int = 5,
        webhook_timeout: float = 5.0,
        idempotency_ttl: float = DAY,
        max_body_size: int = MAX_BODY,
        rate_limit: float | None = None,
        rate_limit_burst: float | None = None,
        webhook_max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        webhook_max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self._api_key = api_key
        self._production = production
        self._clock: Clock = clock if clock is not None else RealClock()
        self._scheduler = Scheduler(self._clock)
        self._store = Store(self._clock)
        self._webhooks = WebhookDispatcher(
            api_key=api_key,
            clock=self._clock,
            scheduler=self._scheduler,
            retry_base=webhook_retry_base,
            max_retries=webhook_max_retries,
            timeout=webhook_timeout,
            max_in_flight=webhook_max_in_flight,
            max_queued=webhook_max_queued,
        )
        self._lifecycle = Lifecycle(
            self._store,
            self._scheduler,
            self._webhooks,
            approval_delay=approval_delay,
            settle_delay=settle_delay,
        )
        self._faults = Faults()
        api = API(
            self._store,
            self._lifecycle,
            IdempotencyStore(self._clock, ttl=idempotency_ttl),
            production=production,
        )
        self._app = SandboxApp(
            api_key=api_key,
            api=api,
            admin=Admin(self),
            faults=self._faults,
            on_request=self._ensure_started,
            max_body=max_body_size,
            clock=self._clock,
            rate_limit=(
                None
                if rate_limit is None
                else RequestRateLimit(rate_limit, burst=rate_limit_burst, clock=self._clock)
            ),
        )

        self._webhooks.watch_api(self._app)

    def __repr__(self) -> str:
        mode = "production" if self._production else "sandbox"
        return f"<Sandbox {mode} clock={self._clock!r} customers={len(self._store.customers)}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ASGI: the sandbox is its own application."""
        await self._app(scope, receive, send)

    base_url: Final = "http://127.0.0.1/api"
    """The base URL to pair with `transport` (any host works in-process)."""

    @property
    def api_key(self) -> str:
        """The API key the sandbox accepts and signs webhooks with."""
        return self._api_key

    @property
    def production(self) -> bool:
        """Whether the sandbox behaves as production."""
        return self._production

    @property
    def clock(self) -> Clock:
        """The sandbox's clock."""
        return self._clock

    @property
    def faults(self) -> Faults:
        """The fault rules: ``sandbox.faults.add(ServerError(), route="POST /gig")``."""
        return self._faults

    @property
    def customers(self) -> Mapping[str, Customer]:
        """Customers by partnerUserId (read-only, live)."""
        return types.MappingProxyType(self._store.customers)

    @property
    def applications(self) -> Mapping[str, Application]:
        """Applications by partnerUserId (read-only, live)."""
        return types.MappingProxyType(self._store.applications)

    @property
    def gigs(self) -> Mapping[str, Gig]:
        """Gigs by gigId (read-only, live)."""
        return types.MappingProxyType(self._store.gigs)

    @property
    def special_payments(self) -> Mapping[str, SpecialPayment]:
        """Special payments by id (read-only, live)."""
        return types.MappingProxyType(self._store.special_payments)

    @property
    def events(self) -> Sequence[WebhookEvent]:
        """Every webhook event emitted, oldest first."""
        return tuple(self._webhooks.events)

    @property
    def deliveries(self) -> Sequence[Delivery]:
        """Every webhook delivery attempt made, oldest first."""
        return tuple(self._webhooks.deliveries)

    @property
    def webhook_urls(self) -> list[str]:
        """The registered webhook URLs."""
        return list(self._webhooks.urls)

    @property
    def pending_jobs(self) -> int:
        """Transitions and webhook attempts waiting for their time."""
        return self._scheduler.pending

    @property
    def pending_webhooks(self) -> int:
        """Webhook delivery attempts not made yet: queued, in flight or awaiting a retry.

        With a `ManualClock`, attempts wait in `pending_jobs` instead.
        """
        return self._webhooks.pending

    def _ensure_started(self) -> None:
        self._scheduler.ensure_started()
        self._webhooks.ensure_started()

    def transport(self) -> httpx.AsyncBaseTransport:
        """Return a new in-process transport: ``httpx.AsyncClient(transport=...)``.

        A `ConnectionReset` fault raises `httpx.ReadError` and a `DropAfterCommit`
        fault `httpx.RemoteProtocolError`, as over a real socket.
        """
        return SandboxTransport(self)

    def register_webhook(self, url: str) -> None:
        """Deliver every later event to *url* by HTTP POST (registering twice is a no-op).

        Raises:
            ValueError: *url* is not an absolute ``http(s)://`` URL with a host.
        """
        url = check_webhook_url(url)
        if url not in self._webhooks.urls:
            self._webhooks.urls.append(url)

    def unregister_webhook(self, url: str) -> None:
        """Stop delivering to *url* (scheduled retries still happen)."""
        if url in self._webhooks.urls:
            self._webhooks.urls.remove(url)

    def add_webhook_listener(self, listener: WebhookListener) -> None:
        """Deliver every later event to ``await listener(body, headers)`` in-process.

        The listener gets the raw signed body and the headers; it returns a status
        (``None`` means 200) and a non-2xx status or an exception is a failed attempt.
        """
        self._webhooks.listeners.append(listener)

    def forward_webhooks_to(self, app: ASGIApp, path: str = "/webhooks/lean") -> WebhookListener:
        """Deliver every later event to your own ASGI app, in-process (no sockets).

        ``lean_sandbox.forward_webhooks_to(app)`` in a test makes the sandbox POST each
        signed delivery to ``app`` at *path* through `httpx.ASGITransport`, as Lean would
        over HTTP: your webhook route (e.g. ``webhook_router`` from
        ``lean_async.webhooks.fastapi``) verifies and handles it. A non-2xx answer or an
        exception from the app is a failed attempt and is retried.

        Args:
            app: a FastAPI/Starlette app or any ASGI callable.
            path: the path of its webhook route.

        Returns:
            The listener; pass it to `remove_webhook_listener` to stop.

        Raises:
            ValueError: *path* does not start with ``/``.
        """
        listener = ASGIForwarder(app, path)
        self.add_webhook_listener(listener)
        return listener

    def remove_webhook_listener(self, listener: WebhookListener) -> None:
        """Stop delivering to *listener*."""
        if listener in self._webhooks.listeners:
            self._webhooks.listeners.remove(listener)

    def activate_customer(self, partner_user_id: str) -> Customer:
        """Make a customer ACTIVE now and send ``customer.active``.

        Raises:
            KeyError: no such customer.
        """
        self._scheduler.ensure_started()
        return self._lifecycle.activate(partner_user_id)

    def deactivate_customer(self, partner_user_id: str) -> Customer:
        """Make a customer INACTIVE now and send ``customer.inactive``.

        Raises:
            KeyError: no such customer.
        """
        self._scheduler.ensure_started()
        return self._lifecycle.deactivate(partner_user_id)

    def fail_next_payments(self, count: int = 1) -> None:
        """Make the next *count* gigs or special payments created settle as FAILED.

        Replaces any count set before; 0 cancels it.
        """
        self._lifecycle.fail_next_payments(count)

    def fail_payment(self, payment_id: str) -> Gig | SpecialPayment:
        """Make a PENDING payment settle as FAILED.

        Args:
            payment_id: a special payment's id, or a gig's gigId or id.

        Raises:
            KeyError: no such payment.
            ValueError: it has already settled.
        """
        return self._lifecycle.fail_payment(payment_id)

    async def advance(self, seconds: float = 0.0) -> None:
        """Move a `ManualClock` on, running every transition and delivery due meanwhile.

        ``advance()`` (0 seconds) runs what is due now, such as the webhook deliveries of
        `deactivate_customer`.

        Raises:
            TypeError: the sandbox runs on a real clock.
        """
        await self._scheduler.advance(seconds)

    async def aclose(self) -> None:
        """Stop background work (timers, deliveries in flight) and close HTTP clients."""
        await self._scheduler.aclose()
        await self._webhooks.aclose()

    async def __aenter__(self) -> Self:
        self._ensure_started()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
