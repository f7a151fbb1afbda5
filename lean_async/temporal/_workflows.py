"""The workflows: `PayrollBatch` runs a batch chunk by chunk, `PayrollChunk` pays one chunk.

Why chunks, and why the starter starts them: a batch's items may be far larger than
one Temporal payload (2 MB by default; 100,000 gigs are ~20 MB) and one workflow's
history (~3.6 events per item). So `start_batch` starts one `PayrollChunk` per
*chunk_size* items, each holding its own items and waiting, then `PayrollBatch`, which
holds only counts. The batch releases its chunks one at a time (signal ``go``); each
pays its items, at most *concurrency* activities at once across every worker, and
signals its result back. No history holds more than one chunk's items, and the
batch's own history grows by a few events and one short result per chunk.

Workflow code is replayed: it reads no clock, file or network, only `workflow` APIs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from lean_async.temporal._activities import CHUNK_RESULT, PAY_GIG, PAY_SPECIAL_PAYMENT
    from lean_async.temporal._types import (
        ALREADY_THERE,
        CREATED,
        FAILED,
        UNSURE,
        BatchInput,
        BatchProgress,
        BatchSummary,
        ChunkInput,
        ChunkResult,
        ItemFailure,
        ItemPaid,
        PayItem,
        pending_outcomes,
    )

__all__ = ["PayrollBatch", "PayrollChunk", "chunk_id"]

_NON_RETRYABLE: Final = ["ValidationError", "ConflictError"]


class _Slots:
    """Payments that may still start in a chunk (a counter the tasks share)."""

    def __init__(self, free: int) -> None:
        self.free = free


def chunk_id(batch_workflow_id: str, chunk: int) -> str:
    """Return the workflow id of chunk *chunk* of the batch workflow *batch_workflow_id*."""
    return f"{batch_workflow_id}/chunk-{chunk:05d}"


@workflow.defn
class PayrollChunk:
    """Pay one chunk of a batch once its `PayrollBatch` says ``go``."""

    def __init__(self) -> None:
        self._go = False
        self._outcomes: list[str] = []
        self._failures: list[ItemFailure] = []
        self._first_index = 0

    @workflow.signal
    def go(self) -> None:
        """Start paying (sent by the batch; sending it again changes nothing)."""
        self._go = True

    @workflow.query
    def progress(self) -> BatchProgress:
        """Return this chunk's items done, failed and pending."""
        return _progress(self._outcomes)

    @workflow.run
    async def run(self, chunk: ChunkInput) -> ChunkResult:
        """Wait for ``go``, pay every item, tell the batch, return the outcomes."""
        self._outcomes = pending_outcomes(len(chunk.items))
        self._first_index = chunk.first_index
        await workflow.wait_condition(lambda: self._go)
        started_at = workflow.info().start_time.isoformat()
        activity_name = PAY_GIG if chunk.kind == "gigs" else PAY_SPECIAL_PAYMENT
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            maximum_interval=timedelta(seconds=30),
            maximum_attempts=chunk.maximum_attempts,
            non_retryable_error_types=_NON_RETRYABLE,
        )
        slots = _Slots(chunk.concurrency)

        async def pay(offset: int) -> None:
            index = chunk.first_index + offset
            try:
                paid = await workflow.execute_activity(
                    activity_name,
                    PayItem(chunk.batch_id, index, chunk.items[offset], started_at),
                    result_type=ItemPaid,
                    start_to_close_timeout=timedelta(seconds=chunk.start_to_close_timeout),
                    heartbeat_timeout=timedelta(seconds=chunk.heartbeat_timeout),
                    retry_policy=retry,
                )
                if paid.unsure:
                    self._outcomes[offset] = UNSURE
                else:
                    self._outcomes[offset] = ALREADY_THERE if paid.already_there else CREATED
            except ActivityError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type:
                    reason, message = cause.type, cause.message
                else:
                    reason, message = type(cause).__name__, str(cause)
                self._failures.append(ItemFailure(index, reason, message))
                self._outcomes[offset] = FAILED
            finally:
                slots.free += 1

        tasks = []
        for offset in range(len(chunk.items)):
            await workflow.wait_condition(lambda: slots.free > 0)
            slots.free -= 1
            tasks.append(asyncio.create_task(pay(offset)))
        await asyncio.gather(*tasks)
        result = ChunkResult(
            chunk=chunk.chunk,
            first_index=chunk.first_index,
            outcomes="".join(self._outcomes),
            failures=sorted(self._failures, key=lambda failure: failure.index),
        )
        try:
            parent = workflow.get_external_workflow_handle(chunk.parent_id)
            await parent.signal(PayrollBatch.chunk_done, result)
        except Exception:  # the batch is gone (terminated): the result is still returned
            workflow.logger.warning(
                "batch %s is gone; the chunk result stays here", chunk.parent_id
            )
        return result


