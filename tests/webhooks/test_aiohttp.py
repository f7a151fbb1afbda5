"""The aiohttp integration: `webhook_handler` on a real TestServer, and `lean_client_ctx`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lean_async import LeanClient, LeanError
from lean_async.models import Customer, EventType, WebhookEvent
from lean_async.webhooks import MemoryDedupStore
from lean_async.webhooks.aiohttp import LEAN_CLIENT, lean_client_ctx, webhook_handler
from tests.webhooks._support import API_KEY, OLD_KEY, event_body, signed
from tests.webhooks.test_delivery import Recorder

LIMIT = 4096

Client = TestClient[web.Request, web.Application]


def make_app(handler: Recorder, *, store: MemoryDedupStore | None = None) -> web.Application:
    """Return an app receiving webhooks at /webhooks/lean (and /default-store)."""
    app = web.Application()
    receive = webhook_handler(
        api_key=[API_KEY, OLD_KEY], handler=handler, store=store, max_body_bytes=LIMIT
    )
    app.router.add_post("/webhooks/lean", receive)
    app.router.add_post("/default-store", webhook_handler(api_key=API_KEY, handler=handler))
    return app


@pytest.fixture
async def client() -> AsyncIterator[tuple[Client, Recorder]]:
    """A client of a fresh app served on 127.0.0.1, and the handler it calls."""
    handler = Recorder()
    async with TestClient(TestServer(make_app(handler), host="127.0.0.1")) as http:
        yield http, handler


async def post(http: Client, path: str, body: object, **headers: str) -> tuple[int, dict[str, str]]:
    """POST a signed *body* to *path*; return the status and JSON answer."""
    payload, signed_headers = signed(body)
    overridden = {name.lower() for name in headers}
    kept = {k: v for k, v in signed_headers.items() if k.lower() not in overridden}
    async with http.post(path, data=payload, headers={**kept, **headers}) as response:
        return response.status, await response.json()


async def test_valid_delivery_then_duplicate(client: tuple[Client, Recorder]) -> None:
    """The first delivery is processed (200), its retry is a 200 duplicate."""
    http, handler = client
    assert await post(http, "/webhooks/lean", event_body()) == (
        200,
        {"status": "processed", "event_id": "evt_1"},
    )
    status, body = await post(http, "/webhooks/lean", event_body())
    assert (status, body["status"]) == (200, "duplicate")
    assert handler.calls == 1


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({"x-lean-signature": ""}, 401, "missing_signature"),
        ({"X-LEAN-SIGNATURE": "é"}, 401, "malformed_signature"),
        ({"x-lean-signature": "A" * 27 + "="}, 401, "signature_mismatch"),
    ],
)
async def test_bad_signatures_are_401(
    client: tuple[Client, Recorder], headers: dict[str, str], status: int, reason: str
) -> None:
    """Missing, malformed and wrong signatures get 401 with the reason."""
    http, handler = client
    result = await post(http, "/webhooks/lean", event_body(), **headers)
    assert result == (status, {"status": "rejected", "reason": reason})
    assert handler.calls == 0


@pytest.mark.parametrize(("body", "reason"), [(b"]", "invalid_json"), ({}, "invalid_shape")])
async def test_bad_bodies_are_400(
    client: tuple[Client, Recorder], body: object, reason: str
) -> None:
    """Signed bodies that are not Lean events get 400."""
    http, _ = client
    status, answer = await post(http, "/webhooks/lean", body)
    assert (status, answer["reason"]) == (400, reason)


async def test_too_large_is_413(client: tuple[Client, Recorder]) -> None:
    """A body over the limit gets 413, by Content-Length or when streamed in chunks."""
    http, _ = client
    status, answer = await post(http, "/webhooks/lean", b" " * (LIMIT + 1))
    assert (status, answer["reason"]) == (413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    async with http.post("/webhooks/lean", data=chunks()) as response:
        assert response.status == 413


async def test_chunked_body_within_the_limit_is_processed(
    client: tuple[Client, Recorder],
) -> None:
    """A signed body streamed in chunks is reassembled and processed."""
    http, handler = client
    payload, headers = signed(event_body())

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 100):
            yield payload[start : start + 100]

    async with http.post("/webhooks/lean", data=chunks(), headers=headers) as response:
        assert response.status == 200
    assert handler.processed == ["evt_1"]


async def test_failing_receiver_processes_exactly_once() -> None:
    """A receiver that fails its first two deliveries still processes the event exactly once."""
    handler = Recorder(failures=2)
    async with TestClient(TestServer(make_app(handler), host="127.0.0.1")) as http:
        statuses = [(await post(http, "/webhooks/lean", event_body()))[0] for _ in range(5)]
    assert statuses == [500, 500, 200, 200, 200]
    assert handler.processed == ["evt_1"]


async def test_concurrent_duplicates_get_one_processing_and_409s() -> None:
    """20 simultaneous copies: one is processed, the rest are told 409 (in progress)."""
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    async with TestClient(TestServer(make_app(handler), host="127.0.0.1")) as http:
        tasks = [asyncio.create_task(post(http, "/webhooks/lean", event_body())) for _ in range(20)]
        await asyncio.sleep(0.2)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    assert sorted(status for status, _ in results) == [200] + [409] * 19
    assert handler.processed == ["evt_1"]


async def test_default_store_deduplicates(client: tuple[Client, Recorder]) -> None:
    """Without store=, the handler makes its own MemoryDedupStore."""
    http, handler = client
    first = await post(http, "/default-store", event_body())
    second = await post(http, "/default-store", event_body())
    assert [first[1]["status"], second[1]["status"]] == ["processed", "duplicate"]
    assert handler.calls == 1


def test_configuration_errors_surface_when_building() -> None:
    """An empty key list fails when the handler is built, not per request."""
    with pytest.raises(ValueError, match="api_key"):
        webhook_handler(api_key=[], handler=Recorder())


async def test_lean_client_ctx_opens_and_closes_one_shared_client() -> None:
    """cleanup_ctx puts one LeanClient in app[LEAN_CLIENT] and closes it at shutdown."""
    app = web.Application()
    app.cleanup_ctx.append(lean_client_ctx(api_key="k", base_url="http://127.0.0.1:9/api"))
    seen: list[LeanClient] = []

    async def where(request: web.Request) -> web.Response:
        lean = request.app[LEAN_CLIENT]
        seen.append(lean)
        return web.json_response({"base_url": lean.base_url})

    app.router.add_get("/where", where)
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        for _ in range(2):
            async with http.get("/where") as response:
                assert (await response.json())["base_url"].startswith("http://127.0.0.1:9/api")
    assert len(seen) == 2
    assert seen[0] is seen[1]
    with pytest.raises(LeanError, match="closed"):
        await seen[0].customers.get("uid_1")


async def test_lean_client_ctx_under_a_custom_key() -> None:
    """key= stores the client elsewhere, e.g. for two clients in one app."""
    other: web.AppKey[LeanClient] = web.AppKey("other_lean", LeanClient)
    app = web.Application()
    app.cleanup_ctx.append(lean_client_ctx(key=other, api_key="k2"))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert isinstance(app[other], LeanClient)
        assert LEAN_CLIENT not in app
    finally:
        await runner.cleanup()


async def test_partial_customer_inactive_reaches_the_handler_raw(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A signed customer.inactive with partial data is 200 and the handler gets the raw data."""
    received: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)

    data = {"partnerUserId": "uid_9", "status": "INACTIVE"}
    app = web.Application()
    app.router.add_post("/webhooks/lean", webhook_handler(api_key=API_KEY, handler=on_event))
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
            status, answer = await post(
                http, "/webhooks/lean", event_body("customer.inactive", data)
            )
    assert (status, answer["status"]) == (200, "processed")
    assert [(e.type, e.data) for e in received] == [(EventType.CUSTOMER_INACTIVE, data)]
    assert not isinstance(received[0].data, Customer)
    assert "@ $.data.firstName" in caplog.text


async def test_rejections_are_logged_at_warning_with_their_reason(
    client: tuple[Client, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    """Bad signature, too large, not JSON and no event type each log a WARNING naming why."""
    http, _ = client
    with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
        await post(http, "/webhooks/lean", event_body(), **{"x-lean-signature": "A" * 27 + "="})
        await post(http, "/webhooks/lean", b" " * (LIMIT + 1))
        await post(http, "/webhooks/lean", b"nope")
        await post(http, "/webhooks/lean", {"data": {}})
    reasons = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    expected = ["signature_mismatch", "payload_too_large", "invalid_json", "invalid_shape"]
    assert len(reasons) == len(expected)
    for message, reason in zip(reasons, expected, strict=True):
        assert reason in message
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"api_key": None}, TypeError),
        ({"api_key": [API_KEY, ""]}, ValueError),
        ({"api_key": API_KEY, "max_body_bytes": 1.5}, TypeError),
    ],
)
def test_bad_configuration_fails_when_the_handler_is_built(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A missing key or a bad limit raises at app build time, not as 401s per request."""
    with pytest.raises(error):
        webhook_handler(handler=Recorder(), **kwargs)
