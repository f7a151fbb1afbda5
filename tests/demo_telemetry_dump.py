"""Run the whole demo with the OpenTelemetry SDK set globally; dump what it recorded.

``python -m tests.demo_telemetry_dump OUT.json`` (a subprocess: global providers can be
set once per process). OUT.json holds every span (name, attributes, events and their
attributes, resource attributes), every metric point's attributes, the demo's outcome,
and the secrets and personal fields the demo used, for `tests/test_demo_otel.py` to scan.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sys
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rich.console import Console

from lean_async.cli import _demo_command
from lean_async.cli._demo import _flow
from lean_async.models import Customer
from lean_async.sandbox import DEFAULT_API_KEY


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attributes(attributes: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in dict(attributes or {}).items()}


def main(out: str) -> None:
    """Run the demo with in-memory exporters set globally and write *out*."""
    resource = Resource.create({"service.name": "lean-async-demo-scan"})
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))

    flows: list[Any] = []
    customers: list[Customer] = []
    init, new_customer = _flow._Flow.__init__, _flow._Flow._new_customer

    def record_flow(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        flows.append(self)

    async def record_customer(self: Any, *args: Any) -> Customer:
        customer = await new_customer(self, *args)
        customers.append(customer)
        return customer

    _flow._Flow.__init__ = record_flow  # type: ignore[method-assign]
    _flow._Flow._new_customer = record_customer  # type: ignore[method-assign]
    console = Console(file=io.StringIO(), width=120)
    ok = asyncio.run(_demo_command._demo(console, None, None))

    data = reader.get_metrics_data()
    metric_points = [
        {
            "name": metric.name,
            "unit": metric.unit,
            "description": metric.description,
            "attributes": _attributes(point.attributes),
            "resource": _attributes(resource_metrics.resource.attributes),
            "scope": scope_metrics.scope.name,
        }
        for resource_metrics in (data.resource_metrics if data else ())
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        for point in metric.data.data_points
    ]
    spans = [
        {
            "name": span.name,
            "kind": span.kind.name,
            "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
            "status": span.status.description,
            "attributes": _attributes(span.attributes),
            "events": [
                {"name": event.name, "attributes": _attributes(event.attributes)}
                for event in span.events
            ],
            "links": [_attributes(link.attributes) for link in span.links],
            "resource": _attributes(span.resource.attributes),
        }
        for span in exporter.get_finished_spans()
    ]
    flow = flows[0]
    secrets = {
        "api_key": DEFAULT_API_KEY,
        "authorization": "Basic " + base64.b64encode(f"{DEFAULT_API_KEY}:".encode()).decode(),
        "personal": sorted(
            {
                str(value)
                for customer in customers
                for value in (
                    customer.first_name,
                    customer.last_name,
                    customer.email,
                    customer.phone_number,
                    customer.street,
                    customer.city,
                    customer.postal_code,
                    customer.birthday,
                    customer.birthday.strftime("%m/%d/%Y"),
                )
            }
        ),
        "ids": sorted(
            {flow.run_id, *flow.gig_ids, *flow.payment_ids}
            | {customer.partner_user_id for customer in customers}
        ),
    }
    with open(out, "w", encoding="utf-8") as file:
        json.dump(
            {"ok": ok, "spans": spans, "metrics": metric_points, "secrets": secrets},
            file,
            default=str,
        )


if __name__ == "__main__":
    main(sys.argv[1])
