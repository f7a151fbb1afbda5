"""The SDK against the sandbox served by uvicorn on a real 127.0.0.1 socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from lean_async import CustomerStatus, LeanClient, PaymentStatus
from lean_async._config import BACKENDS
from lean_async.sandbox import DropAfterCommit, ManualClock, Sandbox, running_server
from lean_async.testing import set_testing
from tests.e2e.conftest import new_customer, new_gig


@pytest.fixture(params=BACKENDS)
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Sandbox, LeanClient]]:
    """A ManualClock sandbox on a free loopback port, and a client on each backend."""
    set_testing(True)
    try:
        async with (
            Sandbox(clock=ManualClock()) as sandbox,
            running_server(sandbox) as url,
            LeanClient(api_key=sandbox.api_key, base_url=url, backend=request.param) as lean,
        ):
            yield sandbox, lean
    finally:
        set_testing(False)


async def test_flow_over_sockets(served: tuple[Sandbox, LeanClient]) -> None:
    """Every endpoint and transition works over HTTP on 127.0.0.1."""
    sandbox, lean = served
    assert lean.base_url.startswith("http://127.0.0.1:")
    await new_customer(lean)
    await lean.applications.submit("uid_1")
    await sandbox.advance(1.0)
    assert (await lean.customers.wait_until_active("uid_1", timeout=5)).status is (
        CustomerStatus.ACTIVE
    )
    gig = await new_gig(lean)
    payment = await lean.special_payments.create(
        partner_user_id="uid_1", amount="-2.00", type="correction", gig_id=gig.gig_id
    )
    await sandbox.advance(1.0)
    assert (await lean.gigs.get(gig.gig_id)).status is PaymentStatus.SUCCESS
    assert (await lean.special_payments.get(payment.id)).status is PaymentStatus.SUCCESS
    assert len(await lean.gigs.list()) == 1
    assert len(await lean.special_payments.list()) == 1


async def test_dropped_connection_pays_once_over_sockets(
    served: tuple[Sandbox, LeanClient],
) -> None:
    """A socket closed after commit is retried with the same key: one payment."""
    sandbox, lean = served
    await new_customer(lean)
    sandbox.activate_customer("uid_1")
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    payment = await lean.special_payments.create(partner_user_id="uid_1", amount="3", type="bonus")
    assert list(sandbox.special_payments) == [payment.id]


async def test_timeout_per_attempt_over_sockets(served: tuple[Sandbox, LeanClient]) -> None:
    """with_options(timeout=...) bounds each attempt on a real socket."""
    from lean_async import APITimeoutError
    from lean_async.sandbox import Latency

    sandbox, lean = served
    sandbox.faults.add(Latency(0.5), route="GET /gig", times=None)
    with pytest.raises(APITimeoutError) as info:
        await lean.with_options(timeout=httpx.Timeout(0.1), max_retries=1).gigs.list()
    assert info.value.attempts == 2
