"""``lean-async demo --otel-console``: print the demo's spans and metrics on the terminal.

It sets the global OpenTelemetry SDK providers (the demo's `LeanClient` and webhook
receiver use the global ones): each span is printed on one line as it ends, and the
metrics once, when the providers shut down at the end. It needs ``opentelemetry-sdk``,
which lean-async itself never imports; without it the command says what to install.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import IO, Any

from lean_async._version import __version__

__all__ = ["SDK_MISSING", "install_console_telemetry"]

SDK_MISSING = (
    "--otel-console needs the OpenTelemetry SDK: pip install opentelemetry-sdk "
    "(or: pip install 'lean-async[otel]' opentelemetry-sdk)"
)
"""The message when ``opentelemetry-sdk`` is not importable."""


def _attributes(attributes: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(attributes or {}), default=str, sort_keys=True)


def _span_line(span: Any) -> str:
    """One line per span: name, kind, duration, ids, attributes, then its events."""
    context = span.get_span_context()
    parent = f"{span.parent.span_id:016x}" if span.parent is not None else "-"
    millis = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    status = "" if span.status.is_ok or span.status.is_unset else " ERROR"
    lines = [
        f"span {span.name} [{span.kind.name}{status}] {millis:.1f} ms "
        f"trace={context.trace_id:032x} span={context.span_id:016x} parent={parent} "
        f"{_attributes(span.attributes)}"
    ]
    lines += [f"  event {event.name} {_attributes(event.attributes)}" for event in span.events]
    return "\n".join(lines) + "\n"


def _metrics_text(data: Any) -> str:
    """Every metric point on one line: name, unit, attributes and its value or sums."""
    lines = []
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    if hasattr(point, "bucket_counts"):
                        value = f"count={point.count} sum={point.sum:.6g}"
                    else:
                        value = f"value={point.value}"
                    lines.append(
                        f"metric {metric.name} ({metric.unit}) "
                        f"{_attributes(point.attributes)} {value}"
                    )
    return "\n".join(lines) + "\n"


def install_console_telemetry(out: IO[str]) -> Callable[[], None]:
    """Set global SDK providers printing to *out*; return the call that flushes them.

    Args:
        out: where spans (as they end) and metrics (at the end) are printed.

    Returns:
        ``shutdown()``: ends both providers, which prints the metrics once.

    Raises:
        ImportError: ``opentelemetry-sdk`` is not installed (see `SDK_MISSING`).
    """
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    resource = Resource.create({"service.name": "lean-async-demo", "service.version": __version__})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(ConsoleSpanExporter(out=out, formatter=_span_line))
    )
    # One export, at shutdown: a day-long interval never fires during a demo.
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(out=out, formatter=_metrics_text),
        export_interval_millis=86_400_000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)

    def shutdown() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return shutdown
