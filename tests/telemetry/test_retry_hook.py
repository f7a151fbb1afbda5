"""Backoffs reach the call's span through the retry layer's ``on_retry`` hook."""

from __future__ import annotations

import httpx

from lean_async._config import Secret
from lean_async._telemetry import run_call, telemetry_for
from lean_async.transport import RetryDetails, RetryPolicy, build_stack
from lean_async.transport import extensions as ext
from tests.telemetry.conftest import KEY, Otel, answers


def _stack(otel: Otel, seen: list[RetryDetails]) -> tuple[httpx.AsyncBaseTransport, object]:
    telemetry = telemetry_for(otel.tracer_provider, otel.meter_provider, None, "/api/")
    assert telemetry is not None
    policy = RetryPolicy(backoff_base=0.0, backoff_cap=0.0, on_retry=seen.append)
    stack = build_stack(
        httpx.MockTransport(answers(503, 200, body={})),
        api_key=Secret(KEY),
        policy=policy,
        budget=None,
        telemetry=telemetry,
    )
    return stack, telemetry


def _request() -> httpx.Request:
    return httpx.Request("GET", "https://app.staging.withlean.com/api/gig", extensions={})


async def test_the_callers_hook_still_runs_after_the_span_event(otel: Otel) -> None:
    """A policy's own on_retry sees each retry, after the backoff is on the call's span."""
    seen: list[RetryDetails] = []
    stack, telemetry = _stack(otel, seen)
    active = telemetry.active()  # type: ignore[attr-defined]
    assert active is not None
    response = await run_call(active, "gigs.list", stack.handle_async_request(_request()))
    assert response.status_code == 200
    assert [(d.cause, d.attempt) for d in seen] == [("HTTP 503", 1)]
    (call,) = otel.spans("lean.gigs.list")
    assert [(e.name, (e.attributes or {})["lean.retry.cause"]) for e in call.events] == [
        ("lean.retry", "503")
    ]


async def test_a_call_outside_any_traced_call_only_runs_the_callers_hook(otel: Otel) -> None:
    """With no traced call in the context, nothing is recorded; the caller's hook still runs."""
    seen: list[RetryDetails] = []
    stack, _ = _stack(otel, seen)
    request = _request()
    response = await stack.handle_async_request(request)
    assert response.status_code == 200
    assert ext.get_attempts(request) == 2
    assert len(seen) == 1
    assert otel.spans() == []
