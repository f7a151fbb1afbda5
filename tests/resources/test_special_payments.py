"""The Special Payment API: the Idempotency-Key makes every retry safe."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import respx

from lean_async import (
    APIConnectionError,
    LeanClient,
    SpecialPayment,
    SpecialPaymentType,
    ValidationError,
)
from tests.resources.conftest import SPECIAL_PAYMENT_JSON


async def test_create_sends_the_documented_body(lean: LeanClient, api: respx.MockRouter) -> None:
    """create POSTs the reference's body to /specialpayment with an Idempotency-Key."""
    route = api.post("/specialpayment").respond(200, json=SPECIAL_PAYMENT_JSON)
    payment = await lean.special_payments.create(
        partner_user_id="uid_847834395730535",
        amount="4.56",
        type="reimbursement",
        gig_id="gigId_94792357823953532",
        description="Parking receipt from 3/1/2021",
        userdata={"receiptId": "receipt_4242551"},
    )
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "partnerUserId": "uid_847834395730535",
        "amount": "4.56",
        "type": "reimbursement",
        "gigId": "gigId_94792357823953532",
        "description": "Parking receipt from 3/1/2021",
        "userdata": {"receiptId": "receipt_4242551"},
    }
    assert len(request.headers["idempotency-key"]) == 36
    assert isinstance(payment, SpecialPayment)
    assert payment.type is SpecialPaymentType.REIMBURSEMENT
    assert payment.amount == Decimal("4.56")


async def test_retries_reuse_one_idempotency_key(lean: LeanClient, api: respx.MockRouter) -> None:
    """A reset and a 503 are retried with the same key, so Lean pays once."""
    route = api.post("/specialpayment").mock(
        side_effect=[
            httpx.ReadError("reset"),
            httpx.Response(503),
            httpx.Response(200, json=SPECIAL_PAYMENT_JSON),
        ]
    )
    await lean.special_payments.create(
        partner_user_id="uid_1", amount=Decimal("-4.56"), type=SpecialPaymentType.CORRECTION
    )
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 3
    assert len(keys) == 1


async def test_caller_key_is_sent_and_reported_on_failure(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """The caller's key is on every attempt and on the final error, for a later retry."""
    route = api.post("/specialpayment").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await lean.special_payments.create(
            partner_user_id="uid_1",
            amount="10",
            type="bonus",
            idempotency_key="payout-2026-11-24-7",
        )
    assert info.value.idempotency_key == "payout-2026-11-24-7"
    assert info.value.attempts == 4
    assert {c.request.headers["idempotency-key"] for c in route.calls} == {"payout-2026-11-24-7"}


async def test_zero_amount_and_unknown_type_are_refused(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """Amount 0 and an unknown type are both reported, and nothing is sent."""
    with pytest.raises(ValidationError) as info:
        await lean.special_payments.create(partner_user_id="uid_1", amount="0", type="gift")
    assert {field for field, _ in info.value.errors} == {"amount", "type"}
    assert api.calls.call_count == 0


async def test_get_and_list(lean: LeanClient, api: respx.MockRouter) -> None:
    """get reads /specialpayment/{id}; list reads the array of /specialpayment."""
    api.get("/specialpayment/special_payment_9384127512").respond(200, json=SPECIAL_PAYMENT_JSON)
    api.get("/specialpayment").respond(200, json=[SPECIAL_PAYMENT_JSON])
    payment = await lean.special_payments.get("special_payment_9384127512")
    assert payment.userdata == {"receiptId": "receipt_4242551"}
    assert len(await lean.special_payments.list()) == 1


@pytest.mark.parametrize(
    "key",
    ["a\r\nX: 1", "", "clé", 42, "k" * 256, "two words"],
    ids=["crlf", "empty", "non-ascii", "int", "too-long", "space"],
)
async def test_bad_idempotency_key_is_refused_before_sending(
    lean: LeanClient, api: respx.MockRouter, key: object
) -> None:
    """A bad key is a ValidationError on idempotency_key; no attempt, no retry budget spent."""
    with pytest.raises(ValidationError) as info:
        await lean.special_payments.create(
            partner_user_id="uid_1",
            amount="10",
            type="bonus",
            idempotency_key=key,  # type: ignore[arg-type]
        )
    assert [field for field, _ in info.value.errors] == ["idempotency_key"]
    assert api.calls.call_count == 0


async def test_bad_key_and_bad_body_are_reported_together(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """The key's problem comes in the same ValidationError as the body's."""
    with pytest.raises(ValidationError) as info:
        await lean.special_payments.create(
            partner_user_id="uid_1", amount="1E+100000000", type="bonus", idempotency_key=""
        )
    assert [field for field, _ in info.value.errors] == ["amount", "idempotency_key"]
    assert api.calls.call_count == 0


async def test_surrogates_are_refused_before_sending(
    lean: LeanClient, api: respx.MockRouter
) -> None:
    """A lone surrogate in the description or userdata is a ValidationError, not a crash."""
    with pytest.raises(ValidationError) as info:
        await lean.special_payments.create(
            partner_user_id="uid_1",
            amount="1",
            type="bonus",
            description="a\udfffb",
            userdata={"note": "\ud800"},
        )
    assert [field for field, _ in info.value.errors] == ["description", "userdata"]
    assert api.calls.call_count == 0