@workflow.defn
class PayrollBatch:
    """Run a batch's chunks one after the other and sum up what they did."""

    def __init__(self) -> None:
        self._batch: BatchInput | None = None
        self._results: dict[int, ChunkResult] = {}
        self._running: str | None = None

    @workflow.signal
    def chunk_done(self, result: ChunkResult) -> None:
        """Record a chunk's result (sent by the chunk when it finishes)."""
        self._results[result.chunk] = result

    @workflow.query
    def progress(self) -> BatchProgress:
        """Return the items of finished chunks done and failed, the rest pending.

        ``running_chunk`` names the chunk being paid: query its ``progress`` too for
        the items finished within it (`lean_async.temporal.batch_progress` adds both).
        """
        total = self._batch.total if self._batch is not None else 0
        done = _progress("".join(r.outcomes for r in self._results.values()), total=total)
        done.running_chunk = self._running
        return done

    @workflow.run
    async def run(self, batch: BatchInput) -> BatchSummary:
        """Release every chunk in turn; return the batch's summary."""
        self._batch = batch
        me = workflow.info().workflow_id
        for chunk in range(batch.chunk_count):
            if chunk in self._results:
                continue
            self._running = chunk_id(me, chunk)
            try:
                await workflow.get_external_workflow_handle(self._running).signal(PayrollChunk.go)
            except Exception:
                # The chunk already finished (this batch is being run again after its
                # first run failed): read its result instead of paying anything again.
                self._results[chunk] = await workflow.execute_activity(
                    CHUNK_RESULT,
                    self._running,
                    result_type=ChunkResult,
                    start_to_close_timeout=timedelta(seconds=60),
                )
            await workflow.wait_condition(lambda chunk=chunk: chunk in self._results)  # type: ignore[misc]
        self._running = None
        return _summary(batch, [self._results[c] for c in range(batch.chunk_count)])


def _progress(outcomes: str | list[str], *, total: int | None = None) -> BatchProgress:
    text = "".join(outcomes)
    created, already, failed = text.count(CREATED), text.count(ALREADY_THERE), text.count(FAILED)
    unsure = text.count(UNSURE)
    total = len(text) if total is None else total
    done = created + already + unsure + failed
    return BatchProgress(
        total=total,
        done=done,
        failed=failed,
        pending=total - done,
        created=created,
        already_there=already,
        unsure=unsure,
    )


def _summary(batch: BatchInput, results: list[ChunkResult]) -> BatchSummary:
    outcomes = "".join(r.outcomes for r in results)
    failures = [failure for r in results for failure in r.failures]
    reasons: dict[str, int] = {}
    for failure in failures:
        reasons[failure.reason] = reasons.get(failure.reason, 0) + 1
    return BatchSummary(
        batch_id=batch.batch_id,
        kind=batch.kind,
        total=batch.total,
        created=outcomes.count(CREATED),
        already_there=outcomes.count(ALREADY_THERE),
        failed=reasons,
        outcomes=outcomes,
        failures=failures,
        unsure=outcomes.count(UNSURE),
    )
