"""The sandbox as the sender: real HTTP webhooks to FastAPI (uvicorn) and aiohttp receivers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import web
from aiohttp.test_utils import TestServer
from fastapi import FastAPI

from lean_async import EventType, LeanClient, WebhookEvent
from lean_async.sandbox import ManualClock, Sandbox
from lean_async.webhooks import MemoryDedupStore, sign
from lean_async.webhooks.aiohttp import webhook_handler
from lean_async.webhooks.fastapi import webhook_router
from tests.e2e.conftest import new_customer, new_gig

KEY = "sk_sandbox_webhooks"
PATH = "/webhooks/lean"


class FlakyHandler:
    """Fails the first *failures* calls for each event, then records it as processed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: Counter[str] = Counter()
        self.processed: list[tuple[str, EventType | str]] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.calls[event.id] += 1
        if self.calls[event.id] <= self.failures:
            raise RuntimeError("the receiver's database is down")
        self.processed.append((event.id, event.type))


@contextlib.asynccontextmanager
async def fastapi_receiver(handler: FlakyHandler) -> AsyncIterator[str]:
    """The FastAPI integration under uvicorn on a free 127.0.0.1 port."""
    app = FastAPI()
    app.include_router(webhook_router(api_key=KEY, handler=handler, store=MemoryDedupStore()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                assert not task.done(), "uvicorn exited during startup"
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}{PATH}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@contextlib.asynccontextmanager
async def aiohttp_receiver(handler: FlakyHandler) -> AsyncIterator[str]:
    """The aiohttp integration on a 127.0.0.1 port."""
    app = web.Application()
    app.router.add_post(PATH, webhook_handler(api_key=KEY, handler=handler))
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url(PATH))


Receiver = Callable[[FlakyHandler], contextlib.AbstractAsyncContextManager[str]]
RECEIVERS = pytest.mark.parametrize(
    "receiver", [fastapi_receiver, aiohttp_receiver], ids=["fastapi", "aiohttp"]
)


@RECEIVERS
async def test_failing_receiver_processes_each_event_exactly_once(receiver: Receiver) -> None:
    """Two failed deliveries per event, then Lean-style retries: each event handled once."""
    handler = FlakyHandler(failures=2)
    async with (
        Sandbox(api_key=KEY, clock=ManualClock(), webhook_retry_base=1.0) as sandbox,
        receiver(handler) as url,
        LeanClient(api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport()) as lean,
    ):
        sandbox.register_webhook(url)
        await new_customer(lean)
        await lean.applications.submit("uid_1")
        await sandbox.advance(1.0)
        await new_gig(lean)
        for _ in range(6):  # 1 + 5 retries with backoff: bounded, on the sandbox's clock
            await sandbox.advance(10.0)
    assert [kind for _, kind in handler.processed] == [
        EventType.CUSTOMER_ACTIVE,
        EventType.GIG_COMPLETED,
    ]
    assert all(count == 3 for count in handler.calls.values())
    per_event: dict[str, list[int | None]] = {}
    for delivery in sandbox.deliveries:
        if delivery.destination == url:
            per_event.setdefault(delivery.event_id, []).append(delivery.status_code)
    assert list(per_event.values()) == [[500, 500, 200], [500, 500, 200]]


@RECEIVERS
async def test_tampered_deliveries_are_refused(receiver: Receiver) -> None:
    """A sender with another key, and a body changed after signing, are refused with 401."""
    handler = FlakyHandler(failures=0)
    async with (
        Sandbox(api_key="sk_someone_else", clock=ManualClock()) as impostor,
        receiver(handler) as url,
        LeanClient(
            api_key="sk_someone_else", base_url=impostor.base_url, transport=impostor.transport()
        ) as lean,
    ):
        impostor.register_webhook(url)
        await new_customer(lean)
        impostor.activate_customer("uid_1")
        for _ in range(7):
            await impostor.advance(60.0)
        body = b'{"id":"evt_x","event":"gig.completed","data":{}}'
        tampered = body.replace(b"gig.completed", b"gig.failed")
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                url, content=tampered, headers={"x-lean-signature": sign(body, KEY)}
            )
    assert response.status_code == 401
    attempts: list[Any] = [d for d in impostor.deliveries if d.destination == url]
    assert len(attempts) == 6
    assert {d.status_code for d in attempts} == {401}
    assert handler.calls == Counter()
