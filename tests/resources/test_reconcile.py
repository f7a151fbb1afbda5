"""Reconciliation's comparison of what was sent with what the API holds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lean_async._codec.convert import unstructure
from lean_async.models import Customer, Gig, SpecialPayment
from lean_async.resources._reconcile import matches


def test_money_and_times_compare_by_value() -> None:
    """ "15.0" equals "15.00" and a Z timestamp equals its offset-less twin."""
    sent = {"totalAmount": "15.00", "startTime": "2021-03-01T21:04:04.000Z", "gigId": "g"}
    held = {"totalAmount": "15.0", "startTime": "2021-03-01T21:04:04", "gigId": "g"}
    assert matches(sent, held, Gig)


def test_fields_the_api_does_not_echo_are_skipped() -> None:
    """A sent field missing from the answer cannot disagree."""
    assert matches({"partnerUserId": "u", "gigId": "g"}, {"gigId": "g"}, Gig)


def test_any_difference_is_a_mismatch() -> None:
    """Different amounts, ids or unparseable values do not match."""
    assert not matches({"totalAmount": "15.00"}, {"totalAmount": "16.00"}, Gig)
    assert not matches({"gigId": "g"}, {"gigId": "h"}, Gig)
    assert not matches({"amount": "5.00"}, {"amount": "five"}, SpecialPayment)
    assert not matches({"endTime": "2021-03-01T21:04:04Z"}, {"endTime": "yesterday"}, Gig)


def test_the_model_types_the_comparison() -> None:
    """A field's type comes from the model: an offset timestamp equals its UTC instant."""
    sent = {"startTime": "2021-03-01T21:04:04.000Z", "totalAmount": "7"}
    held = {"startTime": "2021-03-01T23:04:04+02:00", "totalAmount": 7}
    assert matches(sent, held, Gig)
    assert not matches({"tips": "1.00"}, {"tips": "1.01"}, Gig)


def test_enum_values_compare_without_case() -> None:
    """A special payment type reads the same in any case, as the models read it."""
    assert matches({"type": "wait time"}, {"type": "WAIT TIME"}, SpecialPayment)
    assert not matches({"type": "bonus"}, {"type": "other"}, SpecialPayment)


def test_unreadable_values_equal_only_themselves() -> None:
    """Two equal values the type cannot hold match; an unreadable one never equals a typed one."""
    assert matches({"birthday": "not a date"}, {"birthday": "not a date"}, Customer)
    assert not matches({"birthday": "1980-12-31"}, {"birthday": "31/12/1980"}, Customer)


def test_fields_the_model_does_not_declare_compare_as_sent() -> None:
    """A field outside the model is compared raw."""
    assert matches({"extra": [1]}, {"extra": [1]}, Gig)
    assert not matches({"extra": [1]}, {"extra": [2]}, Gig)


@given(
    cents=st.integers(min_value=-(10**11), max_value=10**11),
    instant=st.datetimes(
        min_value=dt.datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=dt.datetime(9998, 12, 31),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
)
def test_a_gig_matches_its_own_wire_form(cents: int, instant: dt.datetime) -> None:
    """Whatever the amounts and times, the unstructured gig matches what was sent."""
    amount = Decimal(cents).scaleb(-2)
    gig = Gig(
        id="gig_1",
        gig_id="g",
        description="d",
        total_amount=amount,
        tips=amount,
        expenses=amount,
        start_time=instant,
        end_time=instant,
        status="PENDING",
    )
    held = unstructure(gig)
    sent = {key: held[key] for key in ("gigId", "totalAmount", "tips", "startTime")}
    sent["totalAmount"] = str(amount)  # "1.5" is "1.50"
    assert matches(sent, held, Gig)
    assert not matches({**sent, "tips": str(amount + 1)}, held, Gig)
