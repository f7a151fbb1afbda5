"""Every endpoint of the sandbox API and every status code it answers."""

from __future__ import annotations

import base64

import httpx
import pytest

from lean_async.sandbox import ManualClock, Sandbox
from lean_async.sandbox._http import HTTPError
from lean_async.sandbox._store import Store

from .conftest import KEY, add_active_customer, customer_body, gig_body, payment_body

CUSTOMER_KEYS = {
    "firstName",
    "middleName",
    "lastName",
    "birthday",
    "phoneNumber",
    "email",
    "street",
    "street2",
    "city",
    "state",
    "postalCode",
    "partnerUserId",
    "registrationDate",
    "status",
    "createdAt",
    "updatedAt",
}
GIG_KEYS = {
    "id",
    "partnerUserId",
    "description",
    "totalAmount",
    "startTime",
    "endTime",
    "gigId",
    "expenses",
    "tips",
    "status",
    "invoiceId",
    "createdAt",
    "updatedAt",
}
PAYMENT_KEYS = {
    "id",
    "type",
    "invoiceId",
    "description",
    "amount",
    "createdAt",
    "updatedAt",
    "partnerUserId",
    "gigId",
    "userdata",
    "status",
}


async def test_create_customer_returns_the_documented_shape(api: httpx.AsyncClient) -> None:
    """POST /customer answers 200 with every documented field, nulls included."""
    response = await api.post("/customer", json=customer_body())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert set(data) == CUSTOMER_KEYS
    assert data["status"] == "PENDING"
    assert data["middleName"] is None
    assert data["street2"] is None
    assert data["createdAt"] == data["updatedAt"] == "2025-01-01T00:00:00.000Z"


async def test_get_customer_returns_what_was_created(api: httpx.AsyncClient) -> None:
    """GET /customer/{partnerUserId} returns the stored customer."""
    created = (await api.post("/customer", json=customer_body(middleName="Ann"))).json()
    response = await api.get("/customer/uid_1")
    assert response.status_code == 200
    assert response.json() == created
    assert response.json()["middleName"] == "Ann"


async def test_unknown_customer_is_404(api: httpx.AsyncClient) -> None:
    """An unknown partnerUserId in the path is a 404 with a JSON message."""
    response = await api.get("/customer/nobody")
    assert response.status_code == 404
    assert response.json() == {"message": "No customer found"}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"partnerUserId": "uid_1"}, "partnerUserId"),
        ({"email": "JANE1@example.com"}, "email"),
        ({"phoneNumber": "4085000001"}, "phoneNumber"),
    ],
)
async def test_duplicate_customer_keys_are_400(
    api: httpx.AsyncClient, sandbox: Sandbox, override: dict[str, str], field: str
) -> None:
    """A second customer with a taken partnerUserId, email or phone is a 400."""
    await api.post("/customer", json=customer_body(1))
    response = await api.post("/customer", json=customer_body(2, **override))
    assert response.status_code == 400
    assert "already exists" in response.json()["message"]
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert len(sandbox.customers) == 1


async def test_every_duplicate_is_reported_together(api: httpx.AsyncClient) -> None:
    """All taken keys of one request appear in one 400."""
    await api.post("/customer", json=customer_body(1))
    response = await api.post("/customer", json=customer_body(1))
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["partnerUserId", "email", "phoneNumber"]


async def test_rule_problems_are_400_with_every_error(api: httpx.AsyncClient) -> None:
    """Rule-table problems are joined in the message and listed in errors."""
    body = customer_body()
    del body["lastName"]
    response = await api.post("/customer", json=body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "lastName" in [e["field"] for e in errors]
    for error in errors:
        assert error["message"] in response.json()["message"]


@pytest.mark.parametrize("content", [b"", b"{nope", b"\xff\xfe", b'{ partnerUserID: "x" }'])
async def test_invalid_json_is_400(api: httpx.AsyncClient, content: bytes) -> None:
    """A body that is not JSON is a 400 naming the body."""
    response = await api.post("/customer", content=content)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert "not valid JSON" in response.json()["message"]


async def test_json_that_is_not_an_object_is_400(api: httpx.AsyncClient) -> None:
    """A JSON array body is a 400."""
    response = await api.post("/gig", json=[1, 2])
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "body", "message": "must be a JSON object"}]


async def test_submit_application_and_resubmit(api: httpx.AsyncClient) -> None:
    """POST /application answers submitted, and again the current application."""
    await api.post("/customer", json=customer_body())
    first = await api.post("/application", json={"partnerUserId": "uid_1"})
    assert first.status_code == 200
    assert first.json() == {"partnerUserId": "uid_1", "status": "submitted"}
    again = await api.post("/application", json={"partnerUserId": "uid_1"})
    assert again.json() == first.json()


