"""Fault injection in-process: 5xx bursts, latency, resets and dropped answers."""

from __future__ import annotations

import time

import httpx
import pytest

from lean_async._endpoints.table import ENDPOINTS
from lean_async.sandbox import (
    ROUTES,
    ConnectionReset,
    DropAfterCommit,
    Faults,
    Latency,
    Sandbox,
    ServerError,
)

from .conftest import add_active_customer, customer_body, gig_body, payment_body


async def pay_with_retries(
    api: httpx.AsyncClient, key: str, *, attempts: int = 5
) -> tuple[httpx.Response, int]:
    """Send one logical payment, retrying transport errors and 5xx with the same key."""
    for attempt in range(1, attempts + 1):
        try:
            response = await api.post(
                "/specialpayment", json=payment_body(), headers={"Idempotency-Key": key}
            )
        except httpx.TransportError:
            continue
        if response.status_code < 500:
            return response, attempt
    raise AssertionError("no answer within the attempts")


def test_rules_are_validated() -> None:
    """Unknown routes, times < 1, negative skips and bad faults are refused."""
    faults = Faults()
    with pytest.raises(ValueError, match="unknown route"):
        faults.add(ConnectionReset(), route="POST /payments")
    with pytest.raises(ValueError, match="times"):
        faults.add(ConnectionReset(), times=0)
    with pytest.raises(ValueError, match="skip"):
        faults.add(ConnectionReset(), skip=-1)
    with pytest.raises(ValueError, match="5xx"):
        ServerError(status=404)
    with pytest.raises(ValueError, match="seconds"):
        Latency(-1)
    assert faults.rules == ()


def test_plan_counts_skips_times_and_shadowing() -> None:
    """Latencies add up, the first outcome wins, skip and times are honoured."""
    faults = Faults()
    slow = faults.add(Latency(0.1), times=None)
    slower = faults.add(Latency(0.2), route="POST /gig", times=2)
    reset = faults.add(ConnectionReset(), route="POST /gig", skip=1)
    error = faults.add(ServerError(), route="POST /gig", times=None)
    first = faults.plan("POST /gig")
    assert first.delay == pytest.approx(0.3)
    assert first.outcome == ServerError()  # the reset skips its first request
    second = faults.plan("POST /gig")
    assert second.outcome == ConnectionReset()
    assert reset.hits == 1
    assert reset not in faults.rules  # exhausted
    assert faults.plan("POST /gig").delay == pytest.approx(0.1)
    assert slower.hits == 2
    assert faults.plan("GET /gig").outcome is None
    assert slow.hits == 4
    assert error.hits == 2
    faults.clear()
    assert faults.rules == ()


def test_routes_are_the_endpoint_tables() -> None:
    """ROUTES names every endpoint of the table, as ``METHOD /path-template``."""
    assert {row.route for row in ENDPOINTS} == ROUTES
    assert "POST /specialpayment" in ROUTES
    assert "GET /gig/{gigId}" in ROUTES


async def test_503_burst_with_retry_after(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A burst answers 503 with Retry-After, changes nothing, then lets requests through."""
    sandbox.faults.add(ServerError(status=503, retry_after=2), route="POST /customer", times=2)
    for _ in range(2):
        response = await api.post("/customer", json=customer_body())
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert "message" in response.json()
    assert len(sandbox.customers) == 0
    assert (await api.post("/customer", json=customer_body())).status_code == 200


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [
        (1.5, "1.5"),
        (1e6, "1000000"),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT"),
        (None, None),
    ],
)
async def test_retry_after_formats(
    api: httpx.AsyncClient, sandbox: Sandbox, retry_after: float | str | None, header: str | None
) -> None:
    """Retry-After is sent as seconds or as the given HTTP date, or not at all."""
    sandbox.faults.add(ServerError(status=500, retry_after=retry_after), route="GET /gig")
    response = await api.get("/gig")
    assert response.status_code == 500
    assert response.headers.get("retry-after") == header


async def test_reset_changes_nothing(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A reset raises httpx.ReadError and the request was not processed."""
    await add_active_customer(api, sandbox)
    sandbox.faults.add(ConnectionReset(), route="POST /gig")
    with pytest.raises(httpx.ReadError):
        await api.post("/gig", json=gig_body(1))
    assert len(sandbox.gigs) == 0
    assert (await api.post("/gig", json=gig_body(1))).status_code == 200


async def test_drop_after_commit_keeps_the_payment(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A dropped answer raises RemoteProtocolError but the payment exists."""
    await add_active_customer(api, sandbox)
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    with pytest.raises(httpx.RemoteProtocolError):
        await api.post("/specialpayment", json=payment_body())
    assert len(sandbox.special_payments) == 1


async def test_retry_after_drop_with_the_same_key_pays_once(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """Retrying a dropped payment with its key returns the committed payment."""
    await add_active_customer(api, sandbox)
    rule = sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", times=2)
    response, attempts = await pay_with_retries(api, "logical-1")
    assert attempts == 3
    assert rule.hits == 2
    assert response.headers["idempotent-replayed"] == "true"
    assert list(sandbox.special_payments) == [response.json()["id"]]


async def test_retry_after_503_burst_pays_once(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A 503 burst before processing, then success: one payment per logical call."""
    await add_active_customer(api, sandbox)
    sandbox.faults.add(ServerError(status=503), route="POST /specialpayment", times=3)
    for n in range(3):
        await pay_with_retries(api, f"logical-{n}")
    assert len(sandbox.special_payments) == 3


async def test_error_after_commit_then_retry_pays_once(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A 500 answered after the commit hides a payment that a keyed retry finds."""
    await add_active_customer(api, sandbox)
    sandbox.faults.add(
        ServerError(status=500, after_commit=True), route="POST /specialpayment", times=1
    )
    response, attempts = await pay_with_retries(api, "logical")
    assert attempts == 2
    assert response.status_code == 200
    assert len(sandbox.special_payments) == 1


async def test_mixed_faults_without_keys_show_the_double_payment(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """Without a key, a retry after a dropped answer pays twice: the case keys exist for."""
    await add_active_customer(api, sandbox)
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    with pytest.raises(httpx.RemoteProtocolError):
        await api.post("/specialpayment", json=payment_body())
    await api.post("/specialpayment", json=payment_body())
    assert len(sandbox.special_payments) == 2


async def test_latency_delays_in_real_time(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A latency fault delays the answer by that much real time."""
    sandbox.faults.add(Latency(0.05), route="GET /gig")
    started = time.monotonic()
    assert (await api.get("/gig")).status_code == 200
    assert time.monotonic() - started >= 0.05
