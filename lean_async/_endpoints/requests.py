"""The request body of each endpoint, declared once: an attrs model and its rule row.

Each model lists its fields in argument order, each with the `Kind` that reads it;
its `Endpoint` row adds the rules across fields. From that one declaration come the
client's validation and wire body (`Endpoint.body`), the sandbox's checks
(`Endpoint.check`) and stored shape (`Endpoint.pick`); reconciliation compares through
the converter (`lean_async.resources._reconcile`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from lean_async._codec.convert import format_money
from lean_async._endpoints.rules.arguments import idempotency_key_problem
from lean_async._endpoints.rules.base import Kind, rule
from lean_async._endpoints.rules.body import Across, Beside, Endpoint
from lean_async._endpoints.rules.money import amount, exact_sum
from lean_async._endpoints.rules.objects import JSON_OBJECT, one_of
from lean_async._endpoints.rules.text import (
    EMAIL,
    IDENTIFIER,
    NAME,
    PHONE_NUMBER,
    POSTAL_CODE,
    STATE,
    TEXT,
    limited,
)
from lean_async._endpoints.rules.times import DATE, TIMESTAMP
from lean_async.models import SpecialPaymentType

__all__ = [
    "APPLICATION",
    "CUSTOMER",
    "GIG",
    "SPECIAL_PAYMENT",
    "ApplicationRequest",
    "CustomerRequest",
    "GigRequest",
    "SpecialPaymentRequest",
]

# The reference's address limits.
_STREET = Kind(limited(35))
_CITY = Kind(limited(21))
_TOTAL = amount(lambda value: value > 0, "must be greater than 0")
_NOT_NEGATIVE = amount(lambda value: value >= 0, "must not be negative")
_NOT_ZERO = amount(lambda value: value != 0, "must not be 0")


@attrs.frozen(kw_only=True)
class CustomerRequest:
    """The body of ``POST /customer``."""

    partner_user_id: str = rule(IDENTIFIER)
    first_name: str = rule(NAME)
    last_name: str = rule(NAME)
    birthday: dt.date = rule(DATE)
    phone_number: str = rule(PHONE_NUMBER)
    email: str = rule(EMAIL)
    street: str = rule(_STREET)
    city: str = rule(_CITY)
    state: str = rule(STATE)
    postal_code: str = rule(POSTAL_CODE)
    registration_date: dt.date = rule(DATE)
    middle_name: str | None = rule(NAME, optional=True)
    street2: str | None = rule(_STREET, optional=True)


@attrs.frozen(kw_only=True)
class ApplicationRequest:
    """The body of ``POST /application`` (sandbox only)."""

    partner_user_id: str = rule(IDENTIFIER)


@attrs.frozen(kw_only=True)
class GigRequest:
    """The body of ``POST /gig``."""

    partner_user_id: str = rule(IDENTIFIER)
    gig_id: str = rule(IDENTIFIER)
    total_amount: Decimal = rule(_TOTAL)
    tips: Decimal = rule(_NOT_NEGATIVE)
    expenses: Decimal = rule(_NOT_NEGATIVE)
    description: str = rule(TEXT)
    start_time: dt.datetime = rule(TIMESTAMP)
    end_time: dt.datetime = rule(TIMESTAMP)


@attrs.frozen(kw_only=True)
class SpecialPaymentRequest:
    """The body of ``POST /specialpayment``; a negative amount is a deduction."""

    partner_user_id: str = rule(IDENTIFIER)
    amount: Decimal = rule(_NOT_ZERO)
    type: SpecialPaymentType = rule(one_of(SpecialPaymentType))
    gig_id: str | None = rule(IDENTIFIER, optional=True)
    description: str | None = rule(TEXT, optional=True)
    userdata: dict[str, Any] | None = rule(JSON_OBJECT, optional=True)


def _parts_within_total(values: Mapping[str, Any]) -> str | None:
    parts = exact_sum(values["tips"], values["expenses"])
    if parts > values["total_amount"]:
        return f"must be at least tips + expenses ({format_money(parts)})"
    return None


def _end_after_start(values: Mapping[str, Any]) -> str | None:
    if values["end_time"] < values["start_time"]:
        return "must not be before the start time"
    return None


CUSTOMER: Final = Endpoint(CustomerRequest)
"""``POST /customer``."""

APPLICATION: Final = Endpoint(ApplicationRequest)
"""``POST /application``."""

GIG: Final = Endpoint(
    GigRequest,
    across=(
        Across("total_amount", ("total_amount", "tips", "expenses"), _parts_within_total),
        Across("end_time", ("start_time", "end_time"), _end_after_start),
    ),
)
"""``POST /gig``: tips + expenses never exceed the total; the end is not before the start."""

SPECIAL_PAYMENT: Final = Endpoint(
    SpecialPaymentRequest, beside=(Beside("idempotency_key", idempotency_key_problem),)
)
"""``POST /specialpayment``, whose ``Idempotency-Key`` header is checked with its body."""
