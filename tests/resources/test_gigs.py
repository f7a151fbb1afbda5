"""The Gig API: wire format, money, reconciliation and retries."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from lean_async import (
    APIResponseValidationError,
    ConflictError,
    Gig,
    LeanClient,
    PaymentStatus,
    ServiceUnavailableError,
    ValidationError,
)
from tests.resources.conftest import BASE, GIG_JSON

UTC = dt.UTC
ARGS: dict[str, Any] = {
    "partner_user_id": "uid_847834395730535",
    "gig_id": "gigId_94792357823953532",
    "total_amount": "15.00",
    "tips": Decimal("3"),
    "expenses": 2,
    "description": "Gig Payout",
    "start_time": dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC),
    "end_time": dt.datetime(2021, 3, 1, 21, 31, 5, tzinfo=UTC),
}


async def test_create_sends_money_as_two_decimal_strings(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """create sends "15.00"-style money and UTC millisecond timestamps to /gig."""
    route = api.post("/gig").respond(200, json=GIG_JSON)
    gig = await lean.gigs.create(**ARGS)
    assert json.loads(route.calls.last.request.content) == {
        "partnerUserId": "uid_847834395730535",
        "gigId": "gigId_94792357823953532",
        "totalAmount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": "Gig Payout",
        "startTime": "2021-03-01T21:04:04.000Z",
        "endTime": "2021-03-01T21:31:05.000Z",
    }
    assert isinstance(gig, Gig)
    assert gig.total_amount == Decimal("15.00")
    assert gig.start_time == dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC)
    assert gig.status is PaymentStatus.PENDING


async def test_create_refuses_floats_before_sending(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """A float amount is a ValidationError and nothing reaches the network."""
    with pytest.raises(ValidationError) as info:
        await lean.gigs.create(**{**ARGS, "total_amount": 15.0})
    assert info.value.errors[0][0] == "total_amount"
    assert api.calls.call_count == 0


async def test_create_retries_a_503_and_reconciles_the_duplicate(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """503 then "already exists": the gig was paid once and is returned, not paid again."""
    route = api.post("/gig").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(400, json={"message": "gigId already exists"}),
        ]
    )
    api.get("/gig/gigId_94792357823953532").respond(200, json=GIG_JSON)
    gig = await lean.gigs.create(**ARGS)
    assert gig.gig_id == "gigId_94792357823953532"
    assert route.call_count == 2


async def test_reconciliation_parses_each_answer_once(
    lean: LeanClient, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "already exists" answer and the gig found are each parsed from JSON once."""
    error = json.dumps({"message": "gigId already exists"}).encode()
    found = json.dumps(GIG_JSON).encode()
    api.post("/gig").respond(400, content=error, headers={"Content-Type": "application/json"})
    api.get("/gig/gigId_94792357823953532").respond(
        200, content=found, headers={"Content-Type": "application/json"}
    )
    parsed: list[object] = []
    loads = json.loads

    def counting(text: str | bytes, **kwargs: Any) -> Any:
        parsed.append(text if isinstance(text, bytes) else text.encode())
        return loads(text, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    gig = await lean.gigs.create(**ARGS)
    assert gig.gig_id == "gigId_94792357823953532"
    assert parsed.count(found) == 1
    assert parsed.count(error) == 1


async def test_create_conflict_when_the_gig_id_names_another_gig(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """Same gigId with another amount raises ConflictError, never a second payout."""
    api.post("/gig").respond(400, json={"message": "gigId already exists"})
    api.get("/gig/gigId_94792357823953532").respond(200, json={**GIG_JSON, "totalAmount": "99.00"})
    with pytest.raises(ConflictError) as info:
        await lean.gigs.create(**ARGS)
    assert isinstance(info.value.existing, Gig)
    assert info.value.existing.total_amount == Decimal("99.00")


async def test_create_whose_lookup_answer_is_not_json_is_a_validation_error(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """ "Already exists", then a lookup answered with something not JSON: the error says so."""
    api.post("/gig").respond(400, json={"message": "gigId already exists"})
    api.get("/gig/gigId_94792357823953532").respond(200, content=b"<html>maintenance</html>")
    with pytest.raises(APIResponseValidationError) as info:
        await lean.gigs.create(**ARGS)
    assert info.value.status_code == 200
    assert "/gig/gigId_94792357823953532" in str(info.value.url)


async def test_get_and_list(lean: LeanClient, api: respx.MockRouter) -> None:
    """get fetches /gig/{gigId}; list reads the JSON array of /gig."""
    api.get("/gig/g%201").respond(200, json=GIG_JSON)
    api.get("/gig").respond(200, json=[GIG_JSON, {**GIG_JSON, "status": "success"}])
    assert (await lean.gigs.get("g 1")).id == "gig_1"
    gigs = await lean.gigs.list()
    assert [g.status for g in gigs] == [PaymentStatus.PENDING, PaymentStatus.SUCCESS]


async def test_list_with_a_bad_item_names_its_path(lean: LeanClient, api: respx.MockRouter) -> None:
    """A malformed item raises APIResponseValidationError with the JSON path."""
    api.get("/gig").respond(200, json=[GIG_JSON, {**GIG_JSON, "totalAmount": "lots"}])
    with pytest.raises(APIResponseValidationError) as info:
        await lean.gigs.list()
    assert info.value.path == "$[1].totalAmount"
    assert info.value.status_code == 200


async def test_non_json_success_body(lean: LeanClient, api: respx.MockRouter) -> None:
    """A 2xx body that is not JSON raises APIResponseValidationError at $."""
    api.get("/gig/x").respond(200, text="<html>oops</html>")
    with pytest.raises(APIResponseValidationError) as info:
        await lean.gigs.get("x")
    assert info.value.path == "$"
    assert info.value.body == "<html>oops</html>"


async def test_unavailable_after_retries(lean: LeanClient, api: respx.MockRouter) -> None:
    """Four 503s (one try and three retries) raise ServiceUnavailableError with attempts=4."""
    route = api.get("/gig").respond(503, json={"message": "maintenance"})
    with pytest.raises(ServiceUnavailableError, match="maintenance") as info:
        await lean.gigs.list()
    assert info.value.attempts == 4
    assert route.call_count == 4


class _NoOffset(dt.tzinfo):
    """A tzinfo whose utcoffset() is a full day, which datetime refuses."""

    def utcoffset(self, _: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(hours=24)

    def dst(self, _: dt.datetime | None) -> None:
        return None


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"description": "a\udfffb"}, ["description"]),
        ({"gig_id": "\ud800"}, ["gig_id"]),
        ({"total_amount": Decimal("1E+100000000")}, ["total_amount"]),
        ({"total_amount": "1000000000.00"}, ["total_amount"]),
        ({"end_time": dt.datetime(2021, 3, 1, 22, tzinfo=_NoOffset())}, ["end_time"]),
    ],
    ids=["surrogate", "surrogate-id", "huge", "ceiling", "tzinfo"],
)
async def test_create_refuses_what_cannot_be_sent(
    lean: LeanClient, api: respx.MockRouter, changes: dict[str, Any], fields: list[str]
) -> None:
    """Unencodable text, absurd amounts and broken tzinfos name their field; nothing is sent."""
    with pytest.raises(ValidationError) as info:
        await lean.gigs.create(**{**ARGS, **changes})
    assert [field for field, _ in info.value.errors] == fields
    assert api.calls.call_count == 0


async def test_wait_until_settled_checks_its_arguments_before_sending(lean: LeanClient) -> None:
    """A bad id or timeout of wait_until_settled is a ValidationError and nothing is sent."""
    with respx.mock(base_url=BASE) as router, pytest.raises(ValidationError) as info:
        await lean.gigs.wait_until_settled("", timeout="soon")  # type: ignore[arg-type]
    assert [field for field, _ in info.value.errors] == ["gig_id", "timeout"]
    assert not router.calls
