"""Tests of the models and enums."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import attrs
import pytest

from lean_async.models import (
    Application,
    ApplicationStatus,
    Customer,
    CustomerStatus,
    EventType,
    Gig,
    PaymentStatus,
    SpecialPayment,
    SpecialPaymentType,
    WebhookEvent,
)

ENUMS: list[type[enum.StrEnum]] = [
    CustomerStatus,
    ApplicationStatus,
    PaymentStatus,
    SpecialPaymentType,
    EventType,
]
NOW = dt.datetime(2021, 4, 1, 19, 53, 36, tzinfo=dt.UTC)
INSTANCES: list[Any] = [
    Customer(
        partner_user_id="u",
        first_name="Jane",
        last_name="Doe",
        birthday=dt.date(1980, 12, 31),
        phone_number="4085008000",
        email="janedoe@gmail.com",
        street="700 Treehouse Drive",
        city="San Jose",
        state="CA",
        postal_code="95101",
        registration_date=dt.date(2020, 1, 1),
        status=CustomerStatus.PENDING,
    ),
    Application(partner_user_id="u", status=ApplicationStatus.SUBMITTED),
    Gig(
        id="g",
        gig_id="g",
        description="Gig Payout",
        total_amount=Decimal("15.00"),
        tips=Decimal("3.00"),
        expenses=Decimal("2.00"),
        start_time=NOW,
        end_time=NOW,
        status=PaymentStatus.PENDING,
    ),
    SpecialPayment(
        id="sp",
        partner_user_id="u",
        amount=Decimal("-4.56"),
        type=SpecialPaymentType.CORRECTION,
        status=PaymentStatus.SUCCESS,
    ),
    WebhookEvent(id="e", type=EventType.GIG_COMPLETED, data={"id": "g"}),
]


@pytest.mark.parametrize("enum_cls", ENUMS)
def test_enum_lookup_ignores_case(enum_cls: type[enum.StrEnum]) -> None:
    """Every member is found by its value in upper, lower and title case."""
    for member in enum_cls:
        for spelling in (member.value, member.value.upper(), member.value.lower(), member.title()):
            assert enum_cls(spelling) is member


@pytest.mark.parametrize("enum_cls", ENUMS)
@pytest.mark.parametrize("value", ["unknown", "", 1, None, b"PENDING", ["pending"]])
def test_enum_lookup_of_an_unknown_value_fails(enum_cls: type[enum.StrEnum], value: Any) -> None:
    """A value that is no member's, in any case, is a ValueError."""
    with pytest.raises(ValueError, match="is not a valid"):
        enum_cls(value)


def test_enum_members_are_their_strings() -> None:
    """Members compare and format as the API's own strings."""
    assert PaymentStatus.PENDING == "PENDING"
    assert f"{SpecialPaymentType.WAIT_TIME}" == "wait time"
    assert str(EventType.SPECIALPAYMENT_FAILED) == "specialpayment.failed"
    assert [m.value for m in ApplicationStatus] == ["submitted", "approved", "rejected"]


@pytest.mark.parametrize("obj", INSTANCES, ids=lambda obj: type(obj).__name__)
def test_models_are_frozen(obj: Any) -> None:
    """Assigning to any attribute of a model fails."""
    for field in attrs.fields(type(obj)):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(obj, field.name, getattr(obj, field.name))


@pytest.mark.parametrize("obj", INSTANCES, ids=lambda obj: type(obj).__name__)
def test_models_are_slotted(obj: Any) -> None:
    """A model stores nothing but its fields: even bypassing frozen, no new attribute fits."""
    with pytest.raises(AttributeError):
        object.__setattr__(obj, "not_a_field", 1)


@pytest.mark.parametrize("obj", INSTANCES, ids=lambda obj: type(obj).__name__)
def test_models_are_keyword_only(obj: Any) -> None:
    """Every field is keyword-only, so positional construction fails."""
    model = type(obj)
    assert all(field.kw_only for field in attrs.fields(model))
    values = [getattr(obj, field.name) for field in attrs.fields(model)]
    with pytest.raises(TypeError):
        model(*values)


@pytest.mark.parametrize("obj", INSTANCES, ids=lambda obj: type(obj).__name__)
def test_models_compare_and_hash_by_value(obj: Any) -> None:
    """Two models with equal fields are equal and hash alike."""
    twin = attrs.evolve(obj)
    assert twin == obj
    assert twin is not obj
    if not isinstance(obj, WebhookEvent):  # its raw/data dicts are not hashable
        assert hash(twin) == hash(obj)


def test_optional_fields_default_to_none() -> None:
    """Optional fields default to None, and WebhookEvent.raw to a fresh dict."""
    customer = INSTANCES[0]
    assert (customer.middle_name, customer.street2, customer.created_at) == (None, None, None)
    first = WebhookEvent(id="a", type="x", data={})
    second = WebhookEvent(id="b", type="x", data={})
    assert first.raw == {}
    assert first.raw is not second.raw


def test_webhook_event_repr_leaves_out_raw() -> None:
    """The raw body is kept out of a WebhookEvent's repr."""
    event = WebhookEvent(id="e", type=EventType.GIG_FAILED, data={}, raw={"secret": "body"})
    assert "secret" not in repr(event)
