"""Tests of the rule table: wire checks, client-side body builders and path segments."""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
import json
import string
import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_async._endpoints import validate as _validate
from lean_async._endpoints.requests import APPLICATION, CUSTOMER, GIG, SPECIAL_PAYMENT
from lean_async._endpoints.rules.body import Endpoint
from lean_async._endpoints.table import ENDPOINTS
from lean_async._endpoints.validate import (
    application_body,
    check_application,
    check_customer,
    check_gig,
    check_special_payment,
    customer_body,
    gig_body,
    path_segment,
    special_payment_body,
)
from lean_async.errors import ValidationError
from lean_async.models import SpecialPaymentType
from tests.garbage import ANYTHING

FAST = settings(max_examples=150, deadline=None)
UTC = dt.UTC
START = dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC)
END = dt.datetime(2021, 3, 1, 21, 31, 5, tzinfo=UTC)
NAIVE_START = START.replace(tzinfo=None)

# The request bodies of the reference's own examples.
REFERENCE_CUSTOMER = {
    "firstName": "Jane",
    "lastName": "Doe",
    "birthday": "1980-12-31",
    "phoneNumber": "4085008000",
    "email": "janedoe@gmail.com",
    "street": "700 Treehouse Drive",
    "city": "San Jose",
    "state": "CA",
    "postalCode": "95101",
    "partnerUserId": "uid_847834395730535",
    "registrationDate": "2020-01-01",
}
REFERENCE_APPLICATION = {"partnerUserId": "uid_847834395730535"}
REFERENCE_GIG = {
    "partnerUserId": "uid_847834395730535",
    "totalAmount": "15.00",
    "description": "Gig Payout",
    "gigId": "gigId_94792357823953532",
    "startTime": "2021-03-01T21:04:04",
    "endTime": "2021-03-01T21:31:05",
    "tips": "3.00",
    "expenses": "2.00",
}
REFERENCE_SPECIAL_PAYMENT = {
    "partnerUserId": "uid_847834395730535",
    "amount": "4.56",
    "type": "reimbursement",
    "gigId": "gigId_94792357823953532",
    "description": "Parking receipt from 3/1/2021",
    "userdata": {"receiptId": "receipt_4242551"},
}

CUSTOMER_ARGS: dict[str, Any] = {
    "partner_user_id": "uid_847834395730535",
    "first_name": "Jane",
    "last_name": "Doe",
    "birthday": dt.date(1980, 12, 31),
    "phone_number": "4085008000",
    "email": "janedoe@gmail.com",
    "street": "700 Treehouse Drive",
    "city": "San Jose",
    "state": "CA",
    "postal_code": "95101",
    "registration_date": dt.date(2020, 1, 1),
}
GIG_ARGS: dict[str, Any] = {
    "partner_user_id": "uid_847834395730535",
    "gig_id": "gigId_94792357823953532",
    "total_amount": "15.00",
    "tips": "3.00",
    "expenses": "2.00",
    "description": "Gig Payout",
    "start_time": START,
    "end_time": END,
}
SPECIAL_PAYMENT_ARGS: dict[str, Any] = {
    "partner_user_id": "uid_847834395730535",
    "amount": "4.56",
    "type": "reimbursement",
}

DECLARED: list[Endpoint[Any]] = [row.request for row in ENDPOINTS if row.request is not None]
"""Every request declaration of the endpoint table."""

CHECKS: list[Callable[[object], list[tuple[str, str]]]] = [declared.check for declared in DECLARED]


def errors_of(builder: Callable[..., object], **kwargs: Any) -> list[tuple[str, str]]:
    """Return the problems *builder* raises for *kwargs*, failing if it raises none."""
    with pytest.raises(ValidationError) as info:
        builder(**kwargs)
    return info.value.errors


def only_error(builder: Callable[..., object], **kwargs: Any) -> tuple[str, str]:
    """Return the single problem *builder* raises for *kwargs*."""
    errors = errors_of(builder, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


# --- the reference's own bodies ---------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "body"),
    [
        (check_customer, REFERENCE_CUSTOMER),
        (check_application, REFERENCE_APPLICATION),
        (check_gig, REFERENCE_GIG),
        (check_special_payment, REFERENCE_SPECIAL_PAYMENT),
    ],
)
def test_reference_request_bodies_pass(
    check: Callable[[object], list[tuple[str, str]]], body: dict[str, Any]
) -> None:
    """Every request body shown in the reference passes its wire check."""
    assert check(body) == []


def test_reference_application_typo_is_reported() -> None:
    """The reference's curl sends ``partnerUserID``, which is not the field's name."""
    assert check_application({"partnerUserID": "uid_847834395730535"}) == [
        ("partnerUserId", "is required")
    ]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("body", [None, [], "{}", 3, 2.5, True, [{"partnerUserId": "u"}]])
def test_check_of_a_non_object_body(
    check: Callable[[object], list[tuple[str, str]]], body: object
) -> None:
    """A body that is not a JSON object is one problem on ``body``."""
    assert check(body) == [("body", "must be a JSON object")]


