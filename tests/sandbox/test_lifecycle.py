"""Status transitions on the manual clock (no sleeps), and on the real clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping

import httpx
import pytest

from lean_async.models import PaymentStatus
from lean_async.sandbox import FAIL_MARKER, ManualClock, RealClock, Sandbox

from .conftest import KEY, add_active_customer, customer_body, gig_body, payment_body


def event_types(sandbox: Sandbox) -> list[str]:
    """Return the types of the events the sandbox emitted, in order."""
    return [str(event.type) for event in sandbox.events]


async def test_application_is_approved_after_the_delay(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """The application turns approved and the customer ACTIVE after approval_delay."""
    await api.post("/customer", json=customer_body())
    await api.post("/application", json={"partnerUserId": "uid_1"})
    await sandbox.advance(0.999)
    assert (await api.get("/customer/uid_1")).json()["status"] == "PENDING"
    await sandbox.advance(0.001)
    customer = (await api.get("/customer/uid_1")).json()
    assert customer["status"] == "ACTIVE"
    assert customer["updatedAt"] == "2025-01-01T00:00:01.000Z"
    assert customer["createdAt"] == "2025-01-01T00:00:00.000Z"
    application = await api.post("/application", json={"partnerUserId": "uid_1"})
    assert application.json()["status"] == "approved"
    assert event_types(sandbox) == ["customer.active"]
    assert sandbox.events[0].raw["data"] == customer


async def test_approval_does_not_revive_a_deactivated_customer(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A customer deactivated before approval stays INACTIVE; the application is approved."""
    await api.post("/customer", json=customer_body())
    await api.post("/application", json={"partnerUserId": "uid_1"})
    sandbox.deactivate_customer("uid_1")
    await sandbox.advance(5)
    assert sandbox.customers["uid_1"].status == "INACTIVE"
    assert sandbox.applications["uid_1"].status == "approved"
    assert event_types(sandbox) == ["customer.inactive"]


async def test_activate_and_deactivate(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """activate/deactivate switch at once, send one event each, and repeat harmlessly."""
    await api.post("/customer", json=customer_body())
    await sandbox.advance(2)
    active = sandbox.activate_customer("uid_1")
    assert active.status == "ACTIVE"
    assert active.updated_at == dt.datetime(2025, 1, 1, 0, 0, 2, tzinfo=dt.UTC)
    assert sandbox.activate_customer("uid_1") is active
    inactive = sandbox.deactivate_customer("uid_1")
    assert inactive.status == "INACTIVE"
    assert sandbox.deactivate_customer("uid_1") is inactive
    assert event_types(sandbox) == ["customer.active", "customer.inactive"]
    with pytest.raises(KeyError):
        sandbox.activate_customer("ghost")


async def test_gig_and_special_payment_settle_as_success(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """Payments go PENDING → SUCCESS after settle_delay with *.completed events."""
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1))
    payment = (await api.post("/specialpayment", json=payment_body())).json()
    await sandbox.advance(0.5)
    assert (await api.get("/gig/gig_1")).json()["status"] == "PENDING"
    await sandbox.advance(0.5)
    gig = (await api.get("/gig/gig_1")).json()
    assert gig["status"] == "SUCCESS"
    assert gig["updatedAt"] == "2025-01-01T00:00:01.000Z"
    settled = (await api.get(f"/specialpayment/{payment['id']}")).json()
    assert settled["status"] == "SUCCESS"
    assert event_types(sandbox) == [
        "customer.active",
        "gig.completed",
        "specialpayment.completed",
    ]
    assert sandbox.events[1].data == sandbox.gigs["gig_1"]


