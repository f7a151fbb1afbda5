"""Fixtures and helpers for the sandbox tests: a ManualClock sandbox and a raw client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import pytest
import uvicorn

from lean_async.sandbox import ManualClock, Sandbox

KEY = "sk_test_sandbox"

Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Scope]], Callable[[Scope], Awaitable[None]]], Awaitable[None]
]


def customer_body(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """Return a valid POST /customer body whose unique fields depend on *n*."""
    body: dict[str, Any] = {
        "firstName": "Jane",
        "lastName": "Doe",
        "birthday": "1980-12-31",
        "phoneNumber": f"40850{n:05d}",
        "email": f"jane{n}@example.com",
        "street": "700 Treehouse Drive",
        "city": "San Jose",
        "state": "CA",
        "postalCode": "95101",
        "partnerUserId": f"uid_{n}",
        "registrationDate": "2020-01-01",
    }
    return body | overrides


def gig_body(n: int = 1, partner_user_id: str = "uid_1", **overrides: Any) -> dict[str, Any]:
    """Return a valid POST /gig body for *partner_user_id*."""
    body: dict[str, Any] = {
        "partnerUserId": partner_user_id,
        "totalAmount": "15.00",
        "description": "Gig Payout",
        "gigId": f"gig_{n}",
        "startTime": "2021-03-01T21:04:04.000Z",
        "endTime": "2021-03-01T21:31:05.000Z",
        "tips": "3.00",
        "expenses": "2.00",
    }
    return body | overrides


def payment_body(partner_user_id: str = "uid_1", **overrides: Any) -> dict[str, Any]:
    """Return a valid POST /specialpayment body for *partner_user_id*."""
    body: dict[str, Any] = {
        "partnerUserId": partner_user_id,
        "amount": "4.56",
        "type": "reimbursement",
        "description": "Parking receipt from 3/1/2021",
        "userdata": {"receiptId": "receipt_4242551"},
    }
    return body | overrides


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at 2025-01-01 UTC."""
    return ManualClock()


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[Sandbox]:
    """A sandbox on the manual clock, closed after the test."""
    async with Sandbox(api_key=KEY, clock=clock) as box:
        yield box


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A raw httpx client talking to the sandbox in-process."""
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=sandbox.base_url, auth=(KEY, "")
    ) as client:
        yield client


async def add_active_customer(api: httpx.AsyncClient, sandbox: Sandbox, n: int = 1) -> str:
    """Create customer *n*, activate it, and return its partnerUserId."""
    response = await api.post("/customer", json=customer_body(n))
    assert response.status_code == 200, response.text
    partner_user_id: str = response.json()["partnerUserId"]
    sandbox.activate_customer(partner_user_id)
    return partner_user_id


@contextlib.asynccontextmanager
async def serve_asgi(app: ASGIApp) -> AsyncIterator[str]:
    """Serve a small ASGI app on a free 127.0.0.1 port and yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # at most 10 seconds
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
