"""Each endpoint's fields are declared once; checks, bodies and signatures derive from it."""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest

from lean_async._client import LeanClient
from lean_async._codec.convert import camel, unstructure
from lean_async._endpoints.requests import (
    CUSTOMER,
    GIG,
    GigRequest,
)
from lean_async._endpoints.rules.base import rule
from lean_async._endpoints.rules.body import Across, Beside, Endpoint
from lean_async._endpoints.rules.money import amount
from lean_async._endpoints.rules.text import IDENTIFIER, TEXT
from lean_async._endpoints.rules.times import TIMESTAMP
from lean_async._endpoints.table import ENDPOINTS, EndpointRow
from lean_async.errors import ValidationError
from lean_async.sandbox import ManualClock
from lean_async.sandbox._store import Store
from tests.test_validate import DECLARED, GIG_ARGS, START


@pytest.mark.parametrize(
    "row", [row for row in ENDPOINTS if row.request is not None], ids=lambda row: row.name
)
def test_each_resource_method_takes_the_declared_arguments(row: EndpointRow[Any]) -> None:
    """A resource's parameters are its declaration's fields, in order, so none can drift."""
    resource = typing.get_type_hints(getattr(LeanClient, row.resource).func)["return"]
    _self, *names = inspect.signature(getattr(resource, row.operation)).parameters
    assert row.request is not None
    assert names == list(row.request.signature.parameters)


@pytest.mark.parametrize("declared", DECLARED, ids=repr)
def test_wire_names_are_the_converters_names(declared: Endpoint[Any]) -> None:
    """The wire names are the converter's camelCase of the model's attributes."""
    names = [field.name for field in attrs.fields(declared.model)]
    assert list(declared.names) == names
    assert list(declared.wire_names) == [camel(name) for name in names]


def test_the_body_is_the_request_model_through_the_converter() -> None:
    """The wire body is what the one cattrs converter makes of the checked request model."""
    request = GIG.request(GIG_ARGS)
    assert isinstance(request, GigRequest)
    assert request.total_amount == Decimal("15.00")
    assert GIG.body(GIG_ARGS) == unstructure(request)


def test_times_are_checked_as_they_are_sent() -> None:
    """Timestamps go out in milliseconds, so end >= start compares the sent values."""
    start = START.replace(microsecond=1900)
    end = START.replace(microsecond=1100)  # earlier, but the same millisecond
    body = GIG.body({**GIG_ARGS, "start_time": start, "end_time": end})
    assert body["startTime"] == body["endTime"] == "2021-03-01T21:04:04.001Z"


def test_every_declared_field_is_stored_by_the_sandbox() -> None:
    """The sandbox keeps every field a body declares (it picks them from the rows)."""
    store = Store(ManualClock())
    body = CUSTOMER.body(
        {
            "partner_user_id": "uid_1",
            "first_name": "Jane",
            "last_name": "Doe",
            "birthday": "1980-12-31",
            "phone_number": "4085008000",
            "email": "jane@example.com",
            "street": "1 Main St",
            "city": "San Jose",
            "state": "CA",
            "postal_code": "95101",
            "registration_date": dt.date(2020, 1, 1),
            "middle_name": "Q",
            "street2": "Apt 2",
        }
    )
    stored = unstructure(store.add_customer(body))
    assert {wire: stored[wire] for wire in CUSTOMER.wire_names} == body


# --- a throwaway endpoint: a model and a row are all the rules need ---------------------


@attrs.frozen(kw_only=True)
class _RefundRequest:
    """A made-up ``POST /refund`` body."""

    refund_id: str = rule(IDENTIFIER)
    refund_amount: Decimal = rule(amount(lambda value: value > 0, "must be greater than 0"))
    issued_at: dt.datetime = rule(TIMESTAMP)
    note: str | None = rule(TEXT, optional=True)


def _at_most_ten(values: Mapping[str, Any]) -> str | None:
    return "must be at most 10.00" if values["refund_amount"] > 10 else None


REFUND = Endpoint(
    _RefundRequest,
    across=(Across("refund_amount", ("refund_amount",), _at_most_ten),),
    beside=(Beside("token", lambda value: None if value == "ok" else "must be 'ok'"),),
)


def test_a_new_endpoint_gets_its_checks_body_and_signature_from_its_model() -> None:
    """Declaring a model and a row gives the wire check, the body and the signature."""
    args = {"refund_id": "r1", "refund_amount": "2.5", "issued_at": START, "note": None}
    assert REFUND.body({**args, "token": "ok"}) == {
        "refundId": "r1",
        "refundAmount": "2.50",
        "issuedAt": "2021-03-01T21:04:04.000Z",
    }
    assert REFUND.check({"refundId": "r1", "refundAmount": 3, "issuedAt": "x"}) == [
        ("refundAmount", "must be a decimal string such as '15.00', not a JSON number"),
        ("issuedAt", "must be an ISO 8601 timestamp such as '2021-03-01T21:04:04.000Z'"),
    ]
    assert list(REFUND.signature.parameters) == [
        "refund_id",
        "refund_amount",
        "issued_at",
        "note",
        "token",
    ]
    with pytest.raises(ValidationError) as info:
        REFUND.body({**args, "refund_id": "", "refund_amount": "11", "token": "no"})
    assert info.value.errors == [
        ("refund_id", "must not be blank"),
        ("refund_amount", "must be at most 10.00"),
        ("token", "must be 'ok'"),
    ]


def test_a_rule_across_unknown_fields_is_refused_at_declaration() -> None:
    """A cross-field rule naming a field the model lacks fails when it is declared."""
    with pytest.raises(ValueError, match="no field"):
        Endpoint(_RefundRequest, across=(Across("amount", ("amount",), _at_most_ten),))
