"""What the payroll workflows and activities pass to each other: plain dataclasses.

Everything here is JSON-native (strings, ints, lists, dicts) so Temporal's default
data converter carries it unchanged, and so a workflow started by one version of
lean-async can be read by another. An item is the CSV row's cells by column header
(``{"partnerUserId": "uid_1", "gigId": "g-1", "totalAmount": "15.00", ...}``), the
same columns ``lean-async gigs import`` reads; times carry ``Z`` or an offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "ALREADY_THERE",
    "CREATED",
    "FAILED",
    "PENDING",
    "UNSURE",
    "BatchInput",
    "BatchProgress",
    "BatchSummary",
    "ChunkInput",
    "ChunkResult",
    "ItemFailure",
    "ItemPaid",
    "KindName",
    "PayItem",
    "SliceInput",
    "SliceResult",
    "SlotGrant",
]

KindName = Literal["gigs", "special_payments"]
"""What a batch pays: gigs or special payments (one kind per batch)."""

CREATED: Final = "c"
"""An item's outcome letter: paid by this batch."""
ALREADY_THERE: Final = "a"
"""An item's outcome letter: found already paid before the batch started."""
UNSURE: Final = "u"
"""An item's outcome letter: paid, but Lean's answer did not say whether by this batch."""
FAILED: Final = "f"
"""An item's outcome letter: failed (see the batch's ``failures``)."""
PENDING: Final = "-"
"""An item's outcome letter while it is not done yet."""


@dataclass
class PayItem:
    """One activity call: item *index* (from 0, across the whole batch) of *batch_id*."""

    batch_id: str
    index: int
    cells: dict[str, str]
    started_at: str  # no longer read (outcomes come from the calls); kept for old histories


@dataclass
class ItemPaid:
    """What paying one item gave: the payment's id, and whether it was there before.

    Told by the call on Lean's clock (`lean_async.resources._outcome`); *unsure* when Lean's
    answer could not tell.
    """

    id: str
    already_there: bool
    unsure: bool = False


@dataclass
class ItemFailure:
    """An item that failed: its index in the batch, the error's type name and message."""

    index: int
    reason: str
    message: str


@dataclass
class ChunkInput:
    """A chunk of a batch: its items and how to pay them (see `PayrollChunk`)."""

    batch_id: str
    kind: KindName
    parent_id: str
    chunk: int
    first_index: int
    items: list[dict[str, str]]
    concurrency: int
    heartbeat_timeout: float
    start_to_close_timeout: float
    maximum_attempts: int
    # How the chunk pays (issue 21); the defaults read chunks started before slices.
    chunk_count: int = 0
    slice_size: int = 200
    slice_concurrency: int = 8
    slots: int = 1


@dataclass
class SliceInput:
    """One activity call: pay *items*, item *first_index* of *batch_id* onwards.

    *concurrency* calls at once (``create_many``); *maximum_attempts* is the slice's
    retry policy's, so the last attempt reports what still fails instead of raising.
    """

    batch_id: str
    kind: KindName
    first_index: int
    items: list[dict[str, str]]
    concurrency: int
    maximum_attempts: int


@dataclass
class SliceResult:
    """What paying a slice did: one outcome letter per item, and the failed items.

    Also the activity's heartbeat details while it runs (``-`` for items not done), so a
    retried slice starts from where its last attempt was last heard of.
    """

    outcomes: str
    failures: list[ItemFailure] = field(default_factory=list)


@dataclass
class SlotGrant:
    """Slices a chunk may run, handed on by the chunk before it (signal ``lend``).

    *last*: the chunk before has finished, so no more slots will come from it.
    """

    slots: int
    last: bool = False


@dataclass
class ChunkResult:
    """A finished chunk: one outcome letter per item, and the failed items."""

    chunk: int
    first_index: int
    outcomes: str
    failures: list[ItemFailure] = field(default_factory=list)


@dataclass
class BatchInput:
    """A batch whose chunks were started (waiting) by `start_batch`."""

    batch_id: str
    kind: KindName
    total: int
    chunk_count: int
    finished_chunks: list[int] = field(default_factory=list)  # done in an earlier run
    watched: int = 3  # unfinished chunks whose progress `batch_progress` adds up


@dataclass
class BatchProgress:
    """Where a batch stands: items done (paid or failed), failed, and pending."""

    total: int
    done: int = 0
    failed: int = 0
    pending: int = 0
    created: int = 0
    already_there: int = 0
    running_chunk: str | None = None  # the first chunk workflow being paid, if any
    unsure: int = 0
    running_chunks: list[str] = field(default_factory=list)  # chunks that may be paying


@dataclass
class BatchSummary:
    """What a finished batch did: ``await handle.result()`` of `start_batch`.

    Attributes:
        batch_id: the batch's id (the same id never pays twice).
        kind: ``"gigs"`` or ``"special_payments"``.
        total: how many items the batch had.
        created: items paid by this batch.
        already_there: items found already paid before the batch started (a re-run).
        failed: how many items failed, by reason: the error's class name mapped to a
            count, e.g. ``{"ValidationError": 2, "ConflictError": 1}``; empty when none
            failed. `failed_count` is their sum; ``failures`` has each item.
        outcomes: one letter per item, in item order: ``c`` created by this batch,
            ``a`` already there before it started, ``u`` paid but unsure which, ``f``
            failed.
        failures: every failed item (index, reason, message), in item order.
    """

    batch_id: str
    kind: KindName
    total: int
    created: int
    already_there: int
    failed: dict[str, int]
    outcomes: str
    failures: list[ItemFailure]
    unsure: int = 0

    @property
    def failed_count(self) -> int:
        """Items that failed, all reasons together."""
        return sum(self.failed.values())


def pending_outcomes(count: int) -> list[str]:
    """Return *count* "not done yet" outcome letters."""
    return [PENDING] * count
