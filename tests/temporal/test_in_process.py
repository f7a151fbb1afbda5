"""A worker in this process (`run_worker`): the same batch code, measured by coverage."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.sandbox_process import SandboxProcess
from tests.temporal.test_batches import gig_items, special_items

pytest.importorskip("temporalio")

from temporalio.client import WorkflowExecutionStatus

from lean_async.temporal import (
    BatchProgress,
    batch_progress,
    follow_batch,
    run_worker,
    start_batch,
)

pytestmark = pytest.mark.temporal


async def test_an_in_process_worker_pays_reports_and_stops(
    temporal_client: Any,
    temporal_address: str,
    lean_sandbox: SandboxProcess,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Special payments in 2 chunks, one bad: progress is followed, the summary is exact."""
    monkeypatch.setenv("LEAN_API_KEY", lean_sandbox.api_key)
    monkeypatch.setenv("LEAN_BASE_URL", lean_sandbox.url)
    queue = f"q-{uuid.uuid4().hex[:8]}"
    stop, ready = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(
        run_worker(temporal_address, task_queue=queue, on_ready=ready.set, stop=stop)
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        batch = f"inproc-{uuid.uuid4().hex[:8]}"
        items = special_items(batch, 7)
        items[5]["amount"] = "0"
        handle = await start_batch(
            temporal_client,
            batch_id=batch,
            kind="special_payments",
            items=items,
            chunk_size=4,
            concurrency=3,
            task_queue=queue,
        )
        seen: list[BatchProgress] = []
        summary = await asyncio.wait_for(
            follow_batch(temporal_client, handle, seen.append, every=0.05), 40
        )
        final = await batch_progress(temporal_client, handle.id)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
    assert summary.outcomes == "cccccfc"
    assert summary.failed == {"ValidationError": 1}
    assert summary.failures[0].index == 5
    assert (final.done, final.failed, final.pending, final.running_chunk) == (7, 1, 0, None)
    assert seen[-1].done == 7
    assert all(p.total == 7 for p in seen)


async def test_a_second_start_while_running_attaches_to_the_same_run(
    temporal_client: Any, temporal_address: str, lean_sandbox: SandboxProcess
) -> None:
    """Two starters of one batch get one run: the second attaches, nothing starts twice."""
    batch = f"twice-{uuid.uuid4().hex[:8]}"
    queue = f"q-{uuid.uuid4().hex[:8]}"  # no worker polls it: the batch stays running
    items = gig_items(batch, 3)
    first = await start_batch(
        temporal_client, batch_id=batch, kind="gigs", items=items, task_queue=queue
    )
    second = await start_batch(
        temporal_client, batch_id=batch, kind="gigs", items=items, task_queue=queue
    )
    one, two = await first.describe(), await second.describe()
    assert (one.id, one.run_id) == (two.id, two.run_id)
    assert one.status is WorkflowExecutionStatus.RUNNING
    await first.terminate("test over")
