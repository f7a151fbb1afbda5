"""``lean.webhooks.deliveries``: one point per delivery, by event type, outcome and reason."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from fastapi import Depends, FastAPI

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from lean_async.models import WebhookEvent
from lean_async.webhooks import MemoryDedupStore, _metrics, handle_delivery
from lean_async.webhooks.aiohttp import webhook_handler
from lean_async.webhooks.fastapi import verified_event, webhook_router
from tests.webhooks._support import API_KEY, encode, event_body, signed
from tests.webhooks.test_delivery import Recorder, deliver

Key = tuple[tuple[str, str], ...]


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """An in-memory metric reader."""
    return InMemoryMetricReader()


@pytest.fixture
def provider(reader: InMemoryMetricReader) -> MeterProvider:
    """An SDK meter provider read by *reader* (never the global one)."""
    return MeterProvider(metric_readers=[reader])


def deliveries(reader: InMemoryMetricReader) -> Counter[Key]:
    """Return the counter's value per attribute set (sorted pairs)."""
    counts: Counter[Key] = Counter()
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            assert scope_metrics.scope.name == "lean_async"
            for metric in scope_metrics.metrics:
                if metric.name == "lean.webhooks.deliveries":
                    for point in metric.data.data_points:
                        key = tuple(sorted((k, str(v)) for k, v in point.attributes.items()))
                        counts[key] += point.value  # type: ignore[union-attr]
    return counts


PROCESSED = (("lean.webhook.event_type", "gig.completed"), ("lean.webhook.outcome", "processed"))
DUPLICATE = (("lean.webhook.event_type", "gig.completed"), ("lean.webhook.outcome", "duplicate"))


def rejected_for(reason: str) -> Key:
    """The attribute set of a rejection for *reason*."""
    return (("lean.webhook.outcome", "rejected"), ("lean.webhook.reason", reason))


async def test_processed_duplicate_and_rejected_are_counted_once_each(
    reader: InMemoryMetricReader, provider: MeterProvider
) -> None:
    """handle_delivery counts a processed event, its duplicate and a forged delivery."""
    store, handler = MemoryDedupStore(), Recorder()
    await deliver(store, handler, meter_provider=provider)
    await deliver(store, handler, meter_provider=provider)
    payload, headers = signed(event_body(), key="not the key")
    result = await handle_delivery(
        payload, headers, api_key=API_KEY, handler=handler, store=store, meter_provider=provider
    )
    assert result.reason == "signature_mismatch"
    assert deliveries(reader) == {
        PROCESSED: 1,
        DUPLICATE: 1,
        rejected_for("signature_mismatch"): 1,
    }


async def test_a_failing_handler_is_counted_as_failed_with_its_error_type(
    reader: InMemoryMetricReader, provider: MeterProvider
) -> None:
    """A raising handler gives outcome failed and error.type, never its message."""
    await deliver(MemoryDedupStore(), Recorder(failures=1), meter_provider=provider)
    assert deliveries(reader) == {
        (
            ("error.type", "RuntimeError"),
            ("lean.webhook.event_type", "gig.completed"),
            ("lean.webhook.outcome", "failed"),
        ): 1
    }


async def test_without_the_api_deliveries_still_work(
    monkeypatch: pytest.MonkeyPatch, reader: InMemoryMetricReader, provider: MeterProvider
) -> None:
    """With opentelemetry-api absent nothing is counted and the delivery is processed."""
    monkeypatch.setattr(_metrics, "otel_metrics", None)
    handler = Recorder()
    result = await deliver(MemoryDedupStore(), handler, meter_provider=provider)
    assert result.outcome == "processed"
    assert handler.processed == ["evt_1"]
    assert deliveries(reader) == {}


async def test_the_fastapi_router_counts_end_to_end(
    reader: InMemoryMetricReader, provider: MeterProvider
) -> None:
    """Through FastAPI: processed, duplicate, bad signature (router and dependency), too large."""
    app = FastAPI()
    app.include_router(
        webhook_router(
            api_key=API_KEY, handler=Recorder(), max_body_bytes=2048, meter_provider=provider
        )
    )
    event_dependency = verified_event(api_key=API_KEY, meter_provider=provider)

    @app.post("/custom")
    async def custom(event: WebhookEvent = Depends(event_dependency)) -> str:  # noqa: B008
        return event.id

    payload, headers = signed(event_body())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (
            await http.post("/webhooks/lean", content=payload, headers=headers)
        ).status_code == 200
        assert (
            await http.post("/webhooks/lean", content=payload, headers=headers)
        ).status_code == 200
        forged = signed(event_body(), key="not the key")[1]
        assert (
            await http.post("/webhooks/lean", content=payload, headers=forged)
        ).status_code == 401
        assert (await http.post("/custom", content=payload, headers=forged)).status_code == 401
        assert (await http.post("/custom", content=payload, headers=headers)).status_code == 200
        big = encode({**event_body(), "pad": "x" * 4096})
        assert (await http.post("/webhooks/lean", content=big, headers=headers)).status_code == 413
    counts = deliveries(reader)
    assert counts[PROCESSED] == 1
    assert counts[DUPLICATE] == 1
    assert counts[rejected_for("payload_too_large")] == 1
    assert counts[rejected_for("signature_mismatch")] == 2  # the router's and /custom's
    assert sum(counts.values()) == 5  # an accepted /custom delivery is not counted


async def test_the_aiohttp_handler_counts_end_to_end(
    reader: InMemoryMetricReader, provider: MeterProvider
) -> None:
    """Through the aiohttp handler: processed, duplicate, a missing signature."""
    app = web.Application()
    app.router.add_post(
        "/hook", webhook_handler(api_key=API_KEY, handler=Recorder(), meter_provider=provider)
    )
    payload, headers = signed(event_body())
    http: TestClient[Any, Any]
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        for sent in (headers, headers, {"Content-Type": "application/json"}):
            async with http.post("/hook", data=payload, headers=sent) as response:
                await response.read()
    assert deliveries(reader) == {
        PROCESSED: 1,
        DUPLICATE: 1,
        rejected_for("missing_signature"): 1,
    }


def test_without_the_api_installed_the_webhooks_import_and_deliver() -> None:
    """With opentelemetry not importable a delivery is processed and nothing is counted."""
    code = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # what an uninstalled package looks like
        from lean_async.webhooks import MemoryDedupStore, _metrics
        from tests.webhooks.test_delivery import Recorder, deliver
        print(_metrics.otel_metrics)
        print(asyncio.run(deliver(MemoryDedupStore(), Recorder())).outcome)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["None", "processed"]
