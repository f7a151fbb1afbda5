"""Status transitions over time, and the webhook event each one sends.

- Application: ``submitted`` → ``approved`` after ``approval_delay``; the customer,
  if still PENDING, turns ACTIVE (``customer.active``).
- Gig / special payment: PENDING → SUCCESS after ``settle_delay`` (``*.completed``),
  or FAILED (``*.failed``) when the test asked for it (`Lifecycle.fail_next_payments`,
  `Lifecycle.fail_payment`, `FAIL_MARKER` in the description) or the customer is no
  longer ACTIVE when the payment settles.
- `Lifecycle.activate` / `Lifecycle.deactivate` switch a customer at once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final

import attrs

from lean_async.models import (
    Application,
    ApplicationStatus,
    Customer,
    CustomerStatus,
    EventType,
    Gig,
    PaymentStatus,
    SpecialPayment,
)
from lean_async.sandbox._clock import stamp
from lean_async.sandbox._scheduler import Scheduler
from lean_async.sandbox._store import Store
from lean_async.sandbox._webhooks import WebhookDispatcher

__all__ = ["FAIL_MARKER", "Lifecycle"]

FAIL_MARKER: Final = "[sandbox:fail]"
"""A description containing this makes the gig or special payment settle as FAILED."""

_EVENTS: Final = {
    (Gig, PaymentStatus.SUCCESS): EventType.GIG_COMPLETED,
    (Gig, PaymentStatus.FAILED): EventType.GIG_FAILED,
    (SpecialPayment, PaymentStatus.SUCCESS): EventType.SPECIALPAYMENT_COMPLETED,
    (SpecialPayment, PaymentStatus.FAILED): EventType.SPECIALPAYMENT_FAILED,
}


class Lifecycle:
    """Moves objects through their statuses and announces each move."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        webhooks: WebhookDispatcher,
        *,
        approval_delay: float,
        settle_delay: float,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._webhooks = webhooks
        self._approval_delay = approval_delay
        self._settle_delay = settle_delay
        self._fail_next = 0
        self._doomed: set[str] = set()  # ids of pending payments that will fail

    def submit_application(self, customer: Customer) -> Application:
        """Return the customer's application, submitting it if it is the first time."""
        current = self._store.applications.get(customer.partner_user_id)
        if current is not None:
            return current
        status = ApplicationStatus.SUBMITTED
        if customer.status == CustomerStatus.ACTIVE:
            status = ApplicationStatus.APPROVED  # nothing left to vet
        else:
            job = functools.partial(self._approve, customer.partner_user_id)
            self._scheduler.call_later(self._approval_delay, job)
        application = Application(partner_user_id=customer.partner_user_id, status=status)
        self._store.save(application)
        return application

    async def _approve(self, partner_user_id: str) -> None:
        application = self._store.applications[partner_user_id]
        self._store.save(attrs.evolve(application, status=ApplicationStatus.APPROVED))
        if self._store.customers[partner_user_id].status == CustomerStatus.PENDING:
            self.activate(partner_user_id)

    def activate(self, partner_user_id: str) -> Customer:
        """Make a customer ACTIVE now (``customer.active``); no-op if already ACTIVE.

        Raises:
            KeyError: no such customer.
        """
        return self._set_customer(partner_user_id, CustomerStatus.ACTIVE)

    def deactivate(self, partner_user_id: str) -> Customer:
        """Make a customer INACTIVE now (``customer.inactive``); no-op if already so.

        Raises:
            KeyError: no such customer.
        """
        return self._set_customer(partner_user_id, CustomerStatus.INACTIVE)

    def _set_customer(self, partner_user_id: str, status: CustomerStatus) -> Customer:
        customer = self._store.customers.get(partner_user_id)
        if customer is None:
            raise KeyError(f"no customer with partnerUserId {partner_user_id!r}")
        if customer.status == status:
            return customer
        customer = attrs.evolve(customer, status=status, updated_at=stamp(self._store.clock))
        self._store.save(customer)
        event = EventType.CUSTOMER_ACTIVE
        if status == CustomerStatus.INACTIVE:
            event = EventType.CUSTOMER_INACTIVE
        self._webhooks.emit(event, customer)
        return customer

    def payment_created(self, payment: Gig | SpecialPayment) -> None:
        """Schedule the settlement of a new payment, deciding now whether it fails."""
        if self._fail_next > 0:
            self._fail_next -= 1
            self._doomed.add(payment.id)
        if FAIL_MARKER in (payment.description or ""):
            self._doomed.add(payment.id)
        key = payment.gig_id if isinstance(payment, Gig) else payment.id
        job = functools.partial(self._settle, type(payment), key)
        self._scheduler.call_later(self._settle_delay, job)

    def fail_next_payments(self, count: int) -> None:
        """Make the next *count* payments created (gigs or special payments) fail."""
        if count < 0:
            raise ValueError("count must be >= 0")
        self._fail_next = count

    def fail_payment(self, payment_id: str) -> Gig | SpecialPayment:
        """Make a PENDING payment fail when it settles.

        Args:
            payment_id: a special payment's id, or a gig's gigId or id.

        Raises:
            KeyError: no such payment.
            ValueError: the payment has already settled.
        """
        payment = self._store.find_payment(payment_id)
        if payment is None:
            raise KeyError(f"no gig or special payment with id {payment_id!r}")
        if payment.status != PaymentStatus.PENDING:
            raise ValueError(f"payment {payment_id!r} has already settled ({payment.status})")
        self._doomed.add(payment.id)
        return payment

    async def _settle(self, kind: type[Gig | SpecialPayment], key: str) -> None:
        payments: Mapping[str, Gig | SpecialPayment]
        payments = self._store.gigs if kind is Gig else self._store.special_payments
        payment = payments[key]
        customer = self._store.customers[payment.partner_user_id or ""]
        failed = payment.id in self._doomed or customer.status != CustomerStatus.ACTIVE
        self._doomed.discard(payment.id)
        status = PaymentStatus.FAILED if failed else PaymentStatus.SUCCESS
        payment = attrs.evolve(payment, status=status, updated_at=stamp(self._store.clock))
        self._store.save(payment)
        self._webhooks.emit(_EVENTS[kind, status], payment)