async def test_fail_next_payments(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """fail_next_payments(n) makes exactly the next n payments FAILED."""
    await add_active_customer(api, sandbox)
    sandbox.fail_next_payments(2)
    await api.post("/gig", json=gig_body(1))
    await api.post("/specialpayment", json=payment_body())
    await api.post("/gig", json=gig_body(2))
    await sandbox.advance(1)
    assert [g.status for g in sandbox.gigs.values()] == ["FAILED", "SUCCESS"]
    assert [p.status for p in sandbox.special_payments.values()] == ["FAILED"]
    assert event_types(sandbox)[1:] == ["gig.failed", "specialpayment.failed", "gig.completed"]
    with pytest.raises(ValueError, match="count"):
        sandbox.fail_next_payments(-1)


async def test_fail_payment_by_any_id(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """fail_payment accepts a gigId, a gig's id or a special payment's id."""
    await add_active_customer(api, sandbox)
    by_gig_id = (await api.post("/gig", json=gig_body(1))).json()
    by_id = (await api.post("/gig", json=gig_body(2))).json()
    payment = (await api.post("/specialpayment", json=payment_body())).json()
    await api.post("/gig", json=gig_body(3))
    assert sandbox.fail_payment(by_gig_id["gigId"]).id == by_gig_id["id"]
    assert sandbox.fail_payment(by_id["id"]).gig_id == "gig_2"
    sandbox.fail_payment(payment["id"])
    await sandbox.advance(1)
    statuses = {g.gig_id: g.status for g in sandbox.gigs.values()}
    assert statuses == {"gig_1": "FAILED", "gig_2": "FAILED", "gig_3": "SUCCESS"}
    assert sandbox.special_payments[payment["id"]].status == PaymentStatus.FAILED
    with pytest.raises(ValueError, match="already settled"):
        sandbox.fail_payment("gig_3")
    with pytest.raises(KeyError):
        sandbox.fail_payment("nothing")


async def test_fail_marker_in_the_description(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A description containing FAIL_MARKER makes the payment FAILED."""
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1, description=f"ride {FAIL_MARKER}"))
    await sandbox.advance(1)
    assert sandbox.gigs["gig_1"].status == "FAILED"


async def test_payment_fails_when_the_customer_is_deactivated_meanwhile(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A payment whose customer turned INACTIVE before settlement FAILS."""
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1))
    sandbox.deactivate_customer("uid_1")
    await sandbox.advance(1)
    assert sandbox.gigs["gig_1"].status == "FAILED"


async def test_production_customers_activate_only_by_hand(clock: ManualClock) -> None:
    """In production mode only activate_customer makes a customer ACTIVE."""
    async with (
        Sandbox(api_key=KEY, production=True, clock=clock) as box,
        httpx.AsyncClient(transport=box.transport(), base_url=box.base_url, auth=(KEY, "")) as api,
    ):
        await api.post("/customer", json=customer_body())
        await box.advance(3600)
        assert box.customers["uid_1"].status == "PENDING"
        box.activate_customer("uid_1")
        assert (await api.post("/gig", json=gig_body(1))).status_code == 200


async def test_advance_rules(sandbox: Sandbox) -> None:
    """advance refuses negative time; a manual clock never goes back."""
    with pytest.raises(ValueError, match=">= 0"):
        await sandbox.advance(-1)
    assert isinstance(sandbox.clock, ManualClock)
    with pytest.raises(ValueError, match="cannot go back"):
        sandbox.clock.move_to(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(dt.datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test
    assert "2025-01-01" in repr(sandbox.clock)


async def test_advance_needs_a_manual_clock() -> None:
    """A real-clock sandbox refuses advance."""
    async with Sandbox(api_key=KEY) as box:
        assert isinstance(box.clock, RealClock)
        assert repr(box.clock) == "RealClock()"
        with pytest.raises(TypeError, match="ManualClock"):
            await box.advance(1)


async def wait_for(condition: Callable[[], bool]) -> None:
    """Poll *condition* every 10 ms until it is true, for at most 5 seconds."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not become true within 5 seconds")


async def test_real_clock_transitions_happen_on_their_own() -> None:
    """With the real clock, approval, settlement and deliveries run in the background."""
    received: list[bytes] = []

    async def listener(body: bytes, headers: Mapping[str, str]) -> None:
        received.append(body)

    async with Sandbox(api_key=KEY, approval_delay=0.05, settle_delay=0.05) as box:
        box.add_webhook_listener(listener)
        async with httpx.AsyncClient(
            transport=box.transport(), base_url=box.base_url, auth=(KEY, "")
        ) as api:
            await api.post("/customer", json=customer_body())
            await api.post("/application", json={"partnerUserId": "uid_1"})
            await wait_for(lambda: box.customers["uid_1"].status == "ACTIVE")
            await api.post("/gig", json=gig_body(1))
            await wait_for(lambda: box.gigs["gig_1"].status == "SUCCESS")
            await wait_for(lambda: len(received) == 2)
    assert [str(e.type) for e in box.events] == ["customer.active", "gig.completed"]


def test_a_skewed_clock_moves_forward_only() -> None:
    """SkewedClock.shift moves its time of day on; asked to go back, it refuses."""
    from lean_async.sandbox import SkewedClock

    clock = SkewedClock(dt.timedelta(hours=-1))
    clock.shift(30)
    assert clock.skew == dt.timedelta(minutes=-59, seconds=-30)
    with pytest.raises(ValueError, match="cannot go back 5"):
        clock.shift(-5)
    assert clock.skew == dt.timedelta(minutes=-59, seconds=-30)