def test_check_reports_every_missing_field_in_order() -> None:
    """An empty gig body names every required field, in argument order."""
    assert check_gig({}) == [
        (name, "is required")
        for name in [
            "partnerUserId",
            "gigId",
            "totalAmount",
            "tips",
            "expenses",
            "description",
            "startTime",
            "endTime",
        ]
    ]


def test_check_treats_null_as_missing() -> None:
    """A required field sent as null is missing; optional ones may be null."""
    body = {**REFERENCE_CUSTOMER, "middleName": None, "street2": None, "city": None}
    assert check_customer(body) == [("city", "is required")]


def test_special_payment_optional_fields_may_be_absent_or_null() -> None:
    """gigId, description and userdata are optional on the wire."""
    minimal = {"partnerUserId": "u", "amount": "-1.00", "type": "other"}
    assert check_special_payment(minimal) == []
    nulls = {**minimal, "gigId": None, "description": None, "userdata": None}
    assert check_special_payment(nulls) == []


# --- wire-level rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("firstName", 7, "must be a string"),
        ("firstName", "", "must not be blank"),
        ("lastName", "   ", "must not be blank"),
        ("firstName", "J" * 41, "at most 40 printable ASCII characters (got 41)"),
        ("lastName", "Zoë", "at most 40 printable ASCII characters (found 'ë')"),
        ("lastName", "Doe\t", "printable ASCII"),
        ("middleName", "M" * 41, "at most 40 printable ASCII"),
        ("email", "a" * 39 + "@example.com", "at most 50 characters (got 51)"),
        ("email", "janedoe", "email address"),
        ("email", "jane@doe", "email address"),
        ("email", "jane@@doe.com", "email address"),
        ("email", "@doe.com", "email address"),
        ("email", "jane doe@doe.com", "email address"),
        ("email", "jane@.com", "email address"),
        ("email", "jane@doe.com.", "email address"),
        ("email", "ja\x00ne@doe.com", "email address"),
        ("street", "s" * 36, "at most 35 characters (got 36)"),
        ("street2", "s" * 36, "at most 35 characters (got 36)"),
        ("street2", "", "must not be blank"),
        ("city", "c" * 22, "at most 21 characters (got 22)"),
        ("state", "ca", "must be upper case: 'CA'"),
        ("state", "ZZ", "US two-letter state code"),
        ("state", "CAL", "US two-letter state code"),
        ("state", 5, "must be a string"),
        ("postalCode", "9510", "ZIP code"),
        ("postalCode", "951011", "ZIP code"),
        ("postalCode", "95101-123", "ZIP code"),
        ("postalCode", "95101 1234", "ZIP code"),
        ("postalCode", "95101\n", "ZIP code"),
        ("postalCode", "\uff19\uff15\uff11\uff10\uff11", "ZIP code"),
        ("postalCode", 95101, "must be a string"),
        ("phoneNumber", "408500800", "10 to 15 digits"),
        ("phoneNumber", "1" * 16, "10 to 15 digits"),
        ("phoneNumber", "408-500-800x", "10 to 15 digits"),
        ("phoneNumber", "\u0664\u0660\u0668\u0665\u0660\u0660\u0668\u0660\u0660\u0660", "digits"),
        ("phoneNumber", 4085008000, "must be a string"),
        ("birthday", "1980-13-01", "YYYY-MM-DD"),
        ("birthday", "1980-02-30", "YYYY-MM-DD"),
        ("birthday", "19801231", "YYYY-MM-DD"),
        ("birthday", "1980-12-31T00:00:00", "YYYY-MM-DD"),
        ("registrationDate", 20200101, "YYYY-MM-DD"),
        ("partnerUserId", ["u"], "must be a string"),
    ],
)
def test_customer_wire_rule(field: str, value: object, message: str) -> None:
    """Each customer rule reports its field with a clear message."""
    [(got_field, got_message)] = check_customer({**REFERENCE_CUSTOMER, field: value})
    assert got_field == field
    assert message in got_message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", "J" * 40),
        ("middleName", "O'Neil-Smith Jr."),
        ("lastName", string.printable[:-5][:40]),
        ("email", "a" * 38 + "@example.com"),
        ("email", "jane.doe+lean@mail.example.co.uk"),
        ("street", "s" * 35),
        ("street2", "Apt 4"),
        ("city", "c" * 21),
        ("state", "DC"),
        ("state", "PR"),
        ("state", "AE"),
        ("postalCode", "95101-1234"),
        ("phoneNumber", "+1 (408) 500-8000"),
        ("phoneNumber", "408.500.8000"),
        ("phoneNumber", "1" * 15),
        ("birthday", "2000-02-29"),
    ],
)
def test_customer_wire_value_accepted(field: str, value: object) -> None:
    """Values at the edge of each customer rule are accepted."""
    assert check_customer({**REFERENCE_CUSTOMER, field: value}) == []


