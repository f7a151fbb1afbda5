"""Start a batch (or attach to it) and read where it stands, from any process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from lean_async.errors import ValidationError
from lean_async.temporal._types import BatchInput, BatchProgress, BatchSummary, ChunkInput, KindName
from lean_async.temporal._workflows import PayrollBatch, PayrollChunk, chunk_id

try:  # with opentelemetry-api, the batch's payments nest under the caller's span
    from lean_async.temporal._tracing import traced_client
except ImportError:  # the otel extra is not installed

    def traced_client(client: Client) -> Client:
        """Return *client* as it is: there is no trace context to carry."""
        return client


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "TASK_QUEUE",
    "batch_progress",
    "batch_workflow_id",
    "follow_batch",
    "start_batch",
]

TASK_QUEUE: Final = "lean-payroll"
"""The task queue workers poll and batches are started on, unless told otherwise."""
DEFAULT_CHUNK_SIZE: Final = 1000
"""Items per chunk workflow: ~200 KB of input and ~3,600 history events."""
_STARTS_AT_ONCE: Final = 16

# A finished batch is not run again (its result is returned); a failed or terminated one
# may be: every item's key makes the new run pay only what is missing.
_REUSE: Final = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY


def batch_workflow_id(kind: KindName, batch_id: str) -> str:
    """Return the workflow id of the *kind* batch *batch_id*: ``lean-payroll-<kind>-<id>``."""
    return f"lean-payroll-{kind}-{batch_id}"


async def start_batch(
    client: Client,
    *,
    batch_id: str,
    kind: KindName,
    items: Sequence[Mapping[str, str]],
    concurrency: int = 16,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    task_queue: str = TASK_QUEUE,
    heartbeat_timeout: float = 5.0,
    start_to_close_timeout: float = 120.0,
    maximum_attempts: int = 20,
) -> WorkflowHandle[PayrollBatch, BatchSummary]:
    """Start the `PayrollBatch` of *items*, or attach to the one already started.

    The batch's workflow id is ``lean-payroll-<kind>-<batch_id>``. If it is running, its
    handle is returned and nothing is started; if it finished, its handle is returned
    too (its ``result()`` is the earlier summary): the same batch never runs twice.
    Items are CSV cells by column header (see `lean_async.temporal._types`); they are
    checked by the workers, and a bad one is reported in the summary, not retried.

    With ``opentelemetry-api`` installed, the current trace context travels with the
    batch: the activities' `LeanClient` calls (``lean.gigs.create``...) are recorded in
    the caller's trace, under the span current here.

    Args:
        client: a connected Temporal client.
        batch_id: names the batch; special payments' derived keys come from it.
        kind: ``"gigs"`` or ``"special_payments"``.
        items: the items, in order (item *i*'s key uses *i*).
        concurrency: the most payments in flight at once, across every worker.
        chunk_size: items per chunk workflow.
        task_queue: the queue the workers poll.
        heartbeat_timeout: seconds without a heartbeat before an attempt is given up
            (a killed worker's payments are retried elsewhere after this).
        start_to_close_timeout: seconds one attempt may take, retries inside included.
        maximum_attempts: attempts per item for retryable errors (5xx, connection).

    Raises:
        ValidationError: an argument is out of range.
    """
    problems = []
    if not isinstance(batch_id, str) or not batch_id:
        problems.append(("batch_id", "must be a non-empty string"))
    if kind not in ("gigs", "special_payments"):
        problems.append(("kind", "must be 'gigs' or 'special_payments'"))
    for name, value in (("concurrency", concurrency), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append((name, "must be an int >= 1"))
    if problems:
        raise ValidationError(problems)
    client = traced_client(client)
    workflow_id = batch_workflow_id(kind, batch_id)
    existing = await _existing(client, workflow_id)
    if existing is not None:
        return existing
    chunks = [list(items[at : at + chunk_size]) for at in range(0, len(items), chunk_size)]
    starts = asyncio.Semaphore(_STARTS_AT_ONCE)

    async def start_chunk(number: int, chunk: list[Mapping[str, str]]) -> None:
        inputs = ChunkInput(
            batch_id=batch_id,
            kind=kind,
            parent_id=workflow_id,
            chunk=number,
            first_index=number * chunk_size,
            items=[dict(item) for item in chunk],
            concurrency=concurrency,
            heartbeat_timeout=heartbeat_timeout,
            start_to_close_timeout=start_to_close_timeout,
            maximum_attempts=maximum_attempts,
        )
        async with starts:
            # Already finished in an earlier run of this batch: the batch reads its result.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await client.start_workflow(
                    PayrollChunk.run,
                    inputs,
                    id=chunk_id(workflow_id, number),
                    task_queue=task_queue,
                    id_reuse_policy=_REUSE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )

    await asyncio.gather(*(start_chunk(n, chunk) for n, chunk in enumerate(chunks)))
    try:
        return await client.start_workflow(
            PayrollBatch.run,
            BatchInput(batch_id=batch_id, kind=kind, total=len(items), chunk_count=len(chunks)),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=_REUSE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:  # another starter finished it meanwhile
        return client.get_workflow_handle_for(PayrollBatch.run, workflow_id)


async def _existing(
    client: Client, workflow_id: str
) -> WorkflowHandle[PayrollBatch, BatchSummary] | None:
    """Return the handle of the batch if it is running or finished, else None."""
    handle = client.get_workflow_handle_for(PayrollBatch.run, workflow_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
    if description.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED):
        return handle
    return None


async def batch_progress(client: Client, workflow_id: str) -> BatchProgress:
    """Return where batch *workflow_id* stands, items of the chunk being paid included."""
    progress = await client.get_workflow_handle(workflow_id).query(PayrollBatch.progress)
    if progress.running_chunk is not None:
        try:
            within = await client.get_workflow_handle(progress.running_chunk).query(
                PayrollChunk.progress
            )
        except RPCError:
            return progress
        progress.done += within.done
        progress.failed += within.failed
        progress.created += within.created
        progress.already_there += within.already_there
        progress.unsure += within.unsure
        progress.pending = progress.total - progress.done
    return progress


async def follow_batch(
    client: Client,
    handle: WorkflowHandle[PayrollBatch, BatchSummary],
    on_progress: Callable[[BatchProgress], None],
    *,
    every: float = 0.5,
) -> BatchSummary:
    """Call *on_progress* every *every* seconds until the batch finishes; return its summary.

    Raises:
        temporalio.client.WorkflowFailureError: the batch failed or was terminated.
    """
    result = asyncio.ensure_future(handle.result())
    try:
        while True:
            done, _ = await asyncio.wait({result}, timeout=every)
            if done:
                summary = result.result()
                break
            with contextlib.suppress(RPCError):
                on_progress(await batch_progress(client, handle.id))
    finally:
        if not result.done():
            result.cancel()
            await asyncio.wait({result})
    on_progress(
        BatchProgress(
            total=summary.total,
            done=summary.total,
            failed=summary.failed_count,
            pending=0,
            created=summary.created,
            already_there=summary.already_there,
            unsure=summary.unsure,
        )
    )
    return summary
