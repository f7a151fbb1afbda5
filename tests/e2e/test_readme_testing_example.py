import datetime as dt

import pytest

from lean_async import CustomerStatus, LeanClient, PaymentStatus
from lean_async.sandbox import Sandbox


@pytest.mark.asyncio
async def test_new_worker_gets_paid(lean_client: LeanClient, lean_sandbox: Sandbox) -> None:
    """A new worker is approved, paid for a gig, and the payout settles."""
    await lean_client.customers.create(
        partner_user_id="uid_1",
        first_name="Jane",
        last_name="Doe",
        birthday=dt.date(1980, 12, 31),
        phone_number="4085008000",
        email="jane@example.com",
        street="700 Treehouse Drive",
        city="San Jose",
        state="CA",
        postal_code="95101",
        registration_date=dt.date(2020, 1, 1),
    )
    await lean_client.applications.submit("uid_1")
    worker = await lean_client.customers.wait_until_active("uid_1")  # instant: no real sleep
    assert worker.status is CustomerStatus.ACTIVE

    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    gig = await lean_client.gigs.create(
        partner_user_id="uid_1",
        gig_id="gig_1",
        total_amount="15.00",
        tips="3.00",
        expenses="2.00",
        description="SFO Airport to 410 Market Street",
        start_time=start,
        end_time=start + dt.timedelta(minutes=40),
    )
    assert gig.status is PaymentStatus.PENDING
    gig = await lean_client.gigs.wait_until_settled("gig_1")
    assert gig.status is PaymentStatus.SUCCESS
    assert [event.type for event in lean_sandbox.events] == ["customer.active", "gig.completed"]
