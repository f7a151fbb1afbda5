"""Pacing telemetry: a gauge of each client's current rate, a histogram of turn waits."""

from __future__ import annotations

import gc
import weakref

from tests.reference import REFERENCE_GIG
from tests.telemetry.conftest import Otel, answers

GIG = {**REFERENCE_GIG, "id": "gig_1"}


async def test_no_rate_is_reported_while_nothing_is_throttled(otel: Otel) -> None:
    """Unthrottled, the gauge has no point and every attempt waited 0 s."""
    async with otel.client(answers(200, 200, body=GIG)) as lean:
        await lean.gigs.get("gig_1")
        await lean.gigs.get("gig_1")
        assert otel.points("lean.client.rate_limit.rate") == []
        (waits,) = otel.points("lean.client.rate_limit.wait")
        assert waits.count == 2
        assert waits.sum == 0.0
        assert waits.attributes == {"lean.operation": "gigs.get"}


async def test_a_ceiling_shows_on_the_gauge_and_waits_on_the_histogram(otel: Otel) -> None:
    """rate_limit=20: the gauge says 20, and the second call waited about 50 ms."""
    async with otel.client(answers(200, 200, body=GIG), rate_limit=20) as lean:
        await lean.gigs.get("gig_1")
        await lean.gigs.get("gig_1")
        (rate,) = otel.points("lean.client.rate_limit.rate")
        assert rate.value == 20
        (waits,) = otel.points("lean.client.rate_limit.wait")
        assert waits.count == 2
        assert 0.02 <= waits.sum <= 0.5


async def test_a_429_turns_the_gauge_on(otel: Otel) -> None:
    """After a 429 the client paces itself, and the gauge reports the pace."""
    async with otel.client(answers(429, 200, body=GIG)) as lean:
        await lean.gigs.get("gig_1")
        (rate,) = otel.points("lean.client.rate_limit.rate")
        assert rate.value > 0


async def test_the_gauge_does_not_keep_a_client_alive(otel: Otel) -> None:
    """Once a client is gone its limiter is no longer observed."""
    async with otel.client(answers(200, body=GIG), rate_limit=50) as lean:
        await lean.gigs.get("gig_1")
    client = weakref.ref(lean)
    del lean
    gc.collect()
    assert client() is None
    assert otel.points("lean.client.rate_limit.rate") == []
