"""Faults injected by the sandbox: the SDK never pays twice and never loses a payment."""

from __future__ import annotations

import random

import pytest

from lean_async import (
    APIConnectionError,
    LeanClient,
    ServiceUnavailableError,
)
from lean_async.sandbox import ConnectionReset, DropAfterCommit, Sandbox, ServerError
from tests.e2e.conftest import new_customer, new_gig


@pytest.fixture
async def active(lean_client: LeanClient, lean_sandbox: Sandbox) -> LeanClient:
    """The plugin's client with an ACTIVE customer uid_1."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    return lean_client


async def pay(lean: LeanClient, amount: str = "5.00") -> str:
    """Send one logical special payment and return its id."""
    payment = await lean.special_payments.create(
        partner_user_id="uid_1", amount=amount, type="bonus"
    )
    return payment.id


async def test_503_burst_then_success_pays_once(active: LeanClient, lean_sandbox: Sandbox) -> None:
    """Three 503s with Retry-After, then success: exactly one payment."""
    rule = lean_sandbox.faults.add(
        ServerError(status=503, retry_after=1), route="POST /specialpayment", times=3
    )
    await pay(active)
    assert rule.hits == 3
    assert len(lean_sandbox.special_payments) == 1


async def test_503_after_commit_pays_once(active: LeanClient, lean_sandbox: Sandbox) -> None:
    """A 503 sent after the payment committed is retried with the same key: one payment."""
    lean_sandbox.faults.add(ServerError(after_commit=True), route="POST /specialpayment")
    payment_id = await pay(active)
    assert list(lean_sandbox.special_payments) == [payment_id]


async def test_dropped_answers_pay_once(active: LeanClient, lean_sandbox: Sandbox) -> None:
    """Answers lost after commit on gigs and special payments: one of each."""
    lean_sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    lean_sandbox.faults.add(DropAfterCommit(), route="POST /gig")
    payment_id = await pay(active)
    gig = await new_gig(active)
    assert list(lean_sandbox.special_payments) == [payment_id]
    assert list(lean_sandbox.gigs) == [gig.gig_id]


async def test_dropped_customer_create_reconciles(
    lean_client: LeanClient, lean_sandbox: Sandbox
) -> None:
    """A customer create whose answer was lost returns the customer it made."""
    lean_sandbox.faults.add(DropAfterCommit(), route="POST /customer")
    customer = await new_customer(lean_client)
    assert list(lean_sandbox.customers) == [customer.partner_user_id]


async def test_resets_on_reads_are_retried(active: LeanClient, lean_sandbox: Sandbox) -> None:
    """Connection resets on GETs are retried transparently."""
    lean_sandbox.faults.add(ConnectionReset(), route="GET /specialpayment", times=2)
    assert await active.special_payments.list() == []


async def test_outage_longer_than_retries_fails_without_paying(
    active: LeanClient, lean_sandbox: Sandbox
) -> None:
    """503s on every attempt raise ServiceUnavailableError; nothing was paid."""
    lean_sandbox.faults.add(ServerError(status=503), route="POST /specialpayment", times=None)
    with pytest.raises(ServiceUnavailableError) as info:
        await pay(active)
    assert info.value.attempts == 4
    assert info.value.idempotency_key is not None
    assert len(lean_sandbox.special_payments) == 0


async def test_lost_payment_is_recovered_by_its_key(
    active: LeanClient, lean_sandbox: Sandbox
) -> None:
    """All attempts lost after commit: retrying later with the error's key returns the payment."""
    lean_sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", times=4)
    with pytest.raises(APIConnectionError) as info:
        await pay(active)
    assert len(lean_sandbox.special_payments) == 1
    payment = await active.special_payments.create(
        partner_user_id="uid_1",
        amount="5.00",
        type="bonus",
        idempotency_key=info.value.idempotency_key,
    )
    assert list(lean_sandbox.special_payments) == [payment.id]


async def test_random_faults_one_payment_per_call(
    active: LeanClient, lean_sandbox: Sandbox
) -> None:
    """40 logical payments under random resets, drops and 5xx make exactly 40 payments."""
    rng = random.Random(20261124)
    faults = [
        ConnectionReset(),
        DropAfterCommit(),
        ServerError(status=503),
        ServerError(status=502, after_commit=True),
        ServerError(status=500),
    ]
    ids = set()
    for n in range(40):
        if rng.random() < 0.7:
            lean_sandbox.faults.add(rng.choice(faults), route="POST /specialpayment")
        ids.add(await pay(active, amount=f"{n + 1}.00"))
    assert len(ids) == 40
    assert set(lean_sandbox.special_payments) == ids
