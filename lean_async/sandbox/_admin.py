"""``/_sandbox/...``: the sandbox's controls over HTTP, for a server in another process.

Same Basic auth as the API. Every route maps onto a public `Sandbox` method, and
``GET /_sandbox`` lists them all (method, path, what it does, its body) as JSON; the
table is `Admin.ROUTES` below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from lean_async._codec.convert import format_datetime, unstructure
from lean_async.sandbox._faults import (
    ConnectionReset,
    DropAfterCommit,
    Fault,
    Faults,
    Latency,
    ServerError,
)
from lean_async.sandbox._http import HTTPError, Request, Response, problems_error

if TYPE_CHECKING:
    from lean_async.sandbox._clock import Clock
    from lean_async.sandbox._webhooks import Delivery

__all__ = ["Admin", "Controls"]

_Handler = Callable[[Request, str], Awaitable[Response]]


class Controls(Protocol):
    """The `Sandbox` members the control routes call; a `Sandbox` is one.

    Typing against this protocol keeps this module below `lean_async.sandbox._sandbox`,
    which builds the `Admin`.
    """

    @property
    def clock(self) -> Clock:
        """The sandbox's clock."""
        ...

    @property
    def faults(self) -> Faults:
        """The fault rules."""
        ...

    @property
    def deliveries(self) -> Sequence[Delivery]:
        """Every webhook delivery attempt made, oldest first."""
        ...

    @property
    def webhook_urls(self) -> list[str]:
        """The registered webhook URLs."""
        ...

    def register_webhook(self, url: str) -> None:
        """Deliver every later event to *url*."""

    def activate_customer(self, partner_user_id: str) -> object:
        """Make a customer ACTIVE now."""

    def deactivate_customer(self, partner_user_id: str) -> object:
        """Make a customer INACTIVE now."""

    def fail_next_payments(self, count: int = 1) -> None:
        """Make the next *count* payments created settle as FAILED."""

    def fail_payment(self, payment_id: str) -> object:
        """Make a PENDING payment settle as FAILED."""

    async def advance(self, seconds: float = 0.0) -> None:
        """Move a manual clock on, running what falls due."""


def _fault(spec: Mapping[str, Any]) -> Fault:
    kind = spec.get("kind")
    if kind == "server_error":
        return ServerError(
            status=spec.get("status", 503),
            retry_after=spec.get("retryAfter"),
            after_commit=bool(spec.get("afterCommit", False)),
        )
    if kind == "latency":
        return Latency(float(spec["seconds"]))
    if kind == "reset":
        return ConnectionReset()
    if kind == "drop":
        return DropAfterCommit()
    raise ValueError("kind must be one of server_error, latency, reset, drop")


@attrs.frozen
class AdminRoute:
    """One control route: how it is called and what it does."""

    method: str
    path: str  # as shown, e.g. "/_sandbox/customers/{partnerUserId}/activate"
    description: str
    handler: str  # the name of the `Admin` method that serves it
    body: str | None = None  # the JSON body it takes, if any

    @property
    def key(self) -> tuple[str, str]:
        """The lookup key: method and the path after ``/_sandbox`` with ``*`` for its id."""
        parts = self.path.split("/")[2:]
        return self.method, "/".join("*" if p.startswith("{") else p for p in parts)

    def describe(self) -> dict[str, str]:
        """Return the route as ``GET /_sandbox`` lists it."""
        row = {"method": self.method, "path": self.path, "description": self.description}
        if self.body is not None:
            row["body"] = self.body
        return row


