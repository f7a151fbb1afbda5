"""LeanError -> HTTP answer: `add_lean_error_handlers` (FastAPI on uvicorn) and
`lean_error_middleware` (aiohttp on a real server), over loopback sockets.

Each app calls Lean through a `LeanClient` whose base is an `httpx.MockTransport` playing
Lean (404, 429 with Retry-After, 503, 401, 500, a timeout, a refused connection); a bad
amount is refused by the client's own validation. No answer may hold the API key.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import web
from aiohttp.test_utils import TestServer
from fastapi import FastAPI, Request

from lean_async import LeanClient, LeanError, SandboxOnlyError, WebhookVerificationError
from lean_async.webhooks._answers import error_answer
from lean_async.webhooks.aiohttp import lean_error_middleware
from lean_async.webhooks.fastapi import add_lean_error_handlers
from tests.webhooks._support import free_port, poll

KEY = "sk_test_answers_9f3c"
TOKEN = base64.b64encode(f"{KEY}:".encode()).decode()
START = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


def play_lean(request: httpx.Request) -> httpx.Response:
    """Lean as the tests need it: the gig id says how to answer."""
    gig_id = request.url.path.rsplit("/", 1)[-1]
    if gig_id == "gig_timeout":
        raise httpx.ReadTimeout("timed out", request=request)
    if gig_id == "gig_refused":
        raise httpx.ConnectError("connection refused", request=request)
    status = int(gig_id.removeprefix("gig_"))
    headers = {"Retry-After": "7"} if status in {429, 503} else {}
    # An upstream 401 that quotes the key: the answer must not pass it on.
    message = f"key {KEY} refused" if status == 401 else f"Gig {gig_id} not found"
    return httpx.Response(status, json={"message": message}, headers=headers)


def lean_client() -> LeanClient:
    """A client of the played Lean: no retries, so each case is one attempt."""
    return LeanClient(
        api_key=KEY,
        base_url="https://app.staging.withlean.com/api",
        transport=httpx.MockTransport(play_lean),
        max_retries=0,
    )


async def create_payout(lean: LeanClient, body: dict[str, Any]) -> str:
    """Create a gig from a request body, as a user's payout route would."""
    gig = await lean.gigs.create(
        partner_user_id=body["worker"],
        gig_id="gig_1",
        total_amount=body["amount"],
        tips="0",
        expenses="0",
        description="shift",
        start_time=START,
        end_time=START + dt.timedelta(hours=1),
    )
    return gig.gig_id


