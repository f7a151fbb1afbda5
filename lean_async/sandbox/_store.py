"""The sandbox's objects, their unique keys and the checks that need the whole store.

Bodies reach this module already checked field by field against the reference's rules
(`lean_async._endpoints.validate`), and each object is built from the fields its endpoint
declares (`lean_async._endpoints.requests`); here come the rules that need state: unique keys (400,
"already exists"), references to other objects (400 on the field), and "only active
customers can receive payments" (400). An object named in the URL path and not found
is a 404 (see `_app`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from lean_async._codec.convert import StructureError, format_datetime, structure
from lean_async._endpoints.requests import CUSTOMER, GIG, SPECIAL_PAYMENT
from lean_async._endpoints.rules.body import Endpoint
from lean_async.models import (
    Application,
    Customer,
    CustomerStatus,
    Gig,
    SpecialPayment,
)
from lean_async.sandbox._clock import Clock, stamp
from lean_async.sandbox._http import HTTPError, problems_error

__all__ = ["Store"]

T = TypeVar("T")

NOT_ACTIVE: Final = "Only active customers can receive payments"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def _build(
    cls: type[T], body: Mapping[str, Any], declared: Endpoint[Any], extra: dict[str, Any]
) -> T:
    data = declared.pick(body) | extra
    try:
        return structure(data, cls)
    except StructureError as exc:
        # The rule table should have caught it; never answer a 500 for a bad body.
        raise problems_error([(exc.path.removeprefix("$."), "; ".join(exc.problems))]) from None


class Store:
    """Customers by partnerUserId, gigs by gigId, special payments by id."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.customers: dict[str, Customer] = {}
        self.applications: dict[str, Application] = {}
        self.gigs: dict[str, Gig] = {}
        self.special_payments: dict[str, SpecialPayment] = {}
        self._emails: set[str] = set()
        self._phones: set[str] = set()

    def _times(self) -> dict[str, str]:
        now = format_datetime(stamp(self.clock))
        return {"createdAt": now, "updatedAt": now}

    def add_customer(self, body: Mapping[str, Any]) -> Customer:
        """Register a PENDING customer from a checked wire body.

        Raises:
            HTTPError: 400 when partnerUserId, email or phoneNumber already exists.
        """
        customer = _build(Customer, body, CUSTOMER, {"status": "PENDING", **self._times()})
        taken = [
            (field, f"a customer with this {field} already exists")
            for field, exists in (
                ("partnerUserId", customer.partner_user_id in self.customers),
                ("email", customer.email.casefold() in self._emails),
                ("phoneNumber", customer.phone_number in self._phones),
            )
            if exists
        ]
        if taken:
            raise problems_error(taken)
        self.customers[customer.partner_user_id] = customer
        self._emails.add(customer.email.casefold())
        self._phones.add(customer.phone_number)
        return customer

    def payable_customer(self, partner_user_id: str | None) -> Customer:
        """Return the ACTIVE customer a payment names.

        Raises:
            HTTPError: 400 when there is no such customer or it is not ACTIVE.
        """
        customer = self.customers.get(partner_user_id or "")
        if customer is None:
            raise problems_error([("partnerUserId", "no customer has this partnerUserId")])
        if customer.status != CustomerStatus.ACTIVE:
            raise HTTPError(400, NOT_ACTIVE, errors=[("partnerUserId", NOT_ACTIVE)])
        return customer

    def add_gig(self, body: Mapping[str, Any]) -> Gig:
        """Record a PENDING gig from a checked wire body.

        Raises:
            HTTPError: 400 for a duplicate gigId or a customer who cannot be paid.
        """
        extra = {"id": _new_id("gig"), "status": "PENDING", "invoiceId": _new_id("invoice")}
        gig = _build(Gig, body, GIG, extra | self._times())
        if gig.gig_id in self.gigs:
            raise problems_error([("gigId", "a gig with this gigId already exists")])
        self.payable_customer(gig.partner_user_id)
        self.gigs[gig.gig_id] = gig
        return gig

    def add_special_payment(self, body: Mapping[str, Any]) -> SpecialPayment:
        """Record a PENDING special payment from a checked wire body.

        Raises:
            HTTPError: 400 for an unknown gigId, a gig of another customer, or a
                customer who cannot be paid.
        """
        extra = {
            "id": _new_id("special_payment"),
            "status": "PENDING",
            "invoiceId": _new_id("invoice"),
        }
        payment = _build(SpecialPayment, body, SPECIAL_PAYMENT, extra | self._times())
        if payment.gig_id is not None:
            gig = self.gigs.get(payment.gig_id)
            if gig is None:
                raise problems_error([("gigId", "no gig has this gigId")])
            if gig.partner_user_id != payment.partner_user_id:
                raise problems_error([("gigId", "the gig belongs to another customer")])
        self.payable_customer(payment.partner_user_id)
        self.special_payments[payment.id] = payment
        return payment

    def find_payment(self, payment_id: str) -> Gig | SpecialPayment | None:
        """Return the gig (by gigId or id) or special payment (by id) so named."""
        if payment_id in self.gigs:
            return self.gigs[payment_id]
        if payment_id in self.special_payments:
            return self.special_payments[payment_id]
        return next((g for g in self.gigs.values() if g.id == payment_id), None)

    def save(self, obj: Customer | Application | Gig | SpecialPayment) -> None:
        """Store a new version of an object under its key."""
        if isinstance(obj, Customer):
            self.customers[obj.partner_user_id] = obj
        elif isinstance(obj, Application):
            self.applications[obj.partner_user_id] = obj
        elif isinstance(obj, Gig):
            self.gigs[obj.gig_id] = obj
        else:
            self.special_payments[obj.id] = obj
