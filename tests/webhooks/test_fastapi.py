"""The FastAPI integration: `webhook_router` and `verified_event`, in-process and on uvicorn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from lean_async.models import EventType, WebhookEvent
from lean_async.webhooks import MemoryDedupStore
from lean_async.webhooks.fastapi import verified_event, webhook_router
from tests.webhooks._support import API_KEY, OLD_KEY, event_body, free_port, poll, signed
from tests.webhooks.test_delivery import Recorder

LIMIT = 4096


def make_app(handler: Recorder, *, store: MemoryDedupStore | None = None) -> FastAPI:
    """Return an app with the webhook router at /webhooks/lean and a dependency route."""
    app = FastAPI()
    app.include_router(
        webhook_router(
            api_key=[API_KEY, OLD_KEY], handler=handler, store=store, max_body_bytes=LIMIT
        )
    )
    app.include_router(
        webhook_router(api_key=API_KEY, handler=handler, path="/default-store"),
    )

    @app.post("/custom")
    async def custom(
        event: WebhookEvent = Depends(verified_event(api_key=API_KEY, max_body_bytes=LIMIT)),  # noqa: B008
    ) -> dict[str, str]:
        return {"id": event.id, "type": str(event.type)}

    return app


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    """An in-process client of a fresh app, and the handler it calls."""
    handler = Recorder()
    transport = httpx.ASGITransport(app=make_app(handler))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http, handler


async def post(http: httpx.AsyncClient, path: str, body: object, **headers: str) -> httpx.Response:
    """POST a signed *body* to *path*, with extra or overriding headers."""
    payload, signed_headers = signed(body)
    overridden = {name.lower() for name in headers}
    kept = {k: v for k, v in signed_headers.items() if k.lower() not in overridden}
    return await http.post(path, content=payload, headers={**kept, **headers})


async def test_valid_delivery_is_processed(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    """A signed delivery gets 200 and reaches the handler."""
    http, handler = client
    response = await post(http, "/webhooks/lean", event_body())
    assert response.status_code == 200
    assert response.json() == {"status": "processed", "event_id": "evt_1"}
    assert handler.processed == ["evt_1"]


async def test_duplicate_is_200_without_calling_the_handler(
    client: tuple[httpx.AsyncClient, Recorder],
) -> None:
    """Lean's retry of a processed event gets 200 and the handler is not called again."""
    http, handler = client
    await post(http, "/webhooks/lean", event_body())
    response = await post(http, "/webhooks/lean", event_body())
    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert handler.calls == 1


async def test_rotated_key_is_accepted(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    """A delivery signed with the old key of a rotation list is processed."""
    http, _ = client
    payload, headers = signed(event_body(), OLD_KEY)
    response = await http.post("/webhooks/lean", content=payload, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"x-lean-signature": ""}, "missing_signature"),
        ({"X-Lean-Signature": "not base64!"}, "malformed_signature"),
        ({"x-lean-signature": "A" * 27 + "="}, "signature_mismatch"),
    ],
)
async def test_bad_signatures_are_401(
    client: tuple[httpx.AsyncClient, Recorder], headers: dict[str, str], reason: str
) -> None:
    """Missing, malformed and wrong signatures get 401 with the reason."""
    http, handler = client
    response = await post(http, "/webhooks/lean", event_body(), **headers)
    assert response.status_code == 401
    assert response.json() == {"status": "rejected", "reason": reason}
    assert handler.calls == 0


