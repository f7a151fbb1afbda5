"""create_many: each item's create span nests under the span current where the caller iterates."""

from __future__ import annotations

import httpx

from tests.reference import REFERENCE_GIG
from tests.telemetry.conftest import GIG_ARGUMENTS, Otel


async def test_each_items_create_nests_under_the_callers_span(otel: Otel) -> None:
    """Three items created in a batch are three lean.gigs.create spans below the caller's span."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={**REFERENCE_GIG, "id": "gig_1"})

    items = [{**GIG_ARGUMENTS, "gig_id": f"gig-{index}"} for index in range(3)]
    tracer = otel.tracer_provider.get_tracer("payroll")
    async with otel.client(handler) as lean:
        with tracer.start_as_current_span("payroll run"):
            results = [result async for result in lean.gigs.create_many(items, concurrency=2)]

    assert all(result.ok for result in results)
    (run,) = otel.spans("payroll run")
    creates = otel.spans("lean.gigs.create")
    assert len(creates) == 3
    for create in creates:
        assert create.parent is not None
        assert create.parent.span_id == run.context.span_id
        assert create.context.trace_id == run.context.trace_id
    attempts = otel.spans("POST /gig")
    assert {span.parent.span_id for span in attempts if span.parent} == {
        span.context.span_id for span in creates
    }
