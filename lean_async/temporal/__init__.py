"""Payroll batches as durable Temporal workflows (the ``temporal`` extra).

A batch finishes after any one process dies and never pays twice: each item's key
(a gig's ``gigId``, a special payment's own or derived ``Idempotency-Key``) makes a
repeated attempt pay nothing, and Temporal re-runs on another worker what a dead one
had in flight, bounds the payments in flight across all workers, and refuses to run
the same batch twice.

* `start_batch` starts a batch, or attaches to the one with the same batch id;
  `batch_progress` says where it stands; the handle's ``result()`` is a `BatchSummary`.
* `run_worker` (``lean-async worker --temporal HOST:PORT``) runs a worker process;
  `build_worker` builds one for a process that runs its own.
* `PayrollBatch` / `PayrollChunk` are the workflows, `PayrollActivities` the activities.

Needs ``pip install 'lean-async[temporal]'``.
"""

try:
    import temporalio  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "lean_async.temporal needs its extra: pip install 'lean-async[temporal]'"
    ) from exc

from lean_async.temporal._activities import (
    PAY_GIG,
    PAY_SPECIAL_PAYMENT,
    PayrollActivities,
    classify,
    row_of,
)
from lean_async.temporal._starter import (
    DEFAULT_CHUNK_SIZE,
    TASK_QUEUE,
    batch_progress,
    batch_workflow_id,
    follow_batch,
    start_batch,
)
from lean_async.temporal._types import (
    BatchInput,
    BatchProgress,
    BatchSummary,
    ChunkInput,
    ChunkResult,
    ItemFailure,
    ItemPaid,
    KindName,
    PayItem,
)
from lean_async.temporal._worker import DEFAULT_STICKY_TIMEOUT, build_worker, run_worker
from lean_async.temporal._workflows import PayrollBatch, PayrollChunk, chunk_id

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_STICKY_TIMEOUT",
    "PAY_GIG",
    "PAY_SPECIAL_PAYMENT",
    "TASK_QUEUE",
    "BatchInput",
    "BatchProgress",
    "BatchSummary",
    "ChunkInput",
    "ChunkResult",
    "ItemFailure",
    "ItemPaid",
    "KindName",
    "PayItem",
    "PayrollActivities",
    "PayrollBatch",
    "PayrollChunk",
    "batch_progress",
    "batch_workflow_id",
    "build_worker",
    "chunk_id",
    "classify",
    "follow_batch",
    "row_of",
    "run_worker",
    "start_batch",
]
