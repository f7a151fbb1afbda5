"""The Lean API's endpoints, as the reference documents them, under ``/api``.

The routes are the rows of the endpoint table (`lean_async._endpoints.table.ENDPOINTS`); this
module adds each row's handler (`API.handlers`).

Each handler is synchronous: a request is checked, committed and answered without
yielding to the event loop, so concurrent requests (even with one ``Idempotency-Key``)
can never interleave halfway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

from lean_async._codec.convert import unstructure
from lean_async._endpoints.requests import APPLICATION, CUSTOMER, GIG, SPECIAL_PAYMENT
from lean_async._endpoints.rules.body import Endpoint
from lean_async._endpoints.table import (
    APPLICATIONS_SUBMIT,
    CUSTOMERS_CREATE,
    CUSTOMERS_GET,
    ENDPOINTS,
    GIGS_CREATE,
    GIGS_GET,
    GIGS_LIST,
    SPECIAL_PAYMENTS_CREATE,
    SPECIAL_PAYMENTS_GET,
    SPECIAL_PAYMENTS_LIST,
    EndpointRow,
)
from lean_async.sandbox._http import HTTPError, Request, Response, problems_error
from lean_async.sandbox._idempotency import IdempotencyStore
from lean_async.sandbox._lifecycle import Lifecycle
from lean_async.sandbox._store import Store

__all__ = ["API", "Route"]

IDEMPOTENCY_HEADER: Final = "idempotency-key"
ID_FIELD: Final = "partnerUserId"
MISSPELLED_ID: Final = "partnerUserID"

Handler = Callable[[Request, str], Response]
T = TypeVar("T")


@attrs.frozen
class Route:
    """A matched request: its row's route (as `ROUTES` spells it) and its handler."""

    name: str
    handler: Handler
    param: str = ""

    def __call__(self, request: Request) -> Response:
        """Run the handler."""
        return self.handler(request, self.param)


def _ok(data: object) -> Response:
    return Response.json(200, unstructure(data))


def _checked(request: Request, declared: Endpoint[Any]) -> dict[str, Any]:
    """Return the request's JSON body, or answer 400 with every rule it breaks."""
    body = request.json()
    if not isinstance(body, dict):
        raise problems_error([("body", "must be a JSON object")])
    problems = declared.check(body)
    if MISSPELLED_ID in body and ID_FIELD not in body:
        # The reference's own application example spells it this way; say what to send.
        problems = [p for p in problems if p[0] != ID_FIELD]
        problems.insert(0, (MISSPELLED_ID, f"unknown field: use {ID_FIELD!r} (lower-case d)"))
    if problems:
        raise problems_error(problems)
    return body


class API:
    """Routes ``/api/...`` requests to the handlers of one sandbox."""

    def __init__(
        self,
        store: Store,
        lifecycle: Lifecycle,
        idempotency: IdempotencyStore,
        *,
        production: bool,
    ) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._idempotency = idempotency
        self.handlers: dict[EndpointRow[Any], Handler] = {
            CUSTOMERS_CREATE: self._create_customer,
            CUSTOMERS_GET: self._get_customer,
            APPLICATIONS_SUBMIT: self._submit_application,
            GIGS_CREATE: self._create_gig,
            GIGS_GET: self._get_gig,
            GIGS_LIST: self._list_gigs,
            SPECIAL_PAYMENTS_CREATE: self._create_special_payment,
            SPECIAL_PAYMENTS_GET: self._get_special_payment,
            SPECIAL_PAYMENTS_LIST: self._list_special_payments,
        }
        """Each row of the endpoint table and the handler that serves it."""
        # (collection, has an id segment) -> method -> (route name, handler)
        self._table: dict[tuple[str, bool], dict[str, tuple[str, Handler]]] = {}
        for row in ENDPOINTS:
            handler = self.handlers.get(row)
            if handler is None or (production and row.sandbox_only):
                continue  # the application API exists in the sandbox only
            methods = self._table.setdefault((row.collection, row.parameter is not None), {})
            methods[row.method] = (row.route, handler)

    def route(self, request: Request) -> Route:
        """Return the route for a request whose path starts with ``/api``.

        Raises:
            HTTPError: 404 for an unknown path, 405 for a known path and wrong method.
        """
        parts = request.segments[1:]
        if not 1 <= len(parts) <= 2 or not all(parts):
            raise HTTPError(404, "Not found")
        methods = self._table.get((parts[0], len(parts) == 2))
        if methods is None:
            raise HTTPError(404, "Not found")
        if request.method not in methods:
            allowed = ", ".join(sorted(methods))
            raise HTTPError(405, "Method not allowed", headers=[("allow", allowed)])
        name, handler = methods[request.method]
        return Route(name, handler, parts[1] if len(parts) == 2 else "")

    def _create_customer(self, request: Request, _: str) -> Response:
        body = _checked(request, CUSTOMER)
        return _ok(self._store.add_customer(body))

    def _get_customer(self, _: Request, partner_user_id: str) -> Response:
        return _ok(self._found(self._store.customers.get(partner_user_id), "customer"))

    def _submit_application(self, request: Request, _: str) -> Response:
        body = _checked(request, APPLICATION)
        partner_user_id = body.get("partnerUserId")
        customer = (
            self._store.customers.get(partner_user_id) if isinstance(partner_user_id, str) else None
        )
        if customer is None:
            raise problems_error([("partnerUserId", "no customer has this partnerUserId")])
        return _ok(self._lifecycle.submit_application(customer))

    def _create_gig(self, request: Request, _: str) -> Response:
        gig = self._store.add_gig(_checked(request, GIG))
        self._lifecycle.payment_created(gig)
        return _ok(gig)

    def _get_gig(self, _: Request, gig_id: str) -> Response:
        return _ok(self._found(self._store.gigs.get(gig_id), "gig"))

    def _list_gigs(self, _: Request, __: str) -> Response:
        return _ok(list(self._store.gigs.values()))

    def _create_special_payment(self, request: Request, _: str) -> Response:
        key = request.header(IDEMPOTENCY_HEADER)
        if key is not None:
            replay = self._idempotency.replay(key, request.body)
            if replay is not None:
                return replay
        body = _checked(request, SPECIAL_PAYMENT)
        payment = self._store.add_special_payment(body)
        self._lifecycle.payment_created(payment)
        response = _ok(payment)
        if key is not None:
            self._idempotency.record(key, request.body, response)
        return response

    def _get_special_payment(self, _: Request, payment_id: str) -> Response:
        return _ok(self._found(self._store.special_payments.get(payment_id), "special payment"))

    def _list_special_payments(self, _: Request, __: str) -> Response:
        return _ok(list(self._store.special_payments.values()))

    @staticmethod
    def _found(obj: T | None, noun: str) -> T:
        if obj is None:
            raise HTTPError(404, f"No {noun} found")
        return obj
