"""The retry-budget gauge reads live clients' budgets and keeps none of them alive."""

from __future__ import annotations

import gc
import weakref

from tests.reference import REFERENCE_GIG
from tests.telemetry.conftest import Otel, answers

GIG = {**REFERENCE_GIG, "id": "gig_1"}


async def test_the_gauge_shows_the_tokens_a_retry_took(otel: Otel) -> None:
    """After one retry the gauge reports the budget's tokens: capacity - retry cost + refund."""
    async with otel.client(answers(503, 200, body=GIG)) as lean:
        await lean.gigs.get("gig_1")
        (point,) = otel.points("lean.client.retry_budget.tokens")
        assert point.value == 500 - 5 + 1


async def test_the_gauge_does_not_keep_a_client_alive(otel: Otel) -> None:
    """Once a client is gone its budget is no longer observed, and nothing held it."""
    async with otel.client(answers(200, body=GIG)) as lean:
        await lean.gigs.get("gig_1")
    client = weakref.ref(lean)
    del lean
    gc.collect()
    assert client() is None
    assert otel.points("lean.client.retry_budget.tokens") == []