def test_every_listed_state_code_is_accepted() -> None:
    """All 50 states, DC, the five territories and military mail codes pass."""
    assert len(_validate.US_STATES) == 59
    for code in _validate.US_STATES:
        assert check_customer({**REFERENCE_CUSTOMER, "state": code}) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("totalAmount", 15, "not a JSON number"),
        ("totalAmount", 15.0, "not a JSON number"),
        ("tips", True, "not a JSON number"),
        ("expenses", ["2.00"], "decimal string"),
        ("totalAmount", "0", "must be greater than 0"),
        ("totalAmount", "0.00", "must be greater than 0"),
        ("totalAmount", "-15.00", "must be greater than 0"),
        ("totalAmount", "15.001", "at most 2 decimal places"),
        ("totalAmount", "1e2", "decimal string"),
        ("totalAmount", "NaN", "decimal string"),
        ("totalAmount", "Infinity", "decimal string"),
        ("totalAmount", " 15.00", "decimal string"),
        ("totalAmount", "+15.00", "decimal string"),
        ("totalAmount", "15.", "decimal string"),
        ("totalAmount", "\u0661\u0665", "decimal string"),
        ("tips", "-0.01", "must not be negative"),
        ("expenses", "-2", "must not be negative"),
        ("description", "", "must not be blank"),
        ("gigId", None, "is required"),
        ("startTime", "2021-03-01", "ISO 8601 timestamp"),
        ("startTime", "2021-03-01 21:04:04", "ISO 8601 timestamp"),
        ("startTime", "2021-02-30T21:04:04", "ISO 8601 timestamp"),
        ("startTime", "2021-03-01T21:04:04z", "ISO 8601 timestamp"),
        ("startTime", "0001-01-01T00:00:00+01:00", "ISO 8601 timestamp"),
        ("endTime", 1614634265, "ISO 8601 timestamp"),
    ],
)
def test_gig_wire_rule(field: str, value: object, message: str) -> None:
    """Each gig rule reports its field with a clear message."""
    [(got_field, got_message)] = check_gig({**REFERENCE_GIG, field: value})
    assert got_field == field
    assert message in got_message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("totalAmount", "15"),
        ("totalAmount", "15.5"),
        ("totalAmount", "15.500"),
        ("totalAmount", "0015.00"),
        ("tips", "0"),
        ("tips", "-0.00"),
        ("expenses", "0.00"),
        ("startTime", "2021-03-01T21:04:04Z"),
        ("startTime", "2021-03-01T21:04:04.123Z"),
        ("startTime", "2021-03-01T23:04:04+02:00"),
        ("startTime", "2021-03-01T21:04:04.123456789+0000"),
        ("endTime", "2021-03-01T21:04:04"),
    ],
)
def test_gig_wire_value_accepted(field: str, value: object) -> None:
    """Amounts in whole cents and ISO timestamps with or without an offset pass."""
    assert check_gig({**REFERENCE_GIG, field: value}) == []


def test_gig_wire_parts_may_not_exceed_total() -> None:
    """tips + expenses above the total is a problem on totalAmount; equal is fine."""
    assert check_gig({**REFERENCE_GIG, "totalAmount": "5.00"}) == []
    assert check_gig({**REFERENCE_GIG, "totalAmount": "4.99"}) == [
        ("totalAmount", "must be at least tips + expenses (5.00)")
    ]


def test_gig_wire_sum_is_exact_at_the_ceiling() -> None:
    """The sum is exact at the ceiling, whatever the thread's decimal context says."""
    top = str(_validate.MAX_AMOUNT)
    body = {**REFERENCE_GIG, "totalAmount": top, "tips": top, "expenses": "0.01"}
    with decimal.localcontext(decimal.Context(prec=5)):
        assert check_gig(body) == [
            ("totalAmount", "must be at least tips + expenses (1000000000.00)")
        ]


def test_gig_wire_end_before_start() -> None:
    """endTime before startTime is a problem, comparing instants across offsets."""
    body = {
        **REFERENCE_GIG,
        "startTime": "2021-03-01T21:00:00Z",
        "endTime": "2021-03-01T22:00:00+02:00",
    }
    assert check_gig(body) == [("endTime", "must not be before the start time")]
    assert check_gig({**body, "endTime": "2021-03-01T21:00:00"}) == []


def test_gig_wire_cross_rules_skip_invalid_fields() -> None:
    """A cross-field rule is not run when one of its fields is already wrong."""
    body = {**REFERENCE_GIG, "totalAmount": "1.00", "tips": "x", "endTime": "late"}
    assert [field for field, _ in check_gig(body)] == ["tips", "endTime"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "0", "must not be 0"),
        ("amount", "-0.00", "must not be 0"),
        ("amount", 4.56, "not a JSON number"),
        ("amount", "4.567", "at most 2 decimal places"),
        ("type", "tip", "must be one of: bonus, reimbursement, cancellation, wait time"),
        ("type", "", "must be one of"),
        ("type", 3, "must be one of"),
        ("gigId", "", "must not be blank"),
        ("gigId", 12, "must be a string"),
        ("description", "  ", "must not be blank"),
        ("userdata", ["receipt"], "must be a JSON object"),
        ("userdata", "{}", "must be a JSON object"),
        ("userdata", {"a": float("nan")}, "only JSON values"),
        ("userdata", {"a": float("inf")}, "only JSON values"),
    ],
)
def test_special_payment_wire_rule(field: str, value: object, message: str) -> None:
    """Each special payment rule reports its field with a clear message."""
    [(got_field, got_message)] = check_special_payment({**REFERENCE_SPECIAL_PAYMENT, field: value})
    assert got_field == field
    assert message in got_message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-4.56"),
        ("amount", "0.01"),
        ("type", "WAIT TIME"),
        ("type", "Bonus"),
        ("userdata", {}),
        ("userdata", {"a": [1, 2.5, None, True, {"b": "c"}]}),
    ],
)
def test_special_payment_wire_value_accepted(field: str, value: object) -> None:
    """Negative amounts, types in any case and nested JSON userdata pass."""
    assert check_special_payment({**REFERENCE_SPECIAL_PAYMENT, field: value}) == []