def fastapi_app() -> FastAPI:
    """A FastAPI service calling Lean, with the handlers installed."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with lean_client() as lean:
            app.state.lean = lean
            yield

    app = FastAPI(lifespan=lifespan)
    add_lean_error_handlers(app)

    @app.get("/gigs/{gig_id}")
    async def get_gig(gig_id: str, request: Request) -> dict[str, str]:
        gig = await request.app.state.lean.gigs.get(gig_id)
        return {"gig": gig.gig_id}

    @app.post("/payouts")
    async def pay(request: Request) -> dict[str, str]:
        return {"gig": await create_payout(request.app.state.lean, await request.json())}

    @app.get("/sandbox-only")
    async def sandbox_only() -> None:
        raise SandboxOnlyError("applications.submit exists only in the sandbox")

    @app.get("/plain")
    async def plain() -> None:
        raise RuntimeError("not a LeanError")

    return app


LEAN = web.AppKey("lean", LeanClient)


def aiohttp_app() -> web.Application:
    """The same service on aiohttp, with the middleware installed."""
    app = web.Application(middlewares=[lean_error_middleware])

    async def lean_ctx(app: web.Application) -> AsyncIterator[None]:
        async with lean_client() as lean:
            app[LEAN] = lean
            yield

    app.cleanup_ctx.append(lean_ctx)

    async def get_gig(request: web.Request) -> web.Response:
        gig = await request.app[LEAN].gigs.get(request.match_info["gig_id"])
        return web.json_response({"gig": gig.gig_id})

    async def pay(request: web.Request) -> web.Response:
        gig_id = await create_payout(request.app[LEAN], await request.json())
        return web.json_response({"gig": gig_id})

    async def sandbox_only(_: web.Request) -> web.Response:
        raise SandboxOnlyError("applications.submit exists only in the sandbox")

    async def plain(_: web.Request) -> web.Response:
        raise RuntimeError("not a LeanError")

    app.router.add_get("/gigs/{gig_id}", get_gig)
    app.router.add_post("/payouts", pay)
    app.router.add_get("/sandbox-only", sandbox_only)
    app.router.add_get("/plain", plain)
    return app


@asynccontextmanager
async def served_fastapi() -> AsyncIterator[str]:
    """Serve `fastapi_app` on uvicorn at 127.0.0.1; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(fastapi_app(), host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await poll(lambda: server.started or task.done(), what="uvicorn did not start")
        assert server.started, "uvicorn exited during startup"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def served_aiohttp() -> AsyncIterator[str]:
    """Serve `aiohttp_app` on a real aiohttp server at 127.0.0.1; yield its base URL."""
    async with TestServer(aiohttp_app(), host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


SERVERS: dict[str, Callable[[], Any]] = {"fastapi": served_fastapi, "aiohttp": served_aiohttp}


@pytest.fixture(params=sorted(SERVERS))
async def service(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the served app, each framework in turn."""
    async with (
        SERVERS[request.param]() as base,
        httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as http,
    ):
        yield http


def assert_no_secret(response: httpx.Response) -> None:
    """Neither the key nor its Basic token is anywhere in the answer."""
    seen = response.text + repr(response.headers.multi_items())
    assert KEY not in seen
    assert TOKEN not in seen


async def test_a_bad_amount_is_422_with_the_field(service: httpx.AsyncClient) -> None:
    """A ValidationError (nothing sent) is 422 naming every bad field and its rule."""
    response = await service.post("/payouts", json={"worker": "", "amount": "15.001"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    fields = {f["field"]: f["message"] for f in error["fields"]}
    assert set(fields) == {"partner_user_id", "total_amount"}
    assert "decimal places" in fields["total_amount"]
    assert_no_secret(response)


@pytest.mark.parametrize(
    ("gig_id", "status", "kind", "retry_after"),
    [
        ("gig_404", 404, "not_found", None),
        ("gig_400", 400, "bad_request", None),
        ("gig_409", 409, "conflict", None),
        ("gig_429", 429, "rate_limited", "7"),
        ("gig_503", 503, "unavailable", "7"),
        ("gig_500", 502, "upstream_error", None),
        ("gig_401", 502, "upstream_auth", None),
        ("gig_403", 502, "upstream_auth", None),
        ("gig_418", 502, "upstream_error", None),
        ("gig_timeout", 504, "upstream_timeout", None),
        ("gig_refused", 502, "upstream_unreachable", None),
    ],
)
async def test_lean_failures_become_their_answers(
    service: httpx.AsyncClient,
    gig_id: str,
    status: int,
    kind: str,
    retry_after: str | None,
) -> None:
    """Each upstream outcome maps to one status and type; Retry-After is kept on 429/503."""
    response = await service.get(f"/gigs/{gig_id}")
    assert response.status_code == status
    assert response.json()["error"]["type"] == kind
    assert response.headers.get("retry-after") == retry_after
    assert_no_secret(response)


async def test_lean_text_passes_only_for_the_callers_4xx(service: httpx.AsyncClient) -> None:
    """A 404 carries Lean's text; a 401 gets a fixed message (it quoted the key)."""
    missing = await service.get("/gigs/gig_404")
    refused = await service.get("/gigs/gig_401")
    assert missing.json()["error"]["message"] == "Gig gig_404 not found"
    assert refused.json()["error"]["message"] == "the payments provider refused this service"


async def test_other_lean_errors_are_500_and_others_untouched(
    service: httpx.AsyncClient,
) -> None:
    """A SandboxOnlyError is a JSON 500; a non-Lean exception is the framework's own 500."""
    sandbox_only = await service.get("/sandbox-only")
    plain = await service.get("/plain")
    assert sandbox_only.status_code == 500
    assert sandbox_only.json() == {"error": {"type": "internal_error", "message": "internal error"}}
    assert plain.status_code == 500
    assert plain.headers["content-type"].startswith("text/plain")  # the framework's own page


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("signature_mismatch", 401),
        ("missing_signature", 401),
        ("payload_too_large", 413),
        ("invalid_json", 400),
    ],
)
def test_webhook_rejections_answer_by_reason(reason: str, status: int) -> None:
    """A WebhookVerificationError escaping a route is 401, 413 or 400 by its reason."""
    answer = error_answer(WebhookVerificationError("rejected", reason=reason))
    assert (answer.status, answer.body) == (
        status,
        {"error": {"type": "webhook_rejected", "message": reason}},
    )


def test_server_side_answers_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An answer of 500 or more is logged with the error's class; a 4xx is not."""
    with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
        error_answer(LeanError("boom"))
        error_answer(WebhookVerificationError("bad", reason="invalid_json"))
    assert [r.getMessage() for r in caplog.records] == ["answered 500 to LeanError: boom"]
