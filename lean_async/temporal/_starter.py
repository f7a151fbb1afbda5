"""Start a batch (or attach to it) and read where it stands, from any process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from lean_async.errors import ValidationError
from lean_async.temporal._activities import PAY_SLICE
from lean_async.temporal._types import (
    ALREADY_THERE,
    CREATED,
    FAILED,
    UNSURE,
    BatchInput,
    BatchProgress,
    BatchSummary,
    ChunkInput,
    KindName,
)
from lean_async.temporal._workflows import PROGRESS_MEMO, PayrollBatch, PayrollChunk, chunk_id

try:  # with opentelemetry-api, the batch's payments nest under the caller's span
    from lean_async.temporal._tracing import traced_client
except ImportError:  # the otel extra is not installed

    def traced_client(client: Client) -> Client:
        """Return *client* as it is: there is no trace context to carry."""
        return client


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_SLICE_SIZE",
    "TASK_QUEUE",
    "batch_progress",
    "batch_workflow_id",
    "follow_batch",
    "start_batch",
]

TASK_QUEUE: Final = "lean-payroll"
"""The task queue workers poll and batches are started on, unless told otherwise."""
DEFAULT_CHUNK_SIZE: Final = 1000
"""Items per chunk workflow: ~250 KB of input, twice that in its history (the slices')."""
DEFAULT_SLICE_SIZE: Final = 200
"""Items per ``lean.pay_slice`` activity: ~50 KB of input (README, "Past one machine")."""
DEFAULT_HEARTBEAT_TIMEOUT: Final = 2.0
"""Seconds without a heartbeat before a slice is retried elsewhere (its worker died)."""
_SLICE_CALLS: Final = 8  # the most calls one slice has in flight (16: ~0.7x the items/s)
_SLICES: Final = 4  # the fewest slices in flight a batch aims for (spread over workers)
_STARTS_AT_ONCE: Final = 16

# A finished batch is not run again (its result is returned); a failed or terminated one
# may be: every item's key makes the new run pay only what is missing.
_REUSE: Final = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
# A workflow task held by a worker that dies is given to another only when this runs out
# (Temporal's default, 10 s, was the longest stall after a SIGKILL: 7-10 s in 1 run of 3).
# The batch's and chunks' tasks replay short histories: measured well under 0.1 s.
_WORKFLOW_TASK_TIMEOUT: Final = timedelta(seconds=2)


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
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
    start_to_close_timeout: float = 600.0,
    maximum_attempts: int = 20,
    slice_size: int = DEFAULT_SLICE_SIZE,
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
        concurrency: the most payments in flight at once, across every worker: split
            into slices running at once (at least 4 when *concurrency* allows) of at
            most 8 calls each (see `slice_plan`).
        chunk_size: items per chunk workflow.
        task_queue: the queue the workers poll.
        heartbeat_timeout: seconds without a heartbeat before a slice's attempt is given
            up (a killed worker's slice is retried elsewhere after this).
        start_to_close_timeout: seconds one attempt of a slice may take, its calls'
            retries and rate limiting included.
        maximum_attempts: attempts per slice (a worker's death, or items that failed
            with a retryable error: 5xx, connection, 429); the last attempt reports
            what still fails.
        slice_size: items per ``lean.pay_slice`` activity.

    Raises:
        ValidationError: an argument is out of range.
    """
    problems = []
    if not isinstance(batch_id, str) or not batch_id:
        problems.append(("batch_id", "must be a non-empty string"))
    if kind not in ("gigs", "special_payments"):
        problems.append(("kind", "must be 'gigs' or 'special_payments'"))
    for name, value in (
        ("concurrency", concurrency),
        ("chunk_size", chunk_size),
        ("slice_size", slice_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append((name, "must be an int >= 1"))
    if problems:
        raise ValidationError(problems)
    client = traced_client(client)
    workflow_id = batch_workflow_id(kind, batch_id)
    existing = await _existing(client, workflow_id)
    if existing is not None:
        return existing
    chunk_count = -(-len(items) // chunk_size)
    slots, slice_concurrency = slice_plan(concurrency)
    starts = asyncio.Semaphore(_STARTS_AT_ONCE)
    finished: list[int] = []

    async def start_chunk(number: int) -> None:
        async with starts:
            at = number * chunk_size
            inputs = ChunkInput(
                batch_id=batch_id,
                kind=kind,
                parent_id=workflow_id,
                chunk=number,
                first_index=at,
                items=[dict(item) for item in items[at : at + chunk_size]],
                concurrency=concurrency,
                heartbeat_timeout=heartbeat_timeout,
                start_to_close_timeout=start_to_close_timeout,
                maximum_attempts=maximum_attempts,
                chunk_count=chunk_count,
                slice_size=slice_size,
                slice_concurrency=slice_concurrency,
                slots=slots,
            )
            try:
                await client.start_workflow(
                    PayrollChunk.run,
                    inputs,
                    id=chunk_id(workflow_id, number),
                    task_queue=task_queue,
                    task_timeout=_WORKFLOW_TASK_TIMEOUT,
                    id_reuse_policy=_REUSE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )
            except WorkflowAlreadyStartedError:  # finished in an earlier run of this batch
                finished.append(number)

    await asyncio.gather(*(start_chunk(n) for n in range(chunk_count)))
    # The chunks the slices in flight can span, plus one finishing and one starting.
    watched = -(-slots // -(-chunk_size // slice_size)) + 2
    try:
        return await client.start_workflow(
            PayrollBatch.run,
            BatchInput(
                batch_id=batch_id,
                kind=kind,
                total=len(items),
                chunk_count=chunk_count,
                finished_chunks=sorted(finished),
                watched=watched,
            ),
            memo={
                PROGRESS_MEMO: {
                    "total": len(items),
                    "running_chunks": [
                        chunk_id(workflow_id, c) for c in range(min(watched, chunk_count))
                    ],
                }
            },
            id=workflow_id,
            task_queue=task_queue,
            task_timeout=_WORKFLOW_TASK_TIMEOUT,
            id_reuse_policy=_REUSE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:  # another starter finished it meanwhile
        return client.get_workflow_handle_for(PayrollBatch.run, workflow_id)


def slice_plan(concurrency: int) -> tuple[int, int]:
    """Return (slices in flight, calls per slice) for a batch's *concurrency*.

    At least 4 slices when *concurrency* allows, so a fleet shares the work and a dead
    worker holds a part of it; at most 8 calls per slice (a slice's fixed costs, its
    scheduling and its tail, then weigh less against its calls); their product <=
    *concurrency*.
    """
    calls = max(1, min(_SLICE_CALLS, concurrency // _SLICES))
    return concurrency // calls, calls


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
    """Return where batch *workflow_id* stands, items of the chunks being paid included.

    Read from the workflows' memos and their slices' last heartbeats (``describe()``),
    never by a query: no worker is involved, so progress is there at once also while a
    dead worker's workflows wait to move to another. Items finished within a slice
    still running count too, so progress moves with every heartbeat.
    """
    handle = client.get_workflow_handle(workflow_id)
    memo = await _memo_of(await handle.describe())
    if memo is None:  # a batch started before memos: ask it
        progress = await handle.query(PayrollBatch.progress)
        running = progress.running_chunks or (
            [progress.running_chunk] if progress.running_chunk is not None else []
        )
    else:
        running = [str(chunk) for chunk in memo.get("running_chunks", [])]
        progress = _from_memo(memo, total=int(memo.get("total", 0)))
        progress.running_chunks = running
        progress.running_chunk = running[0] if running else None
    for chunk in running:
        try:
            described = await client.get_workflow_handle(chunk).describe()
        except RPCError:
            continue
        within = _from_memo(await _memo_of(described) or {}, total=0)
        for pending in described.raw_description.pending_activities:
            if pending.activity_type.name != PAY_SLICE or not pending.heartbeat_details.payloads:
                continue
            with contextlib.suppress(Exception):  # details of another shape: not counted
                [details] = await client.data_converter.decode(
                    pending.heartbeat_details.payloads[-1:]
                )
                _add(within, _progress_of(str(details["outcomes"])))
        _add(progress, within)
    progress.pending = progress.total - progress.done
    return progress


async def _memo_of(description: WorkflowExecutionDescription) -> dict[str, Any] | None:
    memo = await description.memo()
    value = memo.get(PROGRESS_MEMO)
    return value if isinstance(value, dict) else None


def _from_memo(memo: Mapping[str, Any], *, total: int) -> BatchProgress:
    return BatchProgress(
        total=total,
        done=int(memo.get("done", 0)),
        failed=int(memo.get("failed", 0)),
        created=int(memo.get("created", 0)),
        already_there=int(memo.get("already_there", 0)),
        unsure=int(memo.get("unsure", 0)),
    )


def _progress_of(outcomes: str) -> BatchProgress:
    created, already = outcomes.count(CREATED), outcomes.count(ALREADY_THERE)
    failed, unsure = outcomes.count(FAILED), outcomes.count(UNSURE)
    done = created + already + failed + unsure
    return BatchProgress(
        total=len(outcomes),
        done=done,
        failed=failed,
        created=created,
        already_there=already,
        unsure=unsure,
    )


def _add(progress: BatchProgress, more: BatchProgress) -> None:
    progress.done += more.done
    progress.failed += more.failed
    progress.created += more.created
    progress.already_there += more.already_there
    progress.unsure += more.unsure


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
