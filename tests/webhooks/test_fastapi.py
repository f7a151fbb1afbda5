"""The FastAPI integration: `webhook_router` and `verified_event`, in-process and on uvicorn."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from lean_async import LeanClient, LeanError
from lean_async.models import Customer, EventType, WebhookEvent
from lean_async.webhooks import MemoryDedupStore
from lean_async.webhooks.fastapi import (
    LeanClientDep,
    get_lean_client,
    lean_client_lifespan,
    verified_event,
    webhook_router,
)
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


PARTIAL_CUSTOMER = {"partnerUserId": "uid_9", "status": "INACTIVE"}


async def test_partial_customer_inactive_reaches_the_handler_raw(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A signed customer.inactive with partial data is 200 and the handler gets the raw data."""
    received: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)

    app = FastAPI()
    app.include_router(webhook_router(api_key=API_KEY, handler=on_event))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
            response = await post(
                http, "/webhooks/lean", event_body("customer.inactive", PARTIAL_CUSTOMER)
            )
    assert (response.status_code, response.json()["status"]) == (200, "processed")
    assert [(e.type, e.data) for e in received] == [(EventType.CUSTOMER_INACTIVE, PARTIAL_CUSTOMER)]
    assert not isinstance(received[0].data, Customer)
    assert "@ $.data.firstName" in caplog.text


async def test_rejections_are_logged_at_warning_with_their_reason(
    client: tuple[httpx.AsyncClient, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    """Bad signature, too large, not JSON and no event type each log a WARNING naming why."""
    http, _ = client
    with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
        await post(http, "/webhooks/lean", event_body(), **{"x-lean-signature": "A" * 27 + "="})
        await post(http, "/webhooks/lean", b" " * (LIMIT + 1))
        await post(http, "/webhooks/lean", b"nope")
        await post(http, "/webhooks/lean", {"data": {}})
        await post(http, "/custom", b"nope")
    reasons = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    expected = ["signature_mismatch", "payload_too_large", "invalid_json", "invalid_shape"]
    assert len(reasons) == 5
    for message, reason in zip(reasons, [*expected, "invalid_json"], strict=True):
        assert reason in message
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"api_key": None}, TypeError),
        ({"api_key": ""}, ValueError),
        ({"api_key": API_KEY, "max_body_bytes": "1MB"}, TypeError),
        ({"api_key": API_KEY, "max_body_bytes": -1}, ValueError),
    ],
)
def test_bad_configuration_fails_when_the_router_is_built(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A missing key or a bad limit raises at app build time, not as 401s per request."""
    with pytest.raises(error):
        webhook_router(handler=Recorder(), **kwargs)
    with pytest.raises(error):
        verified_event(**kwargs)


def make_lean_app(**client_kwargs: Any) -> tuple[FastAPI, list[LeanClient]]:
    """An app using lean_client_lifespan, with a route recording the client it was given."""
    app = FastAPI(lifespan=lean_client_lifespan(**client_kwargs))
    seen: list[LeanClient] = []

    @app.get("/where")
    async def where(lean: LeanClientDep) -> dict[str, str]:
        seen.append(lean)
        return {"base_url": str(lean.base_url)}

    @app.get("/where-depends")
    async def where_depends(lean: LeanClient = Depends(get_lean_client)) -> dict[str, str]:  # noqa: B008
        seen.append(lean)
        return {"base_url": str(lean.base_url)}

    return app, seen


async def test_lean_client_lifespan_shares_one_client_and_closes_it() -> None:
    """The lifespan opens one LeanClient for every request and closes it on shutdown."""
    app, seen = make_lean_app(api_key="k", base_url="http://127.0.0.1:9/api")
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        for path in ("/where", "/where", "/where-depends"):
            answer = (await http.get(path)).json()
            assert answer["base_url"].startswith("http://127.0.0.1:9/api")
    assert len(seen) == 3
    assert seen[0] is seen[1] is seen[2]
    with pytest.raises(LeanError, match="closed"):
        await seen[0].customers.get("uid_1")


async def test_lean_client_lifespan_fails_startup_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an API key the app refuses to start (LeanError), before any request."""
    monkeypatch.delenv("LEAN_API_KEY", raising=False)
    app, _ = make_lean_app()
    with pytest.raises(LeanError, match=r"(?i)api.key"):
        async with app.router.lifespan_context(app):
            pytest.fail("the app started without a key")


async def test_get_lean_client_without_the_lifespan_says_what_to_do() -> None:
    """A route asking for the client in an app without the lifespan gets a clear error."""
    app = FastAPI()

    @app.get("/where")
    async def where(lean: LeanClientDep) -> str:
        return str(lean.base_url)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with pytest.raises(RuntimeError, match=r"lifespan=lean_client_lifespan\(\)"):
            await http.get("/where")
