"""`lean.customers`: register workers and read their status."""

from __future__ import annotations

import datetime as dt

from lean_async._endpoints import validate as _validate
from lean_async._endpoints.requests import CUSTOMER
from lean_async._endpoints.table import CUSTOMERS_CREATE, CUSTOMERS_GET
from lean_async._telemetry import traced
from lean_async.errors import LeanError
from lean_async.models import Customer, CustomerStatus
from lean_async.resources._base import Resource
from lean_async.resources._wait import poll_until

__all__ = ["Customers"]


class Customers(Resource):
    """The Customer API."""

    __slots__ = ()

    @traced(CUSTOMERS_CREATE.name)
    async def create(
        self,
        *,
        partner_user_id: str,
        first_name: str,
        last_name: str,
        birthday: dt.date | str,
        phone_number: str,
        email: str,
        street: str,
        city: str,
        state: str,
        postal_code: str,
        registration_date: dt.date | str,
        middle_name: str | None = None,
        street2: str | None = None,
    ) -> Customer:
        """Register a worker; they start PENDING until their application is approved.

        Creating the same customer again (a retry after a lost answer, a re-run batch)
        returns the existing one; a different customer under the same
        ``partner_user_id`` raises `ConflictError`.

        Raises:
            ValidationError: an argument breaks an API rule; nothing was sent.
            ConflictError: the partner user id names a customer with other details.
            APIError: the call failed.
        """
        body = CUSTOMER.body(locals())  # the declaration picks its arguments
        lookup = CUSTOMERS_GET.path_prefix + _validate.path_segment(
            "partner_user_id", partner_user_id
        )
        return await self._client._create(
            CUSTOMERS_CREATE.path_prefix,
            body,
            lookup_path=lookup,
            cast_to=CUSTOMERS_CREATE.response,
        )

    @traced(CUSTOMERS_GET.name)
    async def get(self, partner_user_id: str) -> Customer:
        """Fetch a customer by your partner user id.

        Raises:
            NotFoundError: no such customer.
        """
        segment = _validate.path_segment("partner_user_id", partner_user_id)
        return await self._client._send(
            CUSTOMERS_GET.method,
            CUSTOMERS_GET.path_prefix + segment,
            cast_to=CUSTOMERS_GET.response,
        )

    @traced("customers.wait_until_active")
    async def wait_until_active(
        self, partner_user_id: str, *, timeout: float = 120.0, poll_interval: float = 1.0
    ) -> Customer:
        """Poll a customer until it is ACTIVE and return it.

        Sandbox approval takes about a minute on Lean's side (a second in the built-in
        sandbox); in production the worker finishes onboarding in the mobile app.
        Under the ``lean_sandbox``/``lean_client`` pytest fixtures the wait follows the
        sandbox's manual clock: each poll's sleep moves it on instead of sleeping.

        Args:
            partner_user_id: your id of the worker.
            timeout: seconds to wait in all.
            poll_interval: seconds between two reads of the customer.

        Raises:
            ValidationError: a bad id, or *timeout* / *poll_interval* not a number of
                seconds >= 0 (*poll_interval* finite); nothing was sent.
            TimeoutError: still not ACTIVE after *timeout* seconds.
            LeanError: the customer is INACTIVE (it will not turn ACTIVE).
            APIError: a read failed (``NotFoundError``: no such customer).
        """
        _validate.wait_arguments(
            "partner_user_id", partner_user_id, timeout=timeout, poll_interval=poll_interval
        )

        async def fetch() -> Customer:
            customer = await self.get(partner_user_id)
            if customer.status is CustomerStatus.INACTIVE:
                raise LeanError(f"customer {partner_user_id!r} is INACTIVE and cannot turn ACTIVE")
            return customer

        return await poll_until(
            fetch,
            lambda customer: customer.status is CustomerStatus.ACTIVE,
            timeout=timeout,
            poll_interval=poll_interval,
            describe=lambda customer: f"customer {partner_user_id!r} still {customer.status}",
        )
