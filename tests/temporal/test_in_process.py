"""A worker in this process (`run_worker`): the same batch code, measured by coverage."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
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
    chunk_id,
    follow_batch,
    run_worker,
    slice_plan,
    start_batch,
)

pytestmark = pytest.mark.temporal


@contextlib.asynccontextmanager
async def _worker(
    temporal_address: str, lean_sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """Run `run_worker` in this process on a queue of its own; yield the queue once it polls."""
    monkeypatch.setenv("LEAN_API_KEY", lean_sandbox.api_key)
    monkeypatch.setenv("LEAN_BASE_URL", lean_sandbox.url)
    queue = f"q-{uuid.uuid4().hex[:8]}"
    stop, ready = asyncio.Event(), asyncio.Event()
    worker = asyncio.create_task(
        run_worker(temporal_address, task_queue=queue, on_ready=ready.set, stop=stop)
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        yield queue
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)


async def test_an_in_process_worker_pays_reports_and_stops(
    temporal_client: Any,
    temporal_address: str,
    lean_sandbox: SandboxProcess,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Special payments in 2 chunks, one bad: progress is followed, the summary is exact."""
    async with _worker(temporal_address, lean_sandbox, monkeypatch) as queue:
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


def _slices(history: Any) -> list[tuple[float, float]]:
    """(scheduled, closed) server times of each slice activity in a chunk's history."""
    from temporalio.api.enums.v1 import EventType

    scheduled: dict[int, float] = {}
    spans = []
    closing = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    }
    for event in history.events:
        at = event.event_time.ToDatetime().timestamp()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = at
        elif event.event_type in closing:
            attributes = getattr(event, closing[event.event_type])
            spans.append((scheduled.pop(attributes.scheduled_event_id), at))
    assert not scheduled, "a slice never closed"
    return spans


async def test_chunks_overlap_and_slices_in_flight_never_exceed_the_slots(
    temporal_client: Any,
    temporal_address: str,
    lean_sandbox: SandboxProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """3 chunks of 5 slices, 4 slots: the next chunk starts before the last slice ends.

    Read from the chunks' histories (server times): a chunk's first slice is scheduled
    before the last slice of the chunk before it closes, and at no instant are more than
    `slice_plan`'s 4 slices scheduled or running across the chunks.
    """
    from tests.temporal.cluster import admin

    admin(
        lean_sandbox,
        "POST",
        "/_sandbox/faults",
        {"kind": "latency", "seconds": 0.03, "route": "POST /gig", "times": None},
    )
    try:
        async with _worker(temporal_address, lean_sandbox, monkeypatch) as queue:
            batch = f"overlap-{uuid.uuid4().hex[:8]}"
            assert slice_plan(8) == (4, 2)
            handle = await start_batch(
                temporal_client,
                batch_id=batch,
                kind="gigs",
                items=gig_items(batch, 300),
                chunk_size=100,
                slice_size=20,
                concurrency=8,
                task_queue=queue,
            )
            summary = await asyncio.wait_for(handle.result(), 90)
    finally:
        admin(lean_sandbox, "DELETE", "/_sandbox/faults")
    assert summary.outcomes == "c" * 300
    chunks = [
        _slices(await temporal_client.get_workflow_handle(chunk_id(handle.id, n)).fetch_history())
        for n in range(3)
    ]
    assert [len(spans) for spans in chunks] == [5, 5, 5]
    for before, after in itertools.pairwise(chunks):
        assert min(s for s, _ in after) < max(c for _, c in before)  # they overlap
    # A slot frees (close) before the next chunk takes it (schedule): closes sort first.
    moments = sorted(
        [(c, 0) for spans in chunks for _, c in spans]
        + [(s, 1) for spans in chunks for s, _ in spans]
    )
    in_flight = peak = 0
    for _, opens in moments:
        in_flight += 1 if opens else -1
        peak = max(peak, in_flight)
    assert peak <= 4
    # History per chunk, whatever the batch's size: the batch's grows by a signal, a memo
    # and a workflow task per chunk (1,000,000 items: ~6,000 events, far under 50,000).
    batch_events = len((await handle.fetch_history()).events)
    chunk_events = [
        len(
            (
                await temporal_client.get_workflow_handle(chunk_id(handle.id, n)).fetch_history()
            ).events
        )
        for n in range(3)
    ]
    assert batch_events <= 12 + 8 * 3, batch_events  # measured 26
    assert max(chunk_events) <= 14 * 5 + 20, chunk_events  # per slice, not per item: 61-71
