"""The SDK against the in-process sandbox, through the pytest plugin's fixtures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lean_async import (
    ApplicationStatus,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CustomerStatus,
    EventType,
    LeanClient,
    LeanError,
    NotFoundError,
    PaymentStatus,
    SandboxOnlyError,
    SpecialPaymentType,
)
from lean_async.sandbox import ManualClock, Sandbox
from tests.e2e.conftest import gig_args, new_customer, new_gig


async def test_the_whole_payout_flow(lean_client: LeanClient, lean_sandbox: Sandbox) -> None:
    """Customer → application → ACTIVE → gig and special payment → SUCCESS, with events."""
    customer = await new_customer(lean_client)
    assert customer.status is CustomerStatus.PENDING
    application = await lean_client.applications.submit("uid_1")
    assert application.status is ApplicationStatus.SUBMITTED
    await lean_sandbox.advance(1.0)
    assert (await lean_client.customers.get("uid_1")).status is CustomerStatus.ACTIVE

    gig = await new_gig(lean_client)
    assert gig.status is PaymentStatus.PENDING
    assert gig.total_amount == Decimal("15.00")
    payment = await lean_client.special_payments.create(
        partner_user_id="uid_1",
        amount="4.56",
        type=SpecialPaymentType.REIMBURSEMENT,
        gig_id="gig_1",
        userdata={"receiptId": "r_1"},
    )
    await lean_sandbox.advance(1.0)
    assert (await lean_client.gigs.get("gig_1")).status is PaymentStatus.SUCCESS
    fetched = await lean_client.special_payments.get(payment.id)
    assert fetched.status is PaymentStatus.SUCCESS
    assert fetched.userdata == {"receiptId": "r_1"}
    assert [g.gig_id for g in await lean_client.gigs.list()] == ["gig_1"]
    assert [p.id for p in await lean_client.special_payments.list()] == [payment.id]
    assert [e.type for e in lean_sandbox.events] == [
        EventType.CUSTOMER_ACTIVE,
        EventType.GIG_COMPLETED,
        EventType.SPECIALPAYMENT_COMPLETED,
    ]


async def test_failed_payments_and_inactive_customers(
    lean_client: LeanClient, lean_sandbox: Sandbox
) -> None:
    """A payment the sandbox fails ends FAILED; an INACTIVE customer stops wait_until_active."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    lean_sandbox.fail_next_payments(1)
    await new_gig(lean_client)
    await lean_sandbox.advance(1.0)
    assert (await lean_client.gigs.get("gig_1")).status is PaymentStatus.FAILED
    lean_sandbox.deactivate_customer("uid_1")
    with pytest.raises(LeanError, match="INACTIVE"):
        await lean_client.customers.wait_until_active("uid_1", timeout=1)


async def test_repeated_creates_reconcile(lean_client: LeanClient, lean_sandbox: Sandbox) -> None:
    """Re-running the same creates pays nothing twice; a different gig under one id conflicts."""
    first = await new_customer(lean_client)
    assert await new_customer(lean_client) == first
    lean_sandbox.activate_customer("uid_1")
    gig = await new_gig(lean_client)
    assert (await new_gig(lean_client)).id == gig.id
    assert len(lean_sandbox.gigs) == 1
    with pytest.raises(ConflictError) as info:
        await lean_client.gigs.create(**gig_args(total_amount="16.00"))
    assert info.value.existing is not None
    assert len(lean_sandbox.gigs) == 1


async def test_idempotency_key_pays_once(lean_client: LeanClient, lean_sandbox: Sandbox) -> None:
    """The same Idempotency-Key twice returns the same payment and makes one."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    args = {"partner_user_id": "uid_1", "amount": "10.00", "type": "bonus"}
    first = await lean_client.special_payments.create(**args, idempotency_key="bonus-1")
    again = await lean_client.special_payments.create(**args, idempotency_key="bonus-1")
    other = await lean_client.special_payments.create(**args)
    assert again.id == first.id
    assert other.id != first.id
    assert len(lean_sandbox.special_payments) == 2


async def test_server_side_rules(lean_client: LeanClient, lean_sandbox: Sandbox) -> None:
    """Rules only the server can check come back as BadRequestError with its message."""
    await new_customer(lean_client)
    with pytest.raises(BadRequestError, match="active"):
        await new_gig(lean_client)
    with pytest.raises(BadRequestError):
        await new_gig(lean_client, partner_user_id="uid_nobody")
    with pytest.raises(NotFoundError):
        await lean_client.customers.get("uid_nobody")
    assert len(lean_sandbox.gigs) == 0


async def test_wrong_key_is_an_authentication_error(lean_sandbox: Sandbox) -> None:
    """A key the sandbox does not know raises AuthenticationError."""
    async with LeanClient(
        api_key="sk_wrong", base_url=lean_sandbox.base_url, transport=lean_sandbox.transport()
    ) as lean:
        with pytest.raises(AuthenticationError):
            await lean.gigs.list()


async def test_production_has_no_applications() -> None:
    """A production client refuses submit; the production sandbox has no /application."""
    async with Sandbox(production=True, clock=ManualClock()) as sandbox:
        kwargs = {"api_key": sandbox.api_key, "base_url": sandbox.base_url}
        async with LeanClient(
            environment="production", transport=sandbox.transport(), **kwargs
        ) as prod:
            with pytest.raises(SandboxOnlyError):
                await prod.applications.submit("uid_1")
        async with LeanClient(transport=sandbox.transport(), **kwargs) as lean:
            await new_customer(lean)
            with pytest.raises(NotFoundError):
                await lean.applications.submit("uid_1")
