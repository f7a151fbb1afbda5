"""Carry the caller's trace context from `start_batch` to the activities that pay.

A batch started inside a span (say the payroll job's) should give its payments — the
``lean.gigs.create`` spans of the activities' `LeanClient` calls — in the same trace,
under that span, though they run later, in other processes. `TraceContextInterceptor`
does it with the OpenTelemetry *API* only:

* client side, it writes the current context (the global propagator's fields, e.g.
  ``traceparent``) into a header of each workflow it starts;
* in the workflow, it copies that header onto every activity and child workflow the
  workflow starts (workflow code never touches OpenTelemetry: replay-safe);
* around each activity, it makes the header's context current, unless a span is
  already current (another tracing interceptor, such as temporalio's own, ran first).

temporalio ships ``temporalio.contrib.opentelemetry.TracingInterceptor``, which also
records workflow spans, but importing it imports ``opentelemetry-sdk``; lean-async never
needs the SDK at run time, so it does not use it. Add temporalio's to your client too if
you want those spans: the two use different headers and this one then steps aside.

Nothing here is used when ``opentelemetry-api`` is not importable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import temporalio.client
import temporalio.converter
import temporalio.worker
import temporalio.workflow
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from temporalio.api.common.v1 import Payload

__all__ = [
    "HEADER",
    "TraceContextInterceptor",
    "has_trace_context",
    "traced_client",
    "with_trace_context",
]

HEADER: Final = "lean-trace-context"
"""The Temporal header holding the propagator's fields (``traceparent``...), as JSON."""

_CONVERTER: Final = temporalio.converter.PayloadConverter.default


def _current_context_payload() -> Payload | None:
    """Return the current span's context as a header payload, or None outside a span."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return _CONVERTER.to_payload(carrier) if carrier else None


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        payload = _current_context_payload()
        if payload is not None:
            input.headers = {**input.headers, HEADER: payload}
        return await super().start_workflow(input)


class _WorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def __init__(
        self, next: temporalio.worker.WorkflowOutboundInterceptor, inbound: _WorkflowInbound
    ) -> None:
        super().__init__(next)
        self._inbound = inbound

    def start_activity(
        self, input: temporalio.worker.StartActivityInput
    ) -> temporalio.workflow.ActivityHandle[Any]:
        if self._inbound.context is not None:
            input.headers = {**input.headers, HEADER: self._inbound.context}
        return super().start_activity(input)

    async def start_child_workflow(
        self, input: temporalio.worker.StartChildWorkflowInput
    ) -> temporalio.workflow.ChildWorkflowHandle[Any, Any]:
        if self._inbound.context is not None:
            input.headers = {**input.headers, HEADER: self._inbound.context}
        return await super().start_child_workflow(input)


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    def __init__(self, next: temporalio.worker.WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self.context: Payload | None = None

    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound, self))

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        self.context = input.headers.get(HEADER)  # from history: the same on replay
        return await super().execute_workflow(input)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        payload = input.headers.get(HEADER)
        if payload is None or trace.get_current_span().get_span_context().is_valid:
            return await super().execute_activity(input)
        carrier = _CONVERTER.from_payload(payload, dict)
        token = otel_context.attach(propagate.extract(carrier))
        try:
            return await super().execute_activity(input)
        finally:
            otel_context.detach(token)


class TraceContextInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Propagate the caller's OpenTelemetry context to workflows and their activities.

    On a client it also applies to every worker built from that client.
    """

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        """Wrap the client's outbound calls (see `temporalio.client.Interceptor`)."""
        return _ClientOutbound(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        """Wrap each activity (see `temporalio.worker.Interceptor`)."""
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        """Return the workflow interceptor (see `temporalio.worker.Interceptor`)."""
        return _WorkflowInbound


def with_trace_context(
    interceptors: Sequence[temporalio.client.Interceptor],
) -> list[temporalio.client.Interceptor]:
    """Return *interceptors* plus a `TraceContextInterceptor` unless one is there."""
    if any(isinstance(each, TraceContextInterceptor) for each in interceptors):
        return list(interceptors)
    return [*interceptors, TraceContextInterceptor()]


def has_trace_context(client: temporalio.client.Client) -> bool:
    """Whether *client* already carries a `TraceContextInterceptor`."""
    return any(
        isinstance(each, TraceContextInterceptor) for each in client.config()["interceptors"]
    )


def traced_client(client: temporalio.client.Client) -> temporalio.client.Client:
    """Return *client*, or a copy on the same connection that propagates trace context."""
    if has_trace_context(client):
        return client
    config = client.config()
    config["interceptors"] = with_trace_context(config["interceptors"])
    return temporalio.client.Client(**config)
