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
* `PayrollBatch` / `PayrollChunk` are the workflows, `PayrollActivities` the activities:
  ``lean.pay_slice`` pays a slice of a chunk with ``create_many``, heartbeating.

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
    PAY_SLICE,
    PAY_SPECIAL_PAYMENT,
    PayrollActivities,
    classify,
    row_of,
)
from lean_async.temporal._starter import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_SLICE_SIZE,
    TASK_QUEUE,
    batch_progress,
    batch_workflow_id,
    follow_batch,
    slice_plan,
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
    SliceInput,
    SliceResult,
    SlotGrant,
)
from lean_async.temporal._worker import (
    DEFAULT_STICKY_TIMEOUT,
    HEARTBEAT_EVERY,
    build_worker,
    run_worker,
)
from lean_async.temporal._workflows import PayrollBatch, PayrollChunk, chunk_id

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_SLICE_SIZE",
    "DEFAULT_STICKY_TIMEOUT",
    "HEARTBEAT_EVERY",
    "PAY_GIG",
    "PAY_SLICE",
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
    "SliceInput",
    "SliceResult",
    "SlotGrant",
    "batch_progress",
    "batch_workflow_id",
    "build_worker",
    "chunk_id",
    "classify",
    "follow_batch",
    "row_of",
    "run_worker",
    "slice_plan",
    "start_batch",
]
