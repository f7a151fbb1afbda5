"""The Customer API through LeanClient: wire format, reconciliation, polling."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import pytest
import respx

from lean_async import (
    BadRequestError,
    ConflictError,
    Customer,
    CustomerStatus,
    LeanClient,
    LeanError,
    NotFoundError,
    ValidationError,
)
from tests.resources.conftest import CUSTOMER_JSON, KEY

ARGS: dict[str, Any] = {
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

WIRE = {
    "partnerUserId": "uid_847834395730535",
    "firstName": "Jane",
    "lastName": "Doe",
    "birthday": "1980-12-31",
    "phoneNumber": "4085008000",
    "email": "janedoe@gmail.com",
    "street": "700 Treehouse Drive",
    "city": "San Jose",
    "state": "CA",
    "postalCode": "95101",
    "registrationDate": "2020-01-01",
}


async def test_create_sends_the_documented_request(lean: LeanClient, api: respx.MockRouter) -> None:
    """create POSTs camelCase JSON to /customer with Basic auth and returns a Customer."""
    route = api.post("/customer").respond(200, json=CUSTOMER_JSON)
    customer = await lean.customers.create(**ARGS)
    request = route.calls.last.request
    assert request.url == "https://app.staging.withlean.com/api/customer"
    assert json.loads(request.content) == WIRE
    assert request.headers["content-type"] == "application/json"
    expected_auth = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert request.headers["authorization"] == expected_auth
    assert request.headers["user-agent"].startswith("lean-async/")
    assert isinstance(customer, Customer)
    assert customer.status is CustomerStatus.PENDING
    assert customer.birthday == dt.date(1980, 12, 31)


async def test_create_sends_optional_fields_when_given(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """middle_name and street2 go out as middleName and street2."""
    route = api.post("/customer").respond(200, json=CUSTOMER_JSON)
    await lean.customers.create(**ARGS, middle_name="Q", street2="Apt 4")
    body = json.loads(route.calls.last.request.content)
    assert body["middleName"] == "Q"
    assert body["street2"] == "Apt 4"


async def test_create_validates_everything_before_sending(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """Several bad arguments are reported together and nothing is sent."""
    bad = {**ARGS, "first_name": "J" * 41, "state": "ZZ", "postal_code": "9510"}
    with pytest.raises(ValidationError) as info:
        await lean.customers.create(**bad)
    fields = {field for field, _ in info.value.errors}
    assert {"first_name", "state", "postal_code"} <= fields
    assert api.calls.call_count == 0


async def test_create_reconciles_a_duplicate_that_matches(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """A 400 "already exists" for the same customer returns the existing one."""
    api.post("/customer").respond(400, json={"message": "partnerUserId already exists"})
    lookup = api.get("/customer/uid_847834395730535").respond(
        200, json={**CUSTOMER_JSON, "status": "ACTIVE"}
    )
    customer = await lean.customers.create(**ARGS)
    assert lookup.called
    assert customer.status is CustomerStatus.ACTIVE


async def test_create_reconciles_after_a_response_lost_after_commit(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """The customer was created but the answer was lost: the retry's 400 reconciles."""
    api.post("/customer").mock(
        side_effect=[
            httpx.ReadError("connection reset after commit"),
            httpx.Response(400, json={"message": "partnerUserId already exists"}),
        ]
    )
    api.get("/customer/uid_847834395730535").respond(200, json=CUSTOMER_JSON)
    customer = await lean.customers.create(**ARGS)
    assert customer.partner_user_id == "uid_847834395730535"


async def test_create_conflict_shows_both_versions(lean: LeanClient, api: respx.MockRouter) -> None:
    """An existing customer with other details raises ConflictError with both sides."""
    api.post("/customer").respond(409, json={"message": "duplicate"})
    api.get("/customer/uid_847834395730535").respond(
        200, json={**CUSTOMER_JSON, "email": "someone.else@example.com"}
    )
    with pytest.raises(ConflictError) as info:
        await lean.customers.create(**ARGS)
    error = info.value
    assert isinstance(error.existing, Customer)
    assert error.existing.email == "someone.else@example.com"
    assert error.sent is not None
    assert error.sent["email"] == "janedoe@gmail.com"
    assert error.status_code == 409