@pytest.mark.parametrize("type_", list(SpecialPaymentType))
def test_every_special_payment_type_is_accepted(type_: SpecialPaymentType) -> None:
    """Every documented type passes the wire check."""
    assert check_special_payment({**REFERENCE_SPECIAL_PAYMENT, "type": type_.value}) == []


def test_application_wire_rules() -> None:
    """An application needs a non-blank string partnerUserId."""
    assert check_application({"partnerUserId": " "}) == [("partnerUserId", "must not be blank")]
    assert check_application({"partnerUserId": 5}) == [("partnerUserId", "must be a string")]


def test_check_ignores_unknown_fields() -> None:
    """Fields the table does not know are left to the caller (the sandbox tolerates them)."""
    assert check_application({**REFERENCE_APPLICATION, "extra": [1]}) == []


# --- client-side builders: customer -----------------------------------------------------


def test_customer_body_is_the_wire_body() -> None:
    """A valid customer becomes the camelCase body, dates as ISO strings, None omitted."""
    assert customer_body(**CUSTOMER_ARGS) == REFERENCE_CUSTOMER
    body = customer_body(**CUSTOMER_ARGS, middle_name="Q", street2="Apt 4")
    assert body["middleName"] == "Q"
    assert body["street2"] == "Apt 4"


def test_customer_body_accepts_iso_date_strings() -> None:
    """Dates may be given as ``YYYY-MM-DD`` strings."""
    args = {**CUSTOMER_ARGS, "birthday": "1980-12-31", "registration_date": "2020-01-01"}
    assert customer_body(**args) == REFERENCE_CUSTOMER


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"first_name": "J" * 41}, "first_name", "at most 40 printable ASCII"),
        ({"middle_name": "M" * 41}, "middle_name", "at most 40 printable ASCII"),
        ({"last_name": "Doé"}, "last_name", "at most 40 printable ASCII"),
        ({"first_name": 42}, "first_name", "must be a string"),
        ({"first_name": None}, "first_name", "is required"),
        ({"email": "a" * 39 + "@example.com"}, "email", "at most 50 characters"),
        ({"street": "s" * 36}, "street", "at most 35 characters"),
        ({"street2": "s" * 36}, "street2", "at most 35 characters"),
        ({"city": "c" * 22}, "city", "at most 21 characters"),
        ({"state": "ZZ"}, "state", "US two-letter state code"),
        ({"postal_code": "9510"}, "postal_code", "ZIP code"),
        ({"phone_number": "555-1234"}, "phone_number", "10 to 15 digits"),
        ({"birthday": dt.datetime(1980, 12, 31, tzinfo=UTC)}, "birthday", "not a datetime"),
        ({"birthday": "31/12/1980"}, "birthday", "YYYY-MM-DD"),
        ({"birthday": 19801231}, "birthday", "date or a 'YYYY-MM-DD' string"),
        ({"registration_date": "2021-02-29"}, "registration_date", "YYYY-MM-DD"),
    ],
)
def test_customer_body_rule(changes: dict[str, Any], field: str, message: str) -> None:
    """Each customer rule is reported under the Python argument's name."""
    got_field, got_message = only_error(customer_body, **{**CUSTOMER_ARGS, **changes})
    assert got_field == field
    assert message in got_message


def test_customer_body_reports_every_problem_in_argument_order() -> None:
    """All bad arguments are reported together, in the order of the signature."""
    bad: dict[str, Any] = {
        "partner_user_id": "",
        "first_name": "J" * 41,
        "last_name": 3,
        "birthday": dt.datetime(1980, 1, 1, tzinfo=UTC),
        "phone_number": "123",
        "email": "nobody",
        "street": "s" * 36,
        "city": "c" * 22,
        "state": "ca",
        "postal_code": "9510",
        "registration_date": "2020-13-01",
        "middle_name": "\u00e9",
        "street2": "",
    }
    errors = errors_of(customer_body, **bad)
    assert [field for field, _ in errors] == list(inspect.signature(customer_body).parameters)
    with pytest.raises(ValidationError, match=r"^13 invalid fields: partner_user_id: "):
        customer_body(**bad)


# --- client-side builders: application --------------------------------------------------


def test_application_body() -> None:
    """An application body carries only the partner user id."""
    assert application_body("uid_1") == {"partnerUserId": "uid_1"}
    assert only_error(application_body, partner_user_id="") == (
        "partner_user_id",
        "must not be blank",
    )
    assert only_error(application_body, partner_user_id=None) == ("partner_user_id", "is required")


# --- client-side builders: gig ----------------------------------------------------------


