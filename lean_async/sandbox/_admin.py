"""``/_sandbox/...``: the sandbox's controls over HTTP, for a server in another process.

Same Basic auth as the API. Every route maps onto a public `Sandbox` method::

    GET    /_sandbox/webhooks                          {"urls": [...]}
    POST   /_sandbox/webhooks              {"url"}     register_webhook
    POST   /_sandbox/faults                {"kind": "server_error"|"latency"|"reset"|"drop",
                                            "route", "times", "skip", "status",
                                            "retryAfter", "afterCommit", "seconds"}
    DELETE /_sandbox/faults                            faults.clear
    POST   /_sandbox/advance               {"seconds"} advance (ManualClock only, else 409)
    POST   /_sandbox/customers/{id}/activate           activate_customer
    POST   /_sandbox/customers/{id}/deactivate         deactivate_customer
    POST   /_sandbox/payments/{id}/fail                fail_payment
    POST   /_sandbox/fail-next             {"count"}   fail_next_payments
    GET    /_sandbox/deliveries                        deliveries
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from lean_async._convert import format_datetime, unstructure
from lean_async.sandbox._faults import (
    ConnectionReset,
    DropAfterCommit,
    Fault,
    Latency,
    ServerError,
)
from lean_async.sandbox._http import HTTPError, Request, Response, problems_error

if TYPE_CHECKING:
    from lean_async.sandbox._sandbox import Sandbox

__all__ = ["Admin"]

_Handler = Callable[[Request, str], Awaitable[Response]]


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


class Admin:
    """Serves ``/_sandbox/...`` for one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._routes: dict[tuple[str, str], _Handler] = {
            ("GET", "webhooks"): self._list_webhooks,
            ("POST", "webhooks"): self._add_webhook,
            ("POST", "faults"): self._add_fault,
            ("DELETE", "faults"): self._clear_faults,
            ("POST", "advance"): self._advance,
            ("POST", "customers/*/activate"): self._activate,
            ("POST", "customers/*/deactivate"): self._deactivate,
            ("POST", "payments/*/fail"): self._fail_payment,
            ("POST", "fail-next"): self._fail_next,
            ("GET", "deliveries"): self._deliveries,
        }

    async def handle(self, request: Request) -> Response:
        """Answer one admin request (its first segment is ``_sandbox``)."""
        parts = list(request.segments[1:])
        param = ""
        if len(parts) == 3:
            param, parts[1] = parts[1], "*"
        handler = self._routes.get((request.method, "/".join(parts)))
        if handler is None:
            raise HTTPError(404, "Not found")
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

    async def _list_webhooks(self, _: Request, __: str) -> Response:
        return Response.json(200, {"urls": self._sandbox.webhook_urls})

    async def _add_webhook(self, request: Request, _: str) -> Response:
        self._sandbox.register_webhook(str(self._spec(request)["url"]))
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