class Admin:
    """Serves ``/_sandbox/...`` for one sandbox."""

    ROUTES: Final = (
        AdminRoute("GET", "/_sandbox", "List these control routes.", "_index"),
        AdminRoute(
            "GET", "/_sandbox/webhooks", "List the registered webhook URLs.", "_list_webhooks"
        ),
        AdminRoute(
            "POST",
            "/_sandbox/webhooks",
            "Register a URL that receives every later event (signed, retried up to 5 times).",
            "_add_webhook",
            body='{"url": "http://127.0.0.1:8000/webhooks/lean"}',
        ),
        AdminRoute(
            "GET",
            "/_sandbox/deliveries",
            "Every webhook delivery attempt: event, destination, attempt, status, outcome.",
            "_deliveries",
        ),
        AdminRoute(
            "POST",
            "/_sandbox/faults",
            "Inject a fault into API routes: a 5xx, latency, a reset, or a dropped answer.",
            "_add_fault",
            body='{"kind": "server_error"|"latency"|"reset"|"drop", "route": "POST /gig", '
            '"times": 1, "skip": 0, "status": 503, "retryAfter": 1, "afterCommit": false, '
            '"seconds": 0.5}',
        ),
        AdminRoute("DELETE", "/_sandbox/faults", "Remove every injected fault.", "_clear_faults"),
        AdminRoute(
            "GET",
            "/_sandbox/requests",
            'API requests received so far, by route: {"POST /gig": 12, ...}.',
            "_requests",
        ),
        AdminRoute(
            "POST",
            "/_sandbox/advance",
            "Move a manual clock on, running approvals, settlements and deliveries due "
            "(409 on a real clock).",
            "_advance",
            body='{"seconds": 1.0}',
        ),
        AdminRoute(
            "POST",
            "/_sandbox/customers/{partnerUserId}/activate",
            "Make a customer ACTIVE now (sends customer.active).",
            "_activate",
        ),
        AdminRoute(
            "POST",
            "/_sandbox/customers/{partnerUserId}/deactivate",
            "Make a customer INACTIVE now (sends customer.inactive).",
            "_deactivate",
        ),
        AdminRoute(
            "POST",
            "/_sandbox/payments/{id}/fail",
            "Make a PENDING gig (gigId or id) or special payment settle as FAILED.",
            "_fail_payment",
        ),
        AdminRoute(
            "POST",
            "/_sandbox/fail-next",
            "Make the next N gigs or special payments created settle as FAILED.",
            "_fail_next",
            body='{"count": 1}',
        ),
    )
    """The control routes, in the order ``GET /_sandbox`` lists them."""

    def __init__(self, sandbox: Controls) -> None:
        self._sandbox = sandbox
        self._routes: dict[tuple[str, str], _Handler] = {
            route.key: getattr(self, route.handler) for route in self.ROUTES
        }

    async def handle(self, request: Request) -> Response:
        """Answer one admin request (its first segment is ``_sandbox``)."""
        parts = list(request.segments[1:])
        if parts and not parts[-1]:
            parts.pop()  # "/_sandbox/" and "/_sandbox/webhooks/" are their routes too
        param = ""
        if len(parts) == 3:
            param, parts[1] = parts[1], "*"
        handler = self._routes.get((request.method, "/".join(parts)))
        if handler is None:
            raise HTTPError(404, "Not found; GET /_sandbox lists the control routes")
        try:
            return await handler(request, param)
        except KeyError as exc:
            raise problems_error([(str(exc.args[0]), "is required")]) from None
        except (TypeError, ValueError) as exc:
            raise problems_error([("body", str(exc))]) from None

    def _spec(self, request: Request) -> Mapping[str, Any]:
        body = request.json() if request.body else {}
        if not isinstance(body, dict):
            raise TypeError("the body must be a JSON object")
        return body

    async def _index(self, _: Request, __: str) -> Response:
        return Response.json(200, {"routes": [route.describe() for route in self.ROUTES]})

    async def _list_webhooks(self, _: Request, __: str) -> Response:
        return Response.json(200, {"urls": self._sandbox.webhook_urls})

    async def _add_webhook(self, request: Request, _: str) -> Response:
        url = self._spec(request)["url"]
        try:
            self._sandbox.register_webhook(url)
        except ValueError as exc:
            raise problems_error([("url", str(exc))]) from None
        return await self._list_webhooks(request, _)

    async def _add_fault(self, request: Request, _: str) -> Response:
        spec = self._spec(request)
        rule = self._sandbox.faults.add(
            _fault(spec),
            route=spec.get("route"),
            times=spec.get("times", 1),
            skip=spec.get("skip", 0),
        )
        return Response.json(200, {"route": rule.route, "times": rule.times, "skip": rule.skip})

    async def _clear_faults(self, _: Request, __: str) -> Response:
        self._sandbox.faults.clear()
        return Response.json(200, {"rules": 0})

    async def _advance(self, request: Request, _: str) -> Response:
        seconds = float(self._spec(request).get("seconds", 0))
        try:
            await self._sandbox.advance(seconds)
        except TypeError as exc:
            raise HTTPError(409, str(exc)) from None
        return Response.json(200, {"now": format_datetime(self._sandbox.clock.now())})

    async def _activate(self, _: Request, partner_user_id: str) -> Response:
        return self._object(lambda: self._sandbox.activate_customer(partner_user_id))

    async def _deactivate(self, _: Request, partner_user_id: str) -> Response:
        return self._object(lambda: self._sandbox.deactivate_customer(partner_user_id))

    async def _fail_payment(self, _: Request, payment_id: str) -> Response:
        return self._object(lambda: self._sandbox.fail_payment(payment_id))

    async def _requests(self, _: Request, __: str) -> Response:
        return Response.json(200, self._sandbox.faults.requests)

    async def _fail_next(self, request: Request, _: str) -> Response:
        count = int(self._spec(request)["count"])
        self._sandbox.fail_next_payments(count)
        return Response.json(200, {"count": count})

    async def _deliveries(self, _: Request, __: str) -> Response:
        rows = [
            {
                "eventId": d.event_id,
                "eventType": d.event_type,
                "destination": d.destination,
                "attempt": d.attempt,
                "statusCode": d.status_code,
                "outcome": d.outcome.value,
                "error": d.error,
                "at": format_datetime(d.at),
            }
            for d in self._sandbox.deliveries
        ]
        return Response.json(200, rows)

    @staticmethod
    def _object(action: Callable[[], object]) -> Response:
        try:
            return Response.json(200, unstructure(action()))
        except KeyError as exc:
            raise HTTPError(404, str(exc).strip("'\"")) from None
        except ValueError as exc:
            raise HTTPError(409, str(exc)) from None