async def test_create_keeps_the_original_error_when_nothing_exists(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """A 400 whose lookup finds nothing raises the original BadRequestError."""
    api.post("/customer").respond(400, json={"message": "email already exists"})
    api.get("/customer/uid_847834395730535").respond(404, json={"message": "not found"})
    with pytest.raises(BadRequestError, match="email already exists"):
        await lean.customers.create(**ARGS)


async def test_get_percent_encodes_the_id(lean: LeanClient, api: respx.MockRouter) -> None:
    """A path-like id stays one encoded segment and never climbs out of /customer."""
    route = api.get(url__regex=r".*/customer/.*").respond(200, json=CUSTOMER_JSON)
    await lean.customers.get("../gig")
    raw_path = route.calls.last.request.url.raw_path.decode()
    assert raw_path.startswith("/api/customer/")
    assert "/gig" not in raw_path.removeprefix("/api/customer/")


async def test_get_unknown_customer_raises_not_found(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """A 404 becomes NotFoundError carrying the API's message."""
    api.get("/customer/nobody").respond(404, json={"message": "Customer not found"})
    with pytest.raises(NotFoundError, match="Customer not found") as info:
        await lean.customers.get("nobody")
    assert info.value.method == "GET"
    assert info.value.attempts == 1


async def test_wait_until_active_polls_until_active(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """wait_until_active returns once the status turns ACTIVE."""
    route = api.get("/customer/uid_1").mock(
        side_effect=[
            httpx.Response(200, json={**CUSTOMER_JSON, "partnerUserId": "uid_1"}),
            httpx.Response(
                200, json={**CUSTOMER_JSON, "partnerUserId": "uid_1", "status": "active"}
            ),
        ]
    )
    customer = await lean.customers.wait_until_active("uid_1", timeout=5, poll_interval=0)
    assert customer.status is CustomerStatus.ACTIVE
    assert route.call_count == 2


async def test_wait_until_active_times_out(lean: LeanClient, api: respx.MockRouter) -> None:
    """A customer still PENDING at the timeout raises TimeoutError."""
    api.get("/customer/uid_1").respond(200, json=CUSTOMER_JSON)
    with pytest.raises(TimeoutError, match="PENDING"):
        await lean.customers.wait_until_active("uid_1", timeout=0.05, poll_interval=0.01)


async def test_wait_until_active_stops_on_inactive(lean: LeanClient, api: respx.MockRouter) -> None:
    """An INACTIVE customer will not turn ACTIVE, so waiting stops with LeanError."""
    api.get("/customer/uid_1").respond(200, json={**CUSTOMER_JSON, "status": "INACTIVE"})
    with pytest.raises(LeanError, match="INACTIVE"):
        await lean.customers.wait_until_active("uid_1", timeout=5)


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"timeout": "5"}, ["timeout"]),
        ({"timeout": float("nan")}, ["timeout"]),
        ({"poll_interval": -1}, ["poll_interval"]),
        ({"poll_interval": float("nan"), "timeout": None}, ["timeout", "poll_interval"]),
    ],
)
async def test_wait_until_active_refuses_bad_arguments_before_polling(
    lean: LeanClient, api: respx.MockRouter, kwargs: dict[str, Any], fields: list[str]
) -> None:
    """A timeout or poll interval that is not a number of seconds is named; no poll is sent."""
    with pytest.raises(ValidationError) as info:
        await lean.customers.wait_until_active("uid_1", **kwargs)
    assert [field for field, _ in info.value.errors] == fields
    assert api.calls.call_count == 0


async def test_create_refuses_a_lone_surrogate(lean: LeanClient, api: respx.MockRouter) -> None:
    """A street UTF-8 cannot encode is a ValidationError naming it; nothing is sent."""
    with pytest.raises(ValidationError) as info:
        await lean.customers.create(**{**ARGS, "street": "700 \udc80 Drive"})
    assert [field for field, _ in info.value.errors] == ["street"]
    assert api.calls.call_count == 0
