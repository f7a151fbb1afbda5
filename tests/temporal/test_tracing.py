"""Trace context travels with a batch: its payments are spans in the caller's trace."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import httpx
import pytest

from lean_async import LeanClient
from tests.chaos.sandbox_process import SandboxProcess
from tests.temporal.test_batches import gig_items

pytest.importorskip("temporalio")
pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext

from lean_async.temporal import build_worker, start_batch
from lean_async.temporal._tracing import HEADER, TraceContextInterceptor, traced_client

pytestmark = pytest.mark.temporal


class ContextRecorder(httpx.AsyncBaseTransport):
    """A transport that records the span context current at each request."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[SpanContext] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(trace.get_current_span().get_span_context())
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def run_batch(
    client: Any, lean: LeanClient, items: list[dict[str, str]], caller: trace.Tracer | None
) -> SpanContext | None:
    """Pay *items* through an in-process worker, started inside a span of *caller* if given."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    worker = build_worker(client, lean, task_queue=queue)
    batch = f"traced-{uuid.uuid4().hex[:8]}"
    async with worker:
        if caller is None:
            handle = await start_batch(
                client, batch_id=batch, kind="gigs", items=items, task_queue=queue
            )
            context = None
        else:
            with caller.start_as_current_span("payroll run") as span:
                handle = await start_batch(
                    client, batch_id=batch, kind="gigs", items=items, task_queue=queue
                )
                context = span.get_span_context()
        summary = await asyncio.wait_for(handle.result(), 60)
    assert summary.created == len(items)
    return context


async def test_a_batch_started_in_a_span_pays_in_that_trace(
    temporal_client: Any, lean_sandbox: SandboxProcess
) -> None:
    """Each gig's ``lean.gigs.create`` span is in the caller's trace, a child of its span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    recorder = ContextRecorder()
    items = gig_items(f"tr-{uuid.uuid4().hex[:6]}", 3)
    async with LeanClient(
        api_key=lean_sandbox.api_key,
        base_url=lean_sandbox.url,
        transport=recorder,
        tracer_provider=provider,
    ) as lean:
        caller = await run_batch(temporal_client, lean, items, provider.get_tracer("test"))
    assert caller is not None
    creates = [span for span in exporter.get_finished_spans() if span.name == "lean.gigs.create"]
    assert len(creates) == len(items)
    for span in creates:
        assert span.context is not None
        assert span.parent is not None
        assert span.context.trace_id == caller.trace_id
        assert span.parent.span_id == caller.span_id
    assert len(recorder.seen) >= len(items)
    assert {seen.trace_id for seen in recorder.seen} == {caller.trace_id}


async def test_a_batch_started_outside_a_span_carries_no_context(
    temporal_client: Any, lean_sandbox: SandboxProcess
) -> None:
    """No current span: the payments run in no inherited trace."""
    recorder = ContextRecorder()
    async with LeanClient(
        api_key=lean_sandbox.api_key, base_url=lean_sandbox.url, transport=recorder
    ) as lean:
        await run_batch(temporal_client, lean, gig_items(f"nt-{uuid.uuid4().hex[:6]}", 2), None)
    assert len(recorder.seen) >= 2
    assert not any(seen.is_valid and seen.is_remote for seen in recorder.seen)


async def test_the_interceptor_is_added_once(temporal_client: Any) -> None:
    """traced_client adds one TraceContextInterceptor; a traced client is returned as is."""
    traced = traced_client(temporal_client)
    assert traced_client(traced) is traced
    interceptors = traced.config()["interceptors"]
    assert sum(isinstance(each, TraceContextInterceptor) for each in interceptors) == 1
    assert HEADER == "lean-trace-context"


def test_without_the_api_batches_and_workers_carry_nothing() -> None:
    """With opentelemetry not importable the starter and worker add no interceptor."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry"] = None  # what an uninstalled package looks like
        from lean_async.temporal import _starter, _worker
        client = object()
        print(_starter.traced_client(client) is client, _worker.TraceContextInterceptor)
        print("lean_async.temporal._tracing" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["True None", "False"]
