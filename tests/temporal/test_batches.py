"""Payroll batches on a real Temporal dev server, paying into a real sandbox process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lean_async import LeanClient
from tests.chaos.sandbox_process import SandboxProcess
from tests.temporal.cluster import admin, worker_process

pytest.importorskip("temporalio")

from lean_async.temporal import BatchSummary, batch_progress, start_batch  # noqa: E402

pytestmark = pytest.mark.temporal


def gig_items(prefix: str, count: int) -> list[dict[str, str]]:
    """*count* good gigs with ids ``<prefix>-00000`` and on, as CSV cells."""
    return [
        {
            "partnerUserId": f"uid_{n % 3 + 1}",
            "gigId": f"{prefix}-{n:05d}",
            "totalAmount": "15.00",
            "tips": "2.00",
            "expenses": "1.00",
            "description": f"gig {n}",
            "startTime": "2026-11-24T08:00:00Z",
            "endTime": "2026-11-24T09:00:00Z",
        }
        for n in range(count)
    ]


def special_items(prefix: str, count: int) -> list[dict[str, str]]:
    """*count* special payments told apart by their description (no keys given)."""
    return [
        {
            "partnerUserId": f"uid_{n % 3 + 1}",
            "amount": f"{n % 9 + 1}.50",
            "type": "bonus",
            "description": f"{prefix}-{n:05d}",
        }
        for n in range(count)
    ]


async def sandbox_state(sandbox: SandboxProcess) -> tuple[Counter[str], Counter[str]]:
    """Every gig id and every special payment description the sandbox holds, counted."""
    async with LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as lean:
        gigs = await lean.gigs.list()
        specials = await lean.special_payments.list()
    return Counter(g.gig_id for g in gigs), Counter(s.description or "" for s in specials)


async def test_invalid_items_are_reported_once_and_never_retried(
    temporal_client: Any, temporal_address: str, lean_sandbox: SandboxProcess, logs: Path
) -> None:
    """Bad items fail with their reason at once; the good ones are paid; the batch ends."""
    batch = f"invalid-{uuid.uuid4().hex[:8]}"
    items = gig_items(batch, 3)
    items[1]["totalAmount"] = "abc"
    items.append({**gig_items(batch, 4)[3], "partnerUserId": "uid_unknown"})
    items.append({**gig_items(batch, 5)[4], "colour": "blue"})
    with worker_process(temporal_address, lean_sandbox, logs / "w.log"):
        handle = await start_batch(
            temporal_client, batch_id=batch, kind="gigs", items=items, concurrency=4
        )
        started = time.monotonic()
        summary = await asyncio.wait_for(handle.result(), 30)
    assert time.monotonic() - started < 15
    assert summary.outcomes == "cfcff"
    assert [f.index for f in summary.failures] == [1, 3, 4]
    assert summary.failures[0].reason == "ValidationError"
    assert "totalAmount" in summary.failures[0].message
    assert summary.failures[2].reason == "ValidationError"
    assert summary.created == 2
    assert sum(summary.failed.values()) == 3