async def test_application_of_an_active_customer_is_approved_at_once(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A customer already ACTIVE gets an approved application and no new timer."""
    await add_active_customer(api, sandbox)
    response = await api.post("/application", json={"partnerUserId": "uid_1"})
    assert response.json()["status"] == "approved"
    assert sandbox.pending_jobs == 0  # no approval timer, and no webhook destination


async def test_application_for_unknown_customer_is_400(api: httpx.AsyncClient) -> None:
    """An application naming no customer is a 400 on partnerUserId."""
    response = await api.post("/application", json={"partnerUserId": "ghost"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "partnerUserId"


async def test_application_is_404_in_production() -> None:
    """A production-mode sandbox has no application endpoint."""
    async with (
        Sandbox(api_key=KEY, production=True, clock=ManualClock()) as box,
        httpx.AsyncClient(transport=box.transport(), base_url=box.base_url, auth=(KEY, "")) as api,
    ):
        await api.post("/customer", json=customer_body())
        response = await api.post("/application", json={"partnerUserId": "uid_1"})
        assert response.status_code == 404
        assert box.production
        assert "production" in repr(box)


async def test_create_get_and_list_gigs(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """POST /gig answers the gig (with partnerUserId); GET finds it by gigId and lists it."""
    await add_active_customer(api, sandbox)
    created = await api.post("/gig", json=gig_body(1))
    assert created.status_code == 200
    gig = created.json()
    assert set(gig) == GIG_KEYS
    assert gig["status"] == "PENDING"
    assert gig["partnerUserId"] == "uid_1"
    assert gig["totalAmount"] == "15.00"
    assert gig["id"].startswith("gig_")
    assert gig["invoiceId"].startswith("invoice_")
    assert (await api.get("/gig/gig_1")).json() == gig
    await api.post("/gig", json=gig_body(2))
    listed = await api.get("/gig")
    assert [g["gigId"] for g in listed.json()] == ["gig_1", "gig_2"]


async def test_gig_errors(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """Unknown, inactive and duplicate cases of POST /gig are 400s; unknown GET is 404."""
    unknown = await api.post("/gig", json=gig_body(1, "ghost"))
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "partnerUserId"
    await api.post("/customer", json=customer_body())
    pending = await api.post("/gig", json=gig_body(1))
    assert pending.status_code == 400
    assert pending.json()["message"] == "Only active customers can receive payments"
    sandbox.activate_customer("uid_1")
    assert (await api.post("/gig", json=gig_body(1))).status_code == 200
    duplicate = await api.post("/gig", json=gig_body(1, totalAmount="99.00"))
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["message"]
    assert len(sandbox.gigs) == 1
    assert (await api.get("/gig/nope")).status_code == 404


def test_body_the_rule_table_let_through_still_gets_a_400() -> None:
    """A value the models cannot hold is a 400 on its field even if no rule caught it."""
    store = Store(ManualClock())
    with pytest.raises(HTTPError) as info:
        store.add_gig(gig_body(1, startTime="not a time"))
    assert info.value.status == 400
    assert [field for field, _ in info.value.errors] == ["startTime"]


async def test_special_payment_endpoints(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """POST, GET by id and GET list of special payments answer the documented shape."""
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1))
    created = await api.post("/specialpayment", json=payment_body(gigId="gig_1"))
    assert created.status_code == 200
    payment = created.json()
    assert set(payment) == PAYMENT_KEYS
    assert payment["status"] == "PENDING"
    assert payment["userdata"] == {"receiptId": "receipt_4242551"}
    assert payment["id"].startswith("special_payment_")
    assert (await api.get(f"/specialpayment/{payment['id']}")).json() == payment
    bare = await api.post(
        "/specialpayment", json={"partnerUserId": "uid_1", "amount": "-4.5", "type": "other"}
    )
    assert bare.json()["amount"] == "-4.50"
    assert bare.json()["gigId"] is None
    assert bare.json()["description"] is None
    listed = (await api.get("/specialpayment")).json()
    assert [p["id"] for p in listed] == [payment["id"], bare.json()["id"]]
    assert (await api.get("/specialpayment/nope")).status_code == 404


async def test_special_payment_gig_must_exist_and_match(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A special payment's gigId must name an existing gig of the same customer."""
    await add_active_customer(api, sandbox, 1)
    await add_active_customer(api, sandbox, 2)
    await api.post("/gig", json=gig_body(1, "uid_1"))
    missing = await api.post("/specialpayment", json=payment_body(gigId="gig_404"))
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "gigId"
    other = await api.post("/specialpayment", json=payment_body("uid_2", gigId="gig_1"))
    assert other.status_code == 400
    assert "another customer" in other.json()["message"]
    assert len(sandbox.special_payments) == 0


async def test_special_payment_for_inactive_customer_is_400(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """An INACTIVE customer cannot receive a special payment."""
    await add_active_customer(api, sandbox)
    sandbox.deactivate_customer("uid_1")
    response = await api.post("/specialpayment", json=payment_body())
    assert response.status_code == 400
    assert response.json()["message"] == "Only active customers can receive payments"


@pytest.mark.parametrize(
    "auth",
    [
        None,
        ("wrong", ""),
        ("", ""),
        "Bearer sk_test_sandbox",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"other:" + KEY.encode()).decode(),
    ],
)
async def test_wrong_or_missing_key_is_401(sandbox: Sandbox, auth: object) -> None:
    """Anything but the key as the Basic username is a 401 with a JSON message."""
    headers = {"Authorization": auth} if isinstance(auth, str) else {}
    basic = auth if isinstance(auth, tuple) else None
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=sandbox.base_url, auth=basic, headers=headers
    ) as client:
        response = await client.get("/gig")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized: invalid API key"}
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_password_is_ignored(sandbox: Sandbox) -> None:
    """The key as username is enough whatever the password."""
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=sandbox.base_url, auth=(KEY, "anything")
    ) as client:
        assert (await client.get("/gig")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/customer/uid_1", "GET"),
        ("GET", "/customer", "POST"),
        ("PUT", "/gig", "GET, POST"),
        ("GET", "/application", "POST"),
        ("POST", "/specialpayment/x", "GET"),
    ],
)
async def test_wrong_method_is_405(
    api: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    """A known path with the wrong method is a 405 listing the allowed methods."""
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"message": "Method not allowed"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1/api",
        "http://127.0.0.1/api/",
        "http://127.0.0.1/api/nothing",
        "http://127.0.0.1/api/gig/a/b",
        "http://127.0.0.1/api/gig/",
        "http://127.0.0.1/other/gig",
    ],
)
async def test_unknown_paths_are_404(api: httpx.AsyncClient, url: str) -> None:
    """Paths outside the reference are 404 with a JSON message."""
    response = await api.get(url)
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


