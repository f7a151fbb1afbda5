"""Fixtures for telemetry tests: SDK providers with in-memory exporters, never global."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lean_async import LeanClient

BASE = "https://app.staging.withlean.com/api"
KEY = "sk_test_otel_5e1d"
START = dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=dt.UTC)
GIG_ARGUMENTS: dict[str, Any] = {
    "partner_user_id": "uid_847834395730535",
    "gig_id": "gigId_94792357823953532",
    "total_amount": "15.00",
    "tips": "3.00",
    "expenses": "2.00",
    "description": "Gig Payout",
    "start_time": START,
    "end_time": START + dt.timedelta(minutes=27),
}

Handler = Callable[[httpx.Request], httpx.Response]


class Otel:
    """An SDK tracer provider and meter provider that keep everything in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def client(self, handler: Handler, **kwargs: Any) -> LeanClient:
        """Return a client over ``httpx.MockTransport(handler)`` reporting here."""
        options: dict[str, Any] = {"backoff_base": 0.001, "backoff_cap": 0.002, **kwargs}
        return LeanClient(
            api_key=KEY,
            base_url=BASE,
            transport=httpx.MockTransport(handler),
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            **options,
        )

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """Return the finished spans (named *name*), in the order they ended."""
        spans = self.exporter.get_finished_spans()
        return [span for span in spans if name is None or span.name == name]

    def points(self, metric: str) -> list[Any]:
        """Return the data points of *metric* collected now."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for found in scope.metrics
            if found.name == metric
            for point in found.data.data_points
        ]


@pytest.fixture
def otel() -> Iterator[Otel]:
    """Fresh in-memory providers, shut down after the test."""
    otel = Otel()
    yield otel
    otel.tracer_provider.shutdown()
    otel.meter_provider.shutdown()


def answers(*statuses: int, body: dict[str, Any] | list[Any]) -> Handler:
    """Return a handler answering with *statuses* in turn (*body* on a 2xx, else an error)."""
    queue = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        status = queue.pop(0)
        return httpx.Response(status, json=body if status < 300 else {"message": "unavailable"})

    return handler