async def test_unsigned_request_is_401(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    """A request without the header at all gets 401."""
    http, _ = client
    response = await http.post("/webhooks/lean", json=event_body())
    assert response.status_code == 401


@pytest.mark.parametrize(("body", "reason"), [(b"nope", "invalid_json"), ([1], "invalid_shape")])
async def test_bad_bodies_are_400(
    client: tuple[httpx.AsyncClient, Recorder], body: object, reason: str
) -> None:
    """Signed bodies that are not Lean events get 400."""
    http, _ = client
    response = await post(http, "/webhooks/lean", body)
    assert (response.status_code, response.json()["reason"]) == (400, reason)


async def test_too_large_by_content_length_is_413(
    client: tuple[httpx.AsyncClient, Recorder],
) -> None:
    """A Content-Length over the limit gets 413."""
    http, _ = client
    response = await post(http, "/webhooks/lean", b" " * (LIMIT + 1))
    assert (response.status_code, response.json()["reason"]) == (413, "payload_too_large")


async def test_too_large_chunked_body_is_413(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    """A chunked body without Content-Length is cut off at the limit with 413."""
    http, _ = client

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    response = await http.post("/webhooks/lean", content=chunks())
    assert response.status_code == 413


async def test_chunked_body_within_the_limit_is_processed(
    client: tuple[httpx.AsyncClient, Recorder],
) -> None:
    """A signed body sent in chunks is reassembled and processed."""
    http, handler = client
    payload, headers = signed(event_body())

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 100):
            yield payload[start : start + 100]

    response = await http.post("/webhooks/lean", content=chunks(), headers=headers)
    assert response.status_code == 200
    assert handler.processed == ["evt_1"]


async def test_failing_receiver_processes_exactly_once() -> None:
    """A receiver that fails its first two deliveries still processes the event exactly once."""
    handler = Recorder(failures=2)
    transport = httpx.ASGITransport(app=make_app(handler))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        statuses = [
            (await post(http, "/webhooks/lean", event_body())).status_code for _ in range(5)
        ]
    assert statuses == [500, 500, 200, 200, 200]
    assert handler.processed == ["evt_1"]


async def test_concurrent_duplicates_get_one_processing_and_409s() -> None:
    """20 simultaneous copies: one is processed, the rest are told 409 (in progress)."""
    gate = asyncio.Event()
    handler = Recorder(gate=gate)
    transport = httpx.ASGITransport(app=make_app(handler))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        tasks = [asyncio.create_task(post(http, "/webhooks/lean", event_body())) for _ in range(20)]
        await asyncio.sleep(0.1)
        gate.set()
        responses = await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert handler.processed == ["evt_1"]


async def test_default_store_deduplicates(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    """Without store=, the router makes its own MemoryDedupStore."""
    http, handler = client
    first = await post(http, "/default-store", event_body())
    second = await post(http, "/default-store", event_body())
    assert [first.json()["status"], second.json()["status"]] == ["processed", "duplicate"]
    assert handler.calls == 1


async def test_verified_event_dependency(client: tuple[httpx.AsyncClient, Recorder]) -> None:
    """The dependency hands the route the typed event, or answers 401/400/413 itself."""
    http, _ = client
    ok = await post(http, "/custom", event_body())
    assert ok.json() == {"id": "evt_1", "type": str(EventType.GIG_COMPLETED)}
    unsigned = await http.post("/custom", json=event_body())
    assert (unsigned.status_code, unsigned.json()) == (401, {"detail": "missing_signature"})
    bad = await post(http, "/custom", b"[")
    assert (bad.status_code, bad.json()) == (400, {"detail": "invalid_json"})
    large = await post(http, "/custom", b" " * (LIMIT + 1))
    assert (large.status_code, large.json()) == (413, {"detail": "payload_too_large"})


def test_configuration_errors_surface_when_building() -> None:
    """An empty key list fails at router/dependency construction, not per request."""
    with pytest.raises(ValueError, match="api_key"):
        webhook_router(api_key=[], handler=Recorder())
    with pytest.raises(ValueError, match="api_key"):
        verified_event(api_key="")


async def test_on_a_real_uvicorn_server() -> None:
    """Over real sockets: 200, duplicate 200, 401, 400, 413 and a failing-then-ok retry."""
    handler = Recorder()
    app = make_app(handler)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await poll(lambda: server.started or task.done(), what="uvicorn did not start")
        assert server.started, "uvicorn exited during startup"
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as http:
            first = await post(http, "/webhooks/lean", event_body())
            again = await post(http, "/webhooks/lean", event_body())
            unsigned = await http.post("/webhooks/lean", json=event_body(event_id="evt_2"))
            bad = await post(http, "/webhooks/lean", b"{")
            large = await post(http, "/webhooks/lean", b" " * (LIMIT + 1))
            handler.failures = handler.calls + 1  # the next call fails once
            failed = await post(http, "/webhooks/lean", event_body(event_id="evt_3"))
            retried = await post(http, "/webhooks/lean", event_body(event_id="evt_3"))
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
    assert [first.status_code, json.loads(again.content)["status"]] == [200, "duplicate"]
    assert [unsigned.status_code, bad.status_code, large.status_code] == [401, 400, 413]
    assert [failed.status_code, retried.status_code] == [500, 200]
    assert handler.processed == ["evt_1", "evt_3"]
