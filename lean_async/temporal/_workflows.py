"""The workflows: `PayrollChunk` pays one chunk in slices, `PayrollBatch` sums them up.

Why chunks, and why the starter starts them: a batch's items may be far larger than
one Temporal payload (2 MB by default; 100,000 gigs are ~20 MB) and one workflow's
history. So `start_batch` starts one `PayrollChunk` per *chunk_size* items, each
holding its own items and waiting, then `PayrollBatch`, which holds only counts and
the chunks' outcome letters (one signal and a few events per chunk: ~6,000 events and
~1 MB of history for 1,000,000 items).

How a chunk pays: in slices of *slice_size* items, one ``lean.pay_slice`` activity
each (``create_many`` at *slice_concurrency* calls, heartbeating). A batch has
*slots* slices running at once across every worker (*slots* x *slice_concurrency* <=
*concurrency*). The batch hands every slot to its first chunk (signal ``go``); a chunk
that has started its last slice hands each slot that frees to the next chunk (signal
``lend``), so the next chunk starts while the last slices of the one before finish, and
the slices in flight never exceed *slots*. A chunk finishes only once the chunk before
it has handed on its last slot (``SlotGrant.last``), so no slot is ever lost.

Workflow code is replayed: it reads no clock, file or network, only `workflow` APIs.
This shape does not replay histories of the item-per-activity workflows (unreleased).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from lean_async.temporal._activities import CHUNK_RESULT, PAY_SLICE
    from lean_async.temporal._types import (
        ALREADY_THERE,
        CREATED,
        FAILED,
        PENDING,
        UNSURE,
        BatchInput,
        BatchProgress,
        BatchSummary,
        ChunkInput,
        ChunkResult,
        ItemFailure,
        SliceInput,
        SliceResult,
        SlotGrant,
        pending_outcomes,
    )

__all__ = ["PROGRESS_MEMO", "PayrollBatch", "PayrollChunk", "chunk_id"]

PROGRESS_MEMO: Final = "lean.progress"
"""The memo key where each workflow keeps its progress counts (read with ``describe()``).

A memo is read from the server's records, with no worker involved: progress is there
at once while a dead worker's workflows wait to move to another (a query would wait).
"""

_NON_RETRYABLE: Final = ["ValidationError", "ConflictError"]
# A slice whose worker died is retried as soon as its heartbeat timeout says so.
_FIRST_RETRY: Final = timedelta(seconds=0.2)
_PARENT_TRIES: Final = 30  # x 2 s: a batch being started again gets the result meanwhile


def chunk_id(batch_workflow_id: str, chunk: int) -> str:
    """Return the workflow id of chunk *chunk* of the batch workflow *batch_workflow_id*."""
    return f"{batch_workflow_id}/chunk-{chunk:05d}"


@workflow.defn
class PayrollChunk:
    """Pay one chunk of a batch, in slices, with the slots its batch or predecessor hands it."""

    def __init__(self) -> None:
        self._go = False
        self._slots = 0  # the batch's slots, all of them this chunk's once it says go
        self._lent = 0
        self._predecessor_done = False
        self._running = 0
        self._handed_on = 0
        self._outcomes: list[str] = []
        self._failures: list[ItemFailure] = []

    @workflow.signal
    def go(self) -> None:
        """Start paying with all of the batch's slots (sent by the batch; again: nothing)."""
        self._go = True

    @workflow.signal
    def lend(self, grant: SlotGrant) -> None:
        """Take slots handed on by the chunk before this one."""
        self._lent += grant.slots
        self._predecessor_done = self._predecessor_done or grant.last

    @workflow.query
    def progress(self) -> BatchProgress:
        """Return this chunk's items done, failed and pending."""
        return _progress(self._outcomes)

    def _free(self) -> int:
        given = (self._slots if self._go else 0) + self._lent
        return given - self._running - self._handed_on

    @workflow.run
    async def run(self, chunk: ChunkInput) -> ChunkResult:
        """Pay every item in slices as slots come, hand the slots on, return the outcomes."""
        self._slots = chunk.slots
        self._outcomes = pending_outcomes(len(chunk.items))
        await workflow.wait_condition(lambda: self._free() > 0)
        retry = RetryPolicy(
            initial_interval=_FIRST_RETRY,
            maximum_interval=timedelta(seconds=30),
            maximum_attempts=chunk.maximum_attempts,
            non_retryable_error_types=_NON_RETRYABLE,
        )

        async def pay(start: int) -> None:
            items = chunk.items[start : start + chunk.slice_size]
            try:
                result = await workflow.execute_activity(
                    PAY_SLICE,
                    SliceInput(
                        batch_id=chunk.batch_id,
                        kind=chunk.kind,
                        first_index=chunk.first_index + start,
                        items=items,
                        concurrency=chunk.slice_concurrency,
                        maximum_attempts=chunk.maximum_attempts,
                    ),
                    result_type=SliceResult,
                    start_to_close_timeout=timedelta(seconds=chunk.start_to_close_timeout),
                    heartbeat_timeout=timedelta(seconds=chunk.heartbeat_timeout),
                    retry_policy=retry,
                )
                self._outcomes[start : start + len(items)] = list(result.outcomes)
                self._failures.extend(result.failures)
            except ActivityError as exc:  # out of attempts (or a bug): every item failed
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type:
                    reason, message = cause.type, cause.message
                else:
                    reason, message = type(cause).__name__, str(cause)
                for offset in range(start, start + len(items)):
                    self._failures.append(ItemFailure(chunk.first_index + offset, reason, message))
                    self._outcomes[offset] = FAILED
            finally:
                self._running -= 1
                workflow.upsert_memo({PROGRESS_MEMO: _counts(self._outcomes)})

        tasks = []
        for start in range(0, len(chunk.items), chunk.slice_size):
            await workflow.wait_condition(lambda: self._free() > 0)
            self._running += 1
            tasks.append(asyncio.create_task(pay(start)))
        # Every slice started: hand each slot that frees to the chunks after this one.
        successor = chunk.chunk + 1
        while True:
            await workflow.wait_condition(lambda: self._free() > 0 or self._finished_lending())
            last = self._finished_lending()
            free = self._free()
            self._handed_on += free
            successor = await self._hand_on(chunk, successor, SlotGrant(free, last))
            if last:
                break
        await asyncio.gather(*tasks)
        result = ChunkResult(
            chunk=chunk.chunk,
            first_index=chunk.first_index,
            outcomes="".join(self._outcomes),
            failures=sorted(self._failures, key=lambda failure: failure.index),
        )
        await self._tell_parent(chunk.parent_id, result)
        return result

    def _finished_lending(self) -> bool:
        """Whether no slice runs and no slot can come any more: time to hand on the last."""
        return self._running == 0 and (self._go or self._predecessor_done)

    async def _hand_on(self, chunk: ChunkInput, successor: int, grant: SlotGrant) -> int:
        """Signal *grant* to the first chunk from *successor* on still running; return it.

        A chunk that finished in an earlier run of the batch cannot take it: the next one
        does. After the last chunk, slots are retired.
        """
        while successor < chunk.chunk_count:
            try:
                await workflow.get_external_workflow_handle(
                    chunk_id(chunk.parent_id, successor)
                ).signal(PayrollChunk.lend, grant)
                return successor
            except Exception:
                successor += 1
        return successor

    @staticmethod
    async def _tell_parent(parent_id: str, result: ChunkResult) -> None:
        """Signal *result* to the batch; while it is gone (being started again), retry."""
        for _ in range(_PARENT_TRIES):
            try:
                await workflow.get_external_workflow_handle(parent_id).signal(
                    PayrollBatch.chunk_done, result
                )
                return
            except Exception:
                await workflow.sleep(2.0)
        workflow.logger.warning("batch %s is gone; the chunk result stays here", parent_id)