def test_gig_body_is_the_wire_body() -> None:
    """A valid gig becomes the camelCase body with two-decimal amounts and UTC times."""
    assert gig_body(**GIG_ARGS) == {
        **REFERENCE_GIG,
        "startTime": "2021-03-01T21:04:04.000Z",
        "endTime": "2021-03-01T21:31:05.000Z",
    }


@pytest.mark.parametrize(
    ("amount", "wire"),
    [
        ("15", "15.00"),
        ("15.5", "15.50"),
        ("0.01", "0.01"),
        (15, "15.00"),
        (Decimal("15"), "15.00"),
        (Decimal("15.5"), "15.50"),
        (Decimal("15.500"), "15.50"),
        (Decimal("1.5E+1"), "15.00"),
        ("999999999.99", "999999999.99"),
        (999_999_999, "999999999.00"),
        (Decimal("9.9999999999E+8"), "999999999.99"),
        ("000000000000000000000000015.000", "15.00"),
    ],
)
def test_gig_body_money_goes_out_with_two_decimals(amount: object, wire: str) -> None:
    """Decimal, int and decimal strings go out as exact two-decimal strings."""
    args = {**GIG_ARGS, "total_amount": amount, "tips": 0, "expenses": 0}
    assert gig_body(**args)["totalAmount"] == wire


def test_gig_body_times_go_out_in_utc_milliseconds() -> None:
    """Aware times in any zone go out in UTC, truncated to milliseconds."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    start = dt.datetime(2021, 3, 1, 23, 4, 4, 123999, tzinfo=plus_two)
    body = gig_body(**{**GIG_ARGS, "start_time": start})
    assert body["startTime"] == "2021-03-01T21:04:04.123Z"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"total_amount": 15.0}, "total_amount", "floats lose cents; pass a Decimal or a string"),
        ({"tips": 0.1}, "tips", "floats lose cents"),
        ({"total_amount": True}, "total_amount", "not a bool"),
        ({"expenses": False}, "expenses", "not a bool"),
        ({"total_amount": [15]}, "total_amount", "must be a Decimal, an int or"),
        ({"total_amount": "15.001"}, "total_amount", "at most 2 decimal places"),
        ({"total_amount": Decimal("15.001")}, "total_amount", "never rounded"),
        ({"tips": Decimal("0.005")}, "tips", "at most 2 decimal places"),
        ({"total_amount": "fifteen"}, "total_amount", "decimal string such as '15.00'"),
        ({"total_amount": "1e3"}, "total_amount", "decimal string"),
        ({"total_amount": Decimal("NaN")}, "total_amount", "finite"),
        ({"total_amount": Decimal("-Infinity")}, "total_amount", "finite"),
        ({"total_amount": Decimal("sNaN")}, "total_amount", "finite"),
        ({"total_amount": "0"}, "total_amount", "must be greater than 0"),
        ({"total_amount": 0}, "total_amount", "must be greater than 0"),
        ({"tips": "-0.01"}, "tips", "must not be negative"),
        ({"expenses": -1}, "expenses", "must not be negative"),
        ({"total_amount": "4.99"}, "total_amount", "must be at least tips + expenses (5.00)"),
        ({"start_time": NAIVE_START}, "start_time", "must be timezone-aware"),
        ({"end_time": "2021-03-01T21:31:05Z"}, "end_time", "must be a timezone-aware datetime"),
        ({"end_time": dt.date(2021, 3, 2)}, "end_time", "must be a timezone-aware datetime"),
        ({"end_time": START - dt.timedelta(seconds=1)}, "end_time", "not be before the start"),
        ({"description": ""}, "description", "must not be blank"),
        ({"gig_id": None}, "gig_id", "is required"),
    ],
)
def test_gig_body_rule(changes: dict[str, Any], field: str, message: str) -> None:
    """Each gig rule is reported under the Python argument's name."""
    got_field, got_message = only_error(gig_body, **{**GIG_ARGS, **changes})
    assert got_field == field
    assert message in got_message


def test_gig_body_boundaries_accepted() -> None:
    """Zero tips and expenses, parts equal to the total and end == start are fine."""
    body = gig_body(
        **{**GIG_ARGS, "tips": 0, "expenses": "0", "total_amount": "0.01", "end_time": START}
    )
    assert (body["tips"], body["expenses"], body["totalAmount"]) == ("0.00", "0.00", "0.01")
    assert gig_body(**{**GIG_ARGS, "total_amount": "5.00"})["totalAmount"] == "5.00"


def test_gig_body_time_out_of_range_in_utc() -> None:
    """A time that cannot be expressed in UTC is a problem, not an OverflowError."""
    early = dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))
    got_field, got_message = only_error(gig_body, **{**GIG_ARGS, "start_time": early})
    assert (got_field, got_message) == ("start_time", "is out of range once converted to UTC")


def test_gig_body_reports_every_problem_together() -> None:
    """Float money, naive times and bad amounts all come back in one error."""
    errors = errors_of(
        gig_body,
        **{
            **GIG_ARGS,
            "total_amount": 15.0,
            "tips": "-1",
            "expenses": "1.234",
            "start_time": NAIVE_START,
            "end_time": None,
        },
    )
    assert [field for field, _ in errors] == [
        "total_amount",
        "tips",
        "expenses",
        "start_time",
        "end_time",
    ]


