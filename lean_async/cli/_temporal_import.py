"""``gigs import --temporal``: start (or attach to) a file's batch and follow it."""

from __future__ import annotations

import time
from collections import Counter

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from lean_async._payroll import GIGS, PayrollKind, Progress, Row, Summary
from lean_async.temporal import (
    BatchProgress,
    ItemFailure,
    KindName,
    batch_workflow_id,
    follow_batch,
    start_batch,
)

__all__ = ["follow_import"]


async def follow_import(
    address: str,
    batch_id: str,
    kind: PayrollKind,
    rows: list[Row],
    *,
    concurrency: int,
    progress: Progress,
) -> tuple[Summary, list[ItemFailure]]:
    """Start the batch of *rows* (or attach to it), show its progress, return the outcome.

    Attached to a batch that had already finished, this run paid nothing: every paid row
    is counted as already there, and no rate is shown.
    """
    client = await Client.connect(address)
    kind_name: KindName = "gigs" if kind is GIGS else "special_payments"
    finished_before = await _finished(client, batch_workflow_id(kind_name, batch_id))
    handle = await start_batch(
        client,
        batch_id=batch_id,
        kind=kind_name,
        items=[row.cells for row in rows],
        concurrency=concurrency,
    )
    summary = Summary(total=len(rows), finished_before=finished_before)
    summary.attempted = len(rows)

    def count(created: int, already_there: int, unsure: int) -> None:
        if finished_before:
            summary.already_there = created + already_there + unsure
        else:
            summary.created, summary.already_there = created, already_there
            summary.unsure = unsure

    def show(state: BatchProgress) -> None:
        count(state.created, state.already_there, state.unsure)
        summary.failed = Counter({"failed": state.failed}) if state.failed else Counter()
        progress.update(summary)

    result = await follow_batch(client, handle, show)
    count(result.created, result.already_there, result.unsure)
    summary.failed = Counter(result.failed)
    summary.finished = time.monotonic()
    return summary, result.failures


async def _finished(client: Client, workflow_id: str) -> bool:
    """Return whether the batch *workflow_id* exists and has completed."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return description.status is WorkflowExecutionStatus.COMPLETED
