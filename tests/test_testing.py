"""The testing kit users import into their own suites."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

import pytest

import lean_async
from lean_async import CustomerStatus, EventType, Gig, LeanClient, PaymentStatus
from lean_async.sandbox import ManualClock, Sandbox
from lean_async.testing import (
    SandboxWaitClock,
    follow_sandbox_clock,
    get_wait_clock,
    is_testing,
    set_testing,
    signed_delivery,
)
from lean_async.webhooks import parse
from tests.e2e.conftest import new_customer, new_gig
from tests.resources.conftest import GIG_JSON


def test_signed_delivery_is_accepted_by_parse() -> None:
    """A delivery built by signed_delivery verifies and parses into a typed event."""
    body, headers = signed_delivery({"event": "gig.completed", "data": GIG_JSON}, "sk_test")
    event = parse(body, headers, "sk_test")
    assert event.type is EventType.GIG_COMPLETED
    assert isinstance(event.data, Gig)
    assert headers["Content-Type"] == "application/json"


def test_set_testing_toggles() -> None:
    """set_testing switches the zero-backoff mode on and off."""
    set_testing(True)
    try:
        assert is_testing()
    finally:
        set_testing(False)
    assert not is_testing()


def test_python_dash_m_runs_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m lean_async --help` runs the same command group."""
    monkeypatch.setattr(sys, "argv", ["lean_async", "--help"])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(Path(lean_async.__file__).parent / "__main__.py"), run_name="__main__")
    assert info.value.code == 0


async def test_follow_sandbox_clock_turns_waits_into_sandbox_time(
    lean_client: LeanClient, lean_sandbox: Sandbox
) -> None:
    """Under the fixtures a wait advances the sandbox: approval after 1 s of its clock."""
    await new_customer(lean_client)
    await lean_client.applications.submit("uid_1")
    before = lean_sandbox.clock.time()
    customer = await lean_client.customers.wait_until_active("uid_1", poll_interval=0.25)
    assert customer.status is CustomerStatus.ACTIVE
    assert lean_sandbox.clock.time() - before == 1.0
    assert isinstance(get_wait_clock(), SandboxWaitClock)


async def test_a_wait_that_never_ends_times_out_at_once(lean_client: LeanClient) -> None:
    """Without an application the customer stays PENDING: the timeout passes in sandbox time."""
    await new_customer(lean_client)
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match="still PENDING after 30 s"):
        await lean_client.customers.wait_until_active("uid_1", timeout=30)
    assert time.perf_counter() - started < 5


async def test_follow_sandbox_clock_restores_the_previous_clock() -> None:
    """Leaving the block puts back the clock that was installed before."""
    previous = get_wait_clock()
    async with Sandbox(clock=ManualClock()) as sandbox:
        with follow_sandbox_clock(sandbox) as clock:
            assert get_wait_clock() is clock
            await clock.sleep(2)
            assert clock.monotonic() == sandbox.clock.time() == 2
            assert "SandboxWaitClock(<Sandbox" in repr(clock)
    assert get_wait_clock() is previous


async def test_follow_sandbox_clock_needs_a_manual_clock() -> None:
    """A sandbox on real time cannot be advanced, so following it is a TypeError."""
    async with Sandbox() as sandbox:
        with pytest.raises(TypeError, match="ManualClock"), follow_sandbox_clock(sandbox):
            pass  # pragma: no cover - never entered


async def test_settlement_waits_return_success_and_failed(
    lean_client: LeanClient, lean_sandbox: Sandbox
) -> None:
    """wait_until_settled returns the gig or special payment once SUCCESS or FAILED."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    await new_gig(lean_client, 1)
    lean_sandbox.fail_next_payments(1)
    payment = await lean_client.special_payments.create(
        partner_user_id="uid_1", amount="4.56", type="bonus"
    )
    gig = await lean_client.gigs.wait_until_settled("gig_1")
    failed = await lean_client.special_payments.wait_until_settled(payment.id)
    assert (gig.status, failed.status) == (PaymentStatus.SUCCESS, PaymentStatus.FAILED)


async def test_settlement_wait_times_out(lean_client: LeanClient, lean_sandbox: Sandbox) -> None:
    """A payment still PENDING at the timeout raises TimeoutError naming it."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    await new_gig(lean_client, 1)
    payment = await lean_client.special_payments.create(
        partner_user_id="uid_1", amount="4.56", type="bonus"
    )
    with pytest.raises(TimeoutError, match="gig 'gig_1' still PENDING"):
        await lean_client.gigs.wait_until_settled("gig_1", timeout=0.5, poll_interval=0.25)
    with pytest.raises(TimeoutError, match=r"special payment .* still PENDING"):
        await lean_client.special_payments.wait_until_settled(payment.id, timeout=0.25)


@pytest.mark.parametrize(("key", "error"), [("", ValueError), (None, TypeError)])
def test_signed_delivery_without_a_usable_key_is_refused(key: object, error: type) -> None:
    """No key, or an empty one, is the configuration error, not an unsigned delivery."""
    with pytest.raises(error, match="api_key"):
        signed_delivery({"event": "gig.completed"}, api_key=key)  # type: ignore[arg-type]