# --- client-side builders: special payment ----------------------------------------------


def test_special_payment_body_is_the_wire_body() -> None:
    """A full special payment becomes the reference's request body."""
    body = special_payment_body(
        **SPECIAL_PAYMENT_ARGS,
        gig_id="gigId_94792357823953532",
        description="Parking receipt from 3/1/2021",
        userdata={"receiptId": "receipt_4242551"},
    )
    assert body == REFERENCE_SPECIAL_PAYMENT


def test_special_payment_body_omits_none() -> None:
    """Optional arguments left as None are not sent."""
    assert special_payment_body(**SPECIAL_PAYMENT_ARGS) == {
        "partnerUserId": "uid_847834395730535",
        "amount": "4.56",
        "type": "reimbursement",
    }


@pytest.mark.parametrize(
    ("type_", "wire"),
    [
        (SpecialPaymentType.WAIT_TIME, "wait time"),
        ("WAIT TIME", "wait time"),
        ("Bonus", "bonus"),
        ("correction", "correction"),
    ],
)
def test_special_payment_body_type(type_: object, wire: str) -> None:
    """The type is a SpecialPaymentType or its value in any case, sent canonically."""
    assert special_payment_body(**{**SPECIAL_PAYMENT_ARGS, "type": type_})["type"] == wire


def test_special_payment_body_negative_amount_is_a_deduction() -> None:
    """A negative amount is allowed and keeps its sign."""
    body = special_payment_body(**{**SPECIAL_PAYMENT_ARGS, "amount": Decimal("-4.5")})
    assert body["amount"] == "-4.50"


def test_special_payment_body_userdata_is_copied() -> None:
    """The body holds a copy of userdata, not the caller's dict."""
    userdata: dict[str, Any] = {"receipt": {"lines": [1, 2]}}
    body = special_payment_body(**SPECIAL_PAYMENT_ARGS, userdata=userdata)
    userdata["receipt"]["lines"].append(3)
    assert body["userdata"] == {"receipt": {"lines": [1, 2]}}


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": 0}, "amount", "must not be 0"),
        ({"amount": "0.00"}, "amount", "must not be 0"),
        ({"amount": Decimal("-0")}, "amount", "must not be 0"),
        ({"amount": 4.56}, "amount", "floats lose cents"),
        ({"amount": "4.567"}, "amount", "at most 2 decimal places"),
        ({"type": "tip"}, "type", "must be one of"),
        ({"type": 1}, "type", "must be one of"),
        ({"type": None}, "type", "is required"),
        ({"gig_id": ""}, "gig_id", "must not be blank"),
        ({"description": 5}, "description", "must be a string"),
        ({"userdata": ["a"]}, "userdata", "must be a dict (a JSON object)"),
        ({"userdata": {"a": float("nan")}}, "userdata", "only JSON values"),
        ({"userdata": {1: "a"}}, "userdata", "string keys"),
        ({"userdata": {"a": (1, 2)}}, "userdata", "only JSON values"),
        ({"userdata": {"a": object()}}, "userdata", "only JSON values"),
        ({"userdata": {"a": Decimal("1.00")}}, "userdata", "only JSON values"),
        ({"userdata": _circular()}, "userdata", "more than 32 deep"),
        ({"userdata": _deep(100_000)}, "userdata", "more than 32 deep"),
    ],
)
def test_special_payment_body_rule(changes: dict[str, Any], field: str, message: str) -> None:
    """Each special payment rule is reported under the Python argument's name."""
    got_field, got_message = only_error(special_payment_body, **{**SPECIAL_PAYMENT_ARGS, **changes})
    assert got_field == field
    assert message in got_message


def test_special_payment_body_reports_every_problem_together() -> None:
    """A zero amount, an unknown type and a list userdata come back in one error."""
    errors = errors_of(
        special_payment_body,
        partner_user_id="u",
        amount="0",
        type="tip",
        userdata=["x"],
    )
    assert [field for field, _ in errors] == ["amount", "type", "userdata"]


# --- path segments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("uid_847834395730535", "uid_847834395730535"),
        ("../gig", "%2E%2E%2Fgig"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a/b?c#d", "a%2Fb%3Fc%23d"),
        ("gig 1", "gig%201"),
        ("é", "%C3%A9"),
    ],
)
def test_path_segment_encodes(value: str, segment: str) -> None:
    """Identifiers are percent-encoded, slashes and dots included."""
    assert path_segment("gig_id", value) == segment


@pytest.mark.parametrize("value", ["", None, 5, b"gig", ["gig"]])
def test_path_segment_refuses_non_strings(value: object) -> None:
    """An empty or non-string identifier is a ValidationError on the given field."""
    with pytest.raises(ValidationError) as info:
        path_segment("gig_id", value)
    assert info.value.errors == [("gig_id", "must be a non-empty string")]


def test_path_segment_refuses_lone_surrogates() -> None:
    """A string that cannot be UTF-8 encoded is a ValidationError, not UnicodeEncodeError."""
    with pytest.raises(ValidationError) as info:
        path_segment("id", "\ud800")
    [(field, message)] = info.value.errors
    assert field == "id"
    assert message.startswith("must be valid Unicode text")


