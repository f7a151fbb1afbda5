"""Idempotency-Key on POST /specialpayment: replays, conflicts, expiry, concurrency."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from lean_async.sandbox import Latency, Sandbox

from .conftest import add_active_customer, payment_body


async def post(api: httpx.AsyncClient, key: str, body: object) -> httpx.Response:
    """POST a special payment with an Idempotency-Key."""
    return await api.post("/specialpayment", json=body, headers={"Idempotency-Key": key})


async def test_same_key_and_body_replays_the_answer(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """The same key and body give the same answer and no second payment."""
    await add_active_customer(api, sandbox)
    first = await post(api, "k1", payment_body())
    await sandbox.advance(5)  # the payment settles meanwhile
    second = await post(api, "k1", payment_body())
    assert second.status_code == first.status_code == 200
    assert second.content == first.content
    assert second.json()["status"] == "PENDING"  # the recorded answer, as Stripe does
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(sandbox.special_payments) == 1


async def test_formatting_does_not_matter(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A body that differs only in whitespace and key order is the same body."""
    await add_active_customer(api, sandbox)
    body = payment_body()
    first = await api.post(
        "/specialpayment", content=json.dumps(body), headers={"Idempotency-Key": "k"}
    )
    reordered = json.dumps(dict(reversed(body.items())), indent=2)
    second = await api.post("/specialpayment", content=reordered, headers={"Idempotency-Key": "k"})
    assert second.json()["id"] == first.json()["id"]


async def test_same_key_with_another_body_is_422(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """Reusing a key for a different payment is refused and creates nothing."""
    await add_active_customer(api, sandbox)
    await post(api, "k1", payment_body())
    response = await post(api, "k1", payment_body(amount="9.99"))
    assert response.status_code == 422
    assert "different request body" in response.json()["message"]
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(sandbox.special_payments) == 1


async def test_key_expires_after_24_hours(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """After 24 hours of sandbox time a key makes a new payment."""
    await add_active_customer(api, sandbox)
    first = await post(api, "k1", payment_body())
    await sandbox.advance(24 * 3600 - 1)
    assert (await post(api, "k1", payment_body())).json()["id"] == first.json()["id"]
    await sandbox.advance(1)
    again = await post(api, "k1", payment_body(amount="1.00"))
    assert again.status_code == 200
    assert again.json()["id"] != first.json()["id"]
    assert len(sandbox.special_payments) == 2


async def test_invalid_json_under_a_used_key_is_422(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A used key with a body that is not JSON at all is a different body."""
    await add_active_customer(api, sandbox)
    await post(api, "k1", payment_body())
    response = await api.post("/specialpayment", content=b"{", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 422


async def test_errors_are_not_recorded(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A refused request may be corrected and sent again under the same key."""
    refused = await post(api, "k1", payment_body())  # no such customer yet
    assert refused.status_code == 400
    await add_active_customer(api, sandbox)
    assert (await post(api, "k1", payment_body())).status_code == 200


@pytest.mark.parametrize("key", ["", "x" * 256])
async def test_bad_keys_are_400(api: httpx.AsyncClient, sandbox: Sandbox, key: str) -> None:
    """An empty or overlong key is a 400 on the header."""
    await add_active_customer(api, sandbox)
    response = await post(api, key, payment_body())
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_requests_without_a_key_are_not_deduplicated(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """Without a key, two identical requests make two payments (as the reference says)."""
    await add_active_customer(api, sandbox)
    await api.post("/specialpayment", json=payment_body())
    await api.post("/specialpayment", json=payment_body())
    assert len(sandbox.special_payments) == 2


async def test_concurrent_same_key_requests_make_one_payment(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """Twenty concurrent requests with one key, all delayed, create one payment."""
    await add_active_customer(api, sandbox)
    sandbox.faults.add(Latency(0.01), route="POST /specialpayment", times=None)
    async with asyncio.timeout(10):
        responses = await asyncio.gather(*(post(api, "same", payment_body()) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(sandbox.special_payments) == 1
