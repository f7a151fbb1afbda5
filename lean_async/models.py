"""Typed models of the objects the Lean API returns, and the enums of its fields.

Models are plain frozen attrs classes with snake_case attributes and no serialisation
code; `lean_async._codec.convert` maps them to and from the API's camelCase JSON.

Enum fields are typed ``<Enum> | str``: a value the SDK knows becomes the enum member
(matched case-insensitively, since the reference writes both "PENDING" and "pending"),
and a value it does not know yet is kept as the plain string rather than failing.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from lean_async.errors import LeanError

__all__ = [
    "Application",
    "ApplicationStatus",
    "BatchResult",
    "Customer",
    "CustomerStatus",
    "EventType",
    "Gig",
    "PaymentStatus",
    "SpecialPayment",
    "SpecialPaymentType",
    "WebhookEvent",
]


class _CaseInsensitiveEnum(enum.StrEnum):
    """A string enum whose lookup by value ignores case."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            folded = value.casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return None


class CustomerStatus(_CaseInsensitiveEnum):
    """Whether a customer can receive payments."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class ApplicationStatus(_CaseInsensitiveEnum):
    """Where a (sandbox) onboarding application stands."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class PaymentStatus(_CaseInsensitiveEnum):
    """Where a gig payout or special payment stands."""

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class SpecialPaymentType(_CaseInsensitiveEnum):
    """What a special payment is for."""

    BONUS = "bonus"
    REIMBURSEMENT = "reimbursement"
    CANCELLATION = "cancellation"
    WAIT_TIME = "wait time"
    CORRECTION = "correction"
    FLAGGED = "flagged"
    OTHER = "other"


class EventType(_CaseInsensitiveEnum):
    """The webhook events Lean sends."""

    CUSTOMER_ACTIVE = "customer.active"
    CUSTOMER_INACTIVE = "customer.inactive"
    GIG_COMPLETED = "gig.completed"
    GIG_FAILED = "gig.failed"
    SPECIALPAYMENT_COMPLETED = "specialpayment.completed"
    SPECIALPAYMENT_FAILED = "specialpayment.failed"


@attrs.frozen(kw_only=True)
class Customer:
    """A worker registered with Lean who can receive payouts once ACTIVE."""

    partner_user_id: str
    first_name: str
    last_name: str
    birthday: dt.date
    phone_number: str
    email: str
    street: str
    city: str
    state: str
    postal_code: str
    registration_date: dt.date
    status: CustomerStatus | str
    middle_name: str | None = None
    street2: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class Application:
    """A customer's onboarding application (sandbox only)."""

    partner_user_id: str
    status: ApplicationStatus | str


@attrs.frozen(kw_only=True)
class Gig:
    """A unit of paid work and the payout it triggers.

    The API's example response carries no ``partnerUserId``, so it is optional here.
    """

    id: str
    gig_id: str
    description: str
    total_amount: Decimal
    tips: Decimal
    expenses: Decimal
    start_time: dt.datetime
    end_time: dt.datetime
    status: PaymentStatus | str
    partner_user_id: str | None = None
    invoice_id: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class SpecialPayment:
    """An ad-hoc payment to (positive amount) or from (negative amount) a customer."""

    id: str
    partner_user_id: str
    amount: Decimal
    type: SpecialPaymentType | str
    status: PaymentStatus | str
    description: str | None = None
    gig_id: str | None = None
    userdata: dict[str, Any] | None = None
    invoice_id: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """A verified webhook delivery.

    A correctly signed delivery is never refused for its shape: what does not fit the
    SDK's models is handed over as received and listed in ``problems``. Tell a typed
    object from a raw mapping with ``isinstance(event.data, Gig)`` (or `Customer`,
    `SpecialPayment`).

    Attributes:
        id: the delivery's identity for de-duplication: the body's ``id`` when it has
            one, else the SHA-256 hex digest of the raw body (Lean's retries resend the
            same bytes).
        type: the event type; an unknown type is kept as its string.
        data: the typed object when the event type is known and its ``data`` fits the
            model; otherwise the raw ``data`` mapping (``{}`` when it is missing or
            not a JSON object).
        created_at: when the event happened, if the body says so in a timestamp
            (None when absent or unreadable; the raw value stays in ``raw``).
        raw: the whole decoded JSON body.
        problems: what did not fit, each ``"<what> @ <JSON path>"`` (e.g.
            ``"required field missing @ $.data.firstName"``); empty when all fit.
    """

    id: str
    type: EventType | str
    data: Customer | Gig | SpecialPayment | dict[str, Any]
    created_at: dt.datetime | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False)
    problems: tuple[str, ...] = ()


_T_co = TypeVar("_T_co", covariant=True)


@attrs.frozen(kw_only=True)
class BatchResult(Generic[_T_co]):
    """The outcome of one item of a ``create_many`` batch.

    Attributes:
        index: the item's position in the batch's items, from 0.
        item: the item as it was given (a mapping of ``create()`` arguments, or
            whatever non-mapping was given in its place).
        value: the created model (`Gig`, `SpecialPayment`) when the call succeeded.
        error: the `LeanError` that ended the call otherwise: a `ValidationError`
            (nothing was sent) or an `APIError` (which carries the idempotency key).
        created: whether this call paid (True) or found the payment already there
            (False: a re-run, another process, an earlier call with the same key); None
            when the call failed or Lean's answer could not tell (no ``Date`` header).
            Told from the call and Lean's own clock, never this machine's; a payment
            someone else made within the second before the call started may count as
            paid by it (README "Created or already there").
    """

    index: int
    item: Any = attrs.field(repr=False)
    value: _T_co | None = None
    error: LeanError | None = None
    created: bool | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (``value`` is set, ``error`` is None)."""
        return self.error is None