@FAST
@given(st.text(min_size=1, max_size=_validate.MAX_IDENTIFIER))
def test_path_segment_property(value: str) -> None:
    """The segment decodes to the input and can never be a separator or dot segment."""
    segment = path_segment("id", value)
    assert urllib.parse.unquote(segment, errors="strict") == value
    assert "/" not in segment
    assert "." not in segment
    assert segment not in {".", ".."}
    assert set(segment) <= set(string.ascii_letters + string.digits + "%_-~")


# --- never raising on garbage -----------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
WIRE_FIELDS = sorted(
    {
        *REFERENCE_CUSTOMER,
        *REFERENCE_GIG,
        *REFERENCE_SPECIAL_PAYMENT,
        "middleName",
        "street2",
    }
)
# Values shaped like the real ones, so the garbage reaches the deeper rules too.
NEAR_MISSES = st.sampled_from(
    [
        *REFERENCE_CUSTOMER.values(),
        *(v for v in REFERENCE_GIG.values()),
        "4.56",
        "-4.56",
        "0",
        "-0",
        "1" * 60,
        "9" * 40 + ".99",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2021-03-01T21:04:04.1234567",
        "wait time",
        {"receiptId": "r"},
    ]
)
GARBAGE_BODIES = st.dictionaries(st.sampled_from(WIRE_FIELDS), NEAR_MISSES | JSON_VALUES)


def _assert_problems(problems: object) -> None:
    assert isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, tuple)
        field, message = problem
        assert isinstance(field, str)
        assert isinstance(message, str)
        assert message


@pytest.mark.parametrize("check", CHECKS)
@FAST
@given(body=JSON_VALUES)
def test_checks_never_raise_on_any_json(
    check: Callable[[object], list[tuple[str, str]]], body: object
) -> None:
    """Any JSON value gives a list of problems, never an exception."""
    _assert_problems(check(body))


@pytest.mark.parametrize("check", CHECKS)
@FAST
@given(body=GARBAGE_BODIES)
def test_checks_never_raise_on_any_object(
    check: Callable[[object], list[tuple[str, str]]], body: dict[str, Any]
) -> None:
    """Objects with the right keys and wrong or near-miss values never raise."""
    _assert_problems(check(body))


@pytest.mark.parametrize("check", CHECKS)
@FAST
@given(body=st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6))
def test_checks_never_raise_on_any_dictionary(
    check: Callable[[object], list[tuple[str, str]]], body: dict[str, Any]
) -> None:
    """Objects with arbitrary keys never raise."""
    _assert_problems(check(body))


# --- the two levels agree ---------------------------------------------------------------

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
NAMES = st.text(PRINTABLE, min_size=1, max_size=40).filter(str.strip)
TEXT = st.text(min_size=1, max_size=30).filter(str.strip)
DATES = st.dates() | st.dates().map(dt.date.isoformat)
MAX_CENTS = int(_validate.MAX_AMOUNT * 100)
CENTS = st.integers(min_value=0, max_value=MAX_CENTS)
ZONES = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
TIMES = st.datetimes(
    # Naive bounds, as hypothesis wants; a year away from the ends so any offset fits UTC.
    min_value=dt.datetime(2, 1, 1, tzinfo=UTC).replace(tzinfo=None),
    max_value=dt.datetime(9998, 12, 31, tzinfo=UTC).replace(tzinfo=None),
    timezones=ZONES,
)


def _money_from_cents(cents: int, form: str) -> Decimal | int | str:
    amount = Decimal(cents).scaleb(-2)
    if form == "int":
        return int(amount)  # toward zero: -1.50 is -1, within the ceiling as -1.50 is
    return str(amount) if form == "str" else amount


MONEY_FORMS = st.sampled_from(["decimal", "str", "int"])
CUSTOMERS = st.fixed_dictionaries(
    {
        "partner_user_id": TEXT,
        "first_name": NAMES,
        "last_name": NAMES,
        "birthday": DATES,
        "phone_number": st.from_regex(r"\+?[0-9]{10,15}", fullmatch=True),
        "email": st.from_regex(r"[a-z0-9._+]{1,20}@[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True),
        "street": st.text(min_size=1, max_size=35).filter(str.strip),
        "city": st.text(min_size=1, max_size=21).filter(str.strip),
        "state": st.sampled_from(sorted(_validate.US_STATES)),
        "postal_code": st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True),
        "registration_date": DATES,
        "middle_name": st.none() | NAMES,
        "street2": st.none() | st.text(min_size=1, max_size=35).filter(str.strip),
    }
)


@st.composite
def gigs(draw: st.DrawFn) -> dict[str, Any]:
    """Draw valid gig arguments: parts within the total, end at or after start."""
    forms = [draw(MONEY_FORMS) for _ in range(3)]
    scale = 100 if "int" in forms else 1  # whole units only, so draw every amount in units
    total = draw(st.integers(min_value=1, max_value=MAX_CENTS // scale))
    tips = draw(st.integers(min_value=0, max_value=total))
    expenses = draw(st.integers(min_value=0, max_value=total - tips))
    total, tips, expenses = total * scale, tips * scale, expenses * scale
    start = draw(TIMES)
    end = start + draw(st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=2)))
    return {
        "partner_user_id": draw(TEXT),
        "gig_id": draw(TEXT),
        "total_amount": _money_from_cents(total, forms[0]),
        "tips": _money_from_cents(tips, forms[1]),
        "expenses": _money_from_cents(expenses, forms[2]),
        "description": draw(TEXT),
        "start_time": start,
        "end_time": min(end, dt.datetime(9999, 1, 1, tzinfo=UTC)),
    }