async def test_encoded_slash_is_part_of_the_id(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """%2F in a path segment is decoded once into the id, not split as a path."""
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1, gigId="a/b%c"))
    response = await api.get("http://127.0.0.1/api/gig/a%2Fb%25c")
    assert response.status_code == 200
    assert response.json()["gigId"] == "a/b%c"
    assert (await api.get("http://127.0.0.1/api/gig/a/b%25c")).status_code == 404


async def test_query_strings_are_ignored(api: httpx.AsyncClient) -> None:
    """A query string does not change the route."""
    assert (await api.get("/gig", params={"limit": "1"})).json() == []


async def test_oversized_body_is_413(clock: ManualClock) -> None:
    """A body above max_body_size is refused with 413."""
    async with (
        Sandbox(api_key=KEY, clock=clock, max_body_size=10) as box,
        httpx.AsyncClient(transport=box.transport(), base_url=box.base_url, auth=(KEY, "")) as api,
    ):
        response = await api.post("/customer", json=customer_body())
    assert response.status_code == 413


def test_empty_api_key_is_refused() -> None:
    """A sandbox needs a non-empty key."""
    with pytest.raises(ValueError, match="api_key"):
        Sandbox(api_key="")


async def test_views_are_read_only(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """The counting views reflect the store and cannot be written."""
    await add_active_customer(api, sandbox)
    assert list(sandbox.customers) == ["uid_1"]
    assert sandbox.api_key == KEY
    with pytest.raises(TypeError):
        sandbox.customers["x"] = sandbox.customers["uid_1"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/application", {"partnerUserID": "uid_1"}),
        ("/customer", {k: v for k, v in customer_body(2).items() if k != "partnerUserId"}),
        ("/gig", {k: v for k, v in gig_body().items() if k != "partnerUserId"}),
        ("/specialpayment", {k: v for k, v in payment_body().items() if k != "partnerUserId"}),
    ],
)
async def test_reference_spelling_partner_user_id_gets_a_hint(
    api: httpx.AsyncClient, path: str, body: dict[str, object]
) -> None:
    """A body with the reference's ``partnerUserID`` spelling is a 400 naming partnerUserId."""
    await api.post("/customer", json=customer_body(1))
    response = await api.post(path, json=body | {"partnerUserID": "uid_1"})
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "partnerUserID: unknown field: use 'partnerUserId' (lower-case d)"
    )
    fields = [error["field"] for error in response.json()["errors"]]
    assert "partnerUserId" not in fields


async def test_partner_user_id_spelled_right_beside_the_typo_is_accepted(
    api: httpx.AsyncClient,
) -> None:
    """With partnerUserId present, an extra partnerUserID does not trigger the hint."""
    await api.post("/customer", json=customer_body(1))
    body = {"partnerUserId": "uid_1", "partnerUserID": "uid_1"}
    response = await api.post("/application", json=body)
    assert response.status_code == 200, response.text
