"""A user's own FastAPI app, tested the way its README tells them: only the two fixtures."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from lean_async import EventType, LeanClient, WebhookEvent
from lean_async.sandbox import Sandbox
from lean_async.webhooks.fastapi import webhook_router

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def get_lean() -> LeanClient:
    """The app's dependency; production wires the shared client in a lifespan."""
    raise NotImplementedError("overridden in tests, set up by the lifespan in production")


Lean = Annotated[LeanClient, Depends(get_lean)]


def create_app(webhook_key: str, received: list[WebhookEvent]) -> FastAPI:
    """The user's service: onboards a worker, pays a gig, receives Lean's webhooks."""
    app = FastAPI()

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)

    app.include_router(webhook_router(api_key=webhook_key, handler=on_event))

    @app.post("/workers/{worker_id}/first-gig")
    async def onboard_and_pay(worker_id: str, lean: Lean) -> dict[str, str]:
        await lean.customers.create(
            partner_user_id=worker_id,
            first_name="Jane",
            last_name="Doe",
            birthday=dt.date(1980, 12, 31),
            phone_number="4085008000",
            email=f"{worker_id}@example.com",
            street="700 Treehouse Drive",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date=dt.date(2020, 1, 1),
        )
        await lean.applications.submit(worker_id)
        customer = await lean.customers.wait_until_active(worker_id, timeout=120)
        gig = await lean.gigs.create(
            partner_user_id=worker_id,
            gig_id=f"{worker_id}_gig_1",
            total_amount="15.00",
            tips="3.00",
            expenses="2.00",
            description="SFO Airport to 410 Market Street",
            start_time=START,
            end_time=START + dt.timedelta(minutes=40),
        )
        return {"customer": customer.status, "gig": gig.gig_id, "payment": gig.status}

    return app


@pytest.fixture
def received() -> list[WebhookEvent]:
    """The webhook events the app's handler got."""
    return []


@pytest.fixture
async def http(
    lean_client: LeanClient, lean_sandbox: Sandbox, received: list[WebhookEvent]
) -> AsyncIterator[httpx.AsyncClient]:
    """The user's app with the fixture client injected, its webhooks fed by the sandbox."""
    app = create_app(lean_sandbox.api_key, received)
    app.dependency_overrides[get_lean] = lambda: lean_client
    lean_sandbox.forward_webhooks_to(app, path="/webhooks/lean")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield client


async def test_endpoint_waiting_for_approval_runs_in_well_under_a_second(
    http: httpx.AsyncClient, lean_client: LeanClient, received: list[WebhookEvent]
) -> None:
    """Onboard, wait for ACTIVE, pay and settle through the app: < 0.5 s, no loop of our own."""
    started = time.perf_counter()
    response = await http.post("/workers/uid_1/first-gig")
    assert response.status_code == 200, response.text
    assert response.json() == {"customer": "ACTIVE", "gig": "uid_1_gig_1", "payment": "PENDING"}
    settled = await lean_client.gigs.wait_until_settled("uid_1_gig_1")
    elapsed = time.perf_counter() - started
    assert settled.status == "SUCCESS"
    assert [event.type for event in received] == [
        EventType.CUSTOMER_ACTIVE,
        EventType.GIG_COMPLETED,
    ]
    assert elapsed < 0.5, f"took {elapsed:.3f} s of wall time"


async def test_forwarded_deliveries_are_recorded_by_destination(
    http: httpx.AsyncClient, lean_sandbox: Sandbox, received: list[WebhookEvent]
) -> None:
    """Each forwarded delivery is listed under ``asgi:<path>`` with the app's 200."""
    assert (await http.post("/workers/uid_2/first-gig")).status_code == 200
    [delivery] = lean_sandbox.deliveries
    assert (delivery.destination, delivery.status_code, delivery.event_type) == (
        "asgi:/webhooks/lean",
        200,
        "customer.active",
    )
    assert received[0].data.partner_user_id == "uid_2"  # type: ignore[union-attr]
