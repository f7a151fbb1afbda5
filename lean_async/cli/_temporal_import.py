"""``gigs import --temporal``: start (or attach to) a file's batch and follow it."""

from __future__ import annotations

import time
from collections import Counter

from temporalio.client import Client

from lean_async._payroll import GIGS, Kind, Progress, Row, Summary
from lean_async.temporal import (
    BatchProgress,
    ItemFailure,
    follow_batch,
    start_batch,
)

__all__ = ["follow_import"]


async def follow_import(
    address: str,
    batch_id: str,
    kind: Kind,
    rows: list[Row],
    *,
    concurrency: int,
    progress: Progress,
) -> tuple[Summary, list[ItemFailure]]:
    """Start the batch of *rows* (or attach to it), show its progress, return the outcome."""
    client = await Client.connect(address)
    handle = await start_batch(
        client,
        batch_id=batch_id,
        kind="gigs" if kind is GIGS else "special_payments",
        items=[row.cells for row in rows],
        concurrency=concurrency,
    )
    summary = Summary(total=len(rows))
    summary.attempted = len(rows)

    def show(state: BatchProgress) -> None:
        summary.created = state.created
        summary.already_there = state.already_there
        summary.failed = Counter({"failed": state.failed}) if state.failed else Counter()
        progress.update(summary)

    result = await follow_batch(client, handle, show)
    summary.created = result.created
    summary.already_there = result.already_there
    summary.failed = Counter(result.failed)
    summary.finished = time.monotonic()
    return summary, result.failures