@workflow.defn
class PayrollBatch:
    """Set a batch's chunks going and sum up what they did."""

    def __init__(self) -> None:
        self._batch: BatchInput | None = None
        self._results: dict[int, ChunkResult] = {}
        self._me = ""

    @workflow.signal
    def chunk_done(self, result: ChunkResult) -> None:
        """Record a chunk's result (sent by the chunk when it finishes)."""
        self._results[result.chunk] = result

    @workflow.query
    def progress(self) -> BatchProgress:
        """Return the items of finished chunks done and failed, the rest pending.

        ``running_chunks`` names the first chunks not finished that may be paying
        (chunks overlap: the next starts while the last slices of the one before finish,
        and one may have finished without this batch having heard it yet);
        ``running_chunk`` the first. Query their ``progress`` too for the items finished within them
        (`lean_async.temporal.batch_progress` adds them up).
        """
        total = self._batch.total if self._batch is not None else 0
        done = _progress("".join(r.outcomes for r in self._results.values()), total=total)
        count = self._batch.chunk_count if self._batch is not None else 0
        watched = self._batch.watched if self._batch is not None else 3
        running = [c for c in range(count) if c not in self._results][:watched]
        done.running_chunks = [chunk_id(self._me, c) for c in running]
        done.running_chunk = done.running_chunks[0] if running else None
        return done

    @workflow.run
    async def run(self, batch: BatchInput) -> BatchSummary:
        """Read chunks finished earlier, set the first one left going; return the summary."""
        self._batch = batch
        self._me = me = workflow.info().workflow_id
        for chunk in batch.finished_chunks:  # a batch run again after its first run failed
            await self._read_result(me, chunk)
        for chunk in range(batch.chunk_count):
            if chunk in self._results:
                continue
            try:
                await workflow.get_external_workflow_handle(chunk_id(me, chunk)).signal(
                    PayrollChunk.go
                )
                break
            except Exception:  # it finished meanwhile (an earlier run): read its result
                await self._read_result(me, chunk)
        reported = -1
        while True:
            if len(self._results) != reported:
                reported = len(self._results)
                workflow.upsert_memo({PROGRESS_MEMO: self._memo()})
            if reported >= batch.chunk_count:
                break
            await workflow.wait_condition(lambda: len(self._results) != reported)  # noqa: B023
        return _summary(batch, [self._results[c] for c in range(batch.chunk_count)])

    def _memo(self) -> dict[str, object]:
        progress = self.progress()
        counts = _counts("".join(r.outcomes for r in self._results.values()))
        counts["total"] = progress.total
        counts["running_chunks"] = progress.running_chunks
        return counts

    async def _read_result(self, me: str, chunk: int) -> None:
        self._results[chunk] = await workflow.execute_activity(
            CHUNK_RESULT,
            chunk_id(me, chunk),
            result_type=ChunkResult,
            start_to_close_timeout=timedelta(seconds=60),
        )


def _counts(outcomes: str | list[str]) -> dict[str, object]:
    """Return the counts of *outcomes* as `PROGRESS_MEMO` holds them (JSON)."""
    text = "".join(outcomes)
    return {
        "done": len(text) - text.count(PENDING),
        "failed": text.count(FAILED),
        "created": text.count(CREATED),
        "already_there": text.count(ALREADY_THERE),
        "unsure": text.count(UNSURE),
    }


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
