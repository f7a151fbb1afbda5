"""Without an SDK, or without the API at all, calls work and record nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider

from lean_async import LeanClient
from lean_async.testing import set_testing
from tests.reference import REFERENCE_GIG
from tests.telemetry.conftest import BASE, GIG_ARGUMENTS, KEY, answers

GIG = {**REFERENCE_GIG, "id": "gig_1"}


async def test_noop_providers_skip_everything() -> None:
    """With the API's no-op providers a retried create works, sends no traceparent, is untraced."""
    sent: list[httpx.Request] = []
    inner = answers(503, 201, body=GIG)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return inner(request)

    set_testing(True)
    try:
        async with LeanClient(
            api_key=KEY,
            base_url=BASE,
            transport=httpx.MockTransport(handler),
            tracer_provider=NoOpTracerProvider(),
            meter_provider=NoOpMeterProvider(),
        ) as lean:
            telemetry = lean._shared.telemetry
            assert telemetry is not None
            assert telemetry.active() is None
            gig = await lean.gigs.create(**GIG_ARGUMENTS)
    finally:
        set_testing(False)
    assert gig.id == "gig_1"
    assert len(sent) == 2
    assert all("traceparent" not in request.headers for request in sent)


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


PRELUDE = f"""
    import asyncio, datetime as dt, httpx
    from lean_async import LeanClient
    GIG = {GIG!r}
    START = dt.datetime(2021, 3, 1, tzinfo=dt.UTC)
    ARGS = dict(partner_user_id="u1", gig_id="g1", total_amount="1.00", tips="0",
                expenses="0", description="d", start_time=START, end_time=START)
    def handler(request):
        print("traceparent" in request.headers)
        return httpx.Response(201, json=GIG)
    def client():
        return LeanClient(api_key="k", base_url={BASE!r}, transport=httpx.MockTransport(handler))
"""


def test_global_providers_set_after_the_client_is_built_are_used() -> None:
    """A client made before the app configures OpenTelemetry reports once it has."""
    out = _run(
        PRELUDE
        + """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    async def main():
        async with client() as lean:
            await lean.gigs.create(**ARGS)  # API only: no SDK yet
            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            await lean.gigs.create(**ARGS)
        print(sorted(span.name for span in exporter.get_finished_spans()))
    asyncio.run(main())
    """
    )
    assert out.split("\n")[:3] == ["False", "True", "['POST /gig', 'lean.gigs.create']"]


def test_without_the_api_installed_calls_work_untraced() -> None:
    """With opentelemetry not importable the client has no telemetry and calls still work."""
    out = _run(
        """
    import sys
    sys.modules["opentelemetry"] = None  # what an uninstalled package looks like to import
    """
        + PRELUDE
        + """
    from lean_async.errors import LeanError
    async def main():
        async with client() as lean:
            print(lean._shared.telemetry)
            print((await lean.gigs.create(**ARGS)).id)
        try:
            LeanClient(api_key="k", tracer_provider=object())
        except LeanError as exc:
            print("refused:", "lean-async[otel]" in str(exc))
    asyncio.run(main())
    """
    )
    assert out.split("\n")[:4] == ["None", "False", "gig_1", "refused: True"]


def test_providers_named_in_the_environment_are_resolved_per_call() -> None:
    """With OTEL_PYTHON_TRACER_PROVIDER set the public getter loads it and spans flow."""
    code = (
        """
    import os
    os.environ["OTEL_PYTHON_TRACER_PROVIDER"] = "sdk_tracer_provider"
    """
        + PRELUDE
        + """
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from lean_async._telemetry import _guard

    async def main():
        print(_guard.records_nothing(trace.get_tracer_provider()))  # the SDK's: False
        exporter = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
        async with client() as lean:
            await lean.gigs.create(**ARGS)
        print(sorted(span.name for span in exporter.get_finished_spans()))
    asyncio.run(main())
    """
    )
    assert _run(code).split("\n")[:3] == ["False", "True", "['POST /gig', 'lean.gigs.create']"]


def test_the_apis_own_providers_record_nothing_and_an_sdks_do() -> None:
    """No-op and proxy providers (public classes, or the API's own modules) skip the work."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from lean_async._telemetry import _guard

    assert _guard.records_nothing(NoOpTracerProvider())
    assert _guard.records_nothing(NoOpMeterProvider())
    assert _guard.records_nothing(trace.ProxyTracerProvider())
    # The getters' proxies while no SDK is set globally (the suite never sets one).
    assert _guard.records_nothing(trace.get_tracer_provider())
    assert _guard.records_nothing(metrics.get_meter_provider())
    assert not _guard.records_nothing(TracerProvider())
    assert not _guard.records_nothing(MeterProvider())
    assert not _guard.records_nothing(object())