SPECIAL_PAYMENTS = st.fixed_dictionaries(
    {
        "partner_user_id": TEXT,
        "amount": st.builds(
            _money_from_cents,
            st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS).filter(lambda c: abs(c) >= 100),
            MONEY_FORMS,
        ),
        "type": st.sampled_from(SpecialPaymentType)
        | st.sampled_from([t.value.upper() for t in SpecialPaymentType]),
        "gig_id": st.none() | TEXT,
        "description": st.none() | TEXT,
        "userdata": st.none()
        | st.dictionaries(
            st.text(max_size=8),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(),
                lambda children: (
                    st.lists(children, max_size=3)
                    | st.dictionaries(st.text(max_size=5), children, max_size=3)
                ),
                max_leaves=8,
            ),
            max_size=4,
        ),
    }
)

# --- valid arguments of each request declaration of the endpoint table ---------------------

EXAMPLES: dict[Endpoint[Any], dict[str, Any]] = {
    CUSTOMER: CUSTOMER_ARGS,
    APPLICATION: {"partner_user_id": CUSTOMER_ARGS["partner_user_id"]},
    GIG: GIG_ARGS,
    SPECIAL_PAYMENT: SPECIAL_PAYMENT_ARGS,
}
"""One set of valid arguments per declaration; they name one customer, so they can be
sent in the table's order (`tests/test_endpoints.py`)."""

STRATEGIES: dict[Endpoint[Any], st.SearchStrategy[dict[str, Any]]] = {
    CUSTOMER: CUSTOMERS,
    APPLICATION: st.fixed_dictionaries({"partner_user_id": TEXT}),
    GIG: gigs(),
    SPECIAL_PAYMENT: SPECIAL_PAYMENTS,
}
"""Valid arguments of each declaration, drawn."""


def example_of(declared: Endpoint[Any]) -> dict[str, Any]:
    """Return *declared*'s valid example arguments, or fail the test naming what to add."""
    if declared not in EXAMPLES:
        pytest.fail(f"no valid example arguments of {declared!r}: add them to EXAMPLES")
    return EXAMPLES[declared]


def strategy_of(declared: Endpoint[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Return the strategy of *declared*'s valid arguments, or fail the test naming it."""
    if declared not in STRATEGIES:
        pytest.fail(f"no strategy of valid arguments of {declared!r}: add one to STRATEGIES")
    return STRATEGIES[declared]


@pytest.mark.parametrize("declared", DECLARED, ids=repr)
def test_every_declaration_has_valid_arguments(declared: Endpoint[Any]) -> None:
    """Each declaration of the table has an example and a strategy, and the example is valid."""
    strategy_of(declared)
    assert declared.check(declared.keywords("body", "")(**example_of(declared))) == []


@pytest.mark.parametrize("declared", DECLARED, ids=repr)
@FAST
@given(data=st.data())
def test_valid_arguments_build_bodies_that_pass_the_wire_check(
    declared: Endpoint[Any], data: st.DataObject
) -> None:
    """Valid arguments build a body, and that body passes the wire check."""
    body = declared.keywords("body", "")(**data.draw(strategy_of(declared)))
    assert declared.check(body) == []
    assert json.loads(json.dumps(body)) == body


def _loosen(strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Replace some argument values by garbage or near misses."""
    wrong = (
        JSON_SCALARS
        | NEAR_MISSES
        | st.floats()
        | st.decimals()
        | st.datetimes()
        | st.dates()
        | st.sampled_from([" ", "", "J" * 41, "0", "-0.001", Decimal("1E+30"), b"x"])
        | ANYTHING
    )

    @st.composite
    def loose(draw: st.DrawFn) -> dict[str, Any]:
        args = draw(strategy)
        for name in args:
            if draw(st.booleans()):
                args[name] = draw(wrong)
        return args

    return loose()


@pytest.mark.parametrize("declared", DECLARED, ids=repr)
@FAST
@given(data=st.data())
def test_builders_raise_validation_error_or_build_a_passing_body(
    declared: Endpoint[Any], data: st.DataObject
) -> None:
    """Whatever the arguments, a builder raises ValidationError or builds a passing body."""
    builder, check = declared.keywords("body", ""), declared.check
    args = data.draw(_loosen(strategy_of(declared)))
    for name in declared.beside_names:  # e.g. the special payment's idempotency_key
        args[name] = data.draw(st.none() | st.text(max_size=3) | ANYTHING)
    names = list(inspect.signature(builder).parameters)
    try:
        body = builder(**args)
    except ValidationError as exc:
        errors = exc.errors
    else:
        assert check(body) == []
        json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return
    fields = [field for field, _ in errors]
    assert fields
    assert set(fields) <= set(names)
    assert fields == sorted(fields, key=names.index)
