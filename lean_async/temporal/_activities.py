"""The activities: pay a slice of a batch through the worker's `LeanClient`.

``lean.pay_slice`` pays a slice (a few hundred items) with ``create_many``, heartbeating
each item's outcome as it finishes (the details are a `SliceResult` with ``-`` for items
not done). A retried slice (its worker died, or a call failed in a way worth repeating)
starts from its last attempt's heartbeat: the items done there are not sent again, and
the keys make the rest safe, so a kill repeats at most the calls in flight and those
finished within one heartbeat interval. ``lean.pay_gig`` / ``lean.pay_special_payment``
pay one item (batches started before slices, and callers of their own).

One `PayrollActivities` (and so one client, one connection pool, one rate limiter)
serves every activity of a worker process; the worker creates and closes it. Failures
are classified for Temporal's retry policy:

* a bad item (`ValidationError`), a `ConflictError` and any other 4xx answer except
  408 and 429 are non-retryable: sending them again cannot succeed;
* connection errors, timeouts, 408, 429 and 5xx are retryable. The client's own
  retries run first, bounded, inside one activity attempt.

A special payment without its own ``idempotencyKey`` gets
``batch_key(batch_id, index, wire body)``, the key ``lean-async special-payments import``
derives for the same file, so an attempt repeated after a crash (or the same file
imported without Temporal) pays nothing twice. A gig's ``gigId`` is its own key.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from lean_async._payroll import GIGS, SPECIAL_PAYMENTS, BadRow, PayrollKind, Row
from lean_async._payroll._rows import _row
from lean_async.errors import APIError, APIStatusError, LeanError, ValidationError
from lean_async.models import Gig, SpecialPayment
from lean_async.resources._batch import batch_key, create_many
from lean_async.resources._outcome import recording
from lean_async.temporal._types import (
    ALREADY_THERE,
    CREATED,
    FAILED,
    PENDING,
    UNSURE,
    ItemFailure,
    ItemPaid,
    PayItem,
    SliceInput,
    SliceResult,
)

if TYPE_CHECKING:
    from lean_async._client import LeanClient

__all__ = [
    "CHUNK_RESULT",
    "HEARTBEAT_EVERY",
    "PAY_GIG",
    "PAY_SLICE",
    "PAY_SPECIAL_PAYMENT",
    "PayrollActivities",
    "classify",
    "row_of",
]

PAY_GIG: Final = "lean.pay_gig"
"""The activity name paying one gig."""
PAY_SPECIAL_PAYMENT: Final = "lean.pay_special_payment"
"""The activity name paying one special payment."""
PAY_SLICE: Final = "lean.pay_slice"
"""The activity name paying a slice of a batch (gigs or special payments)."""
CHUNK_RESULT: Final = "lean.chunk_result"
"""The activity name fetching a finished chunk's result (a batch run again)."""

HEARTBEAT_EVERY: Final = 0.5
"""Seconds between a slice's heartbeats sent to Temporal (at most; the SDK throttles).

What a killed worker's slice repeats is its calls in flight and those finished within
this interval and the activity's 0.25 s look (sent again, they find their payment and
pay nothing). Each heartbeat is a write on the Temporal server: at 0.25 s the dev server
spent ~3 s of CPU per 4,000 items, at 1 s ~2 s; 0.5 s is between.
"""
_LOOK_EVERY: Final = 0.25  # seconds between looks at whether a slice moved
_RETRYABLE_4XX: Final = frozenset({408, 429})

T = TypeVar("T")


def row_of(kind: PayrollKind, index: int, cells: Mapping[str, str]) -> Row:
    """Check *cells* (a CSV row by header) exactly as the CSV import does; return the row.

    Raises:
        ValidationError: a column is unknown, a cell breaks a rule, or one is missing.
    """
    if not isinstance(cells, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in cells.items()
    ):
        raise ValidationError([("item", "must be a mapping of column names to strings")])
    unknown = [(str(k), f"is not a {kind.name} column") for k in cells if k not in kind.headers]
    if unknown:
        raise ValidationError(unknown)
    headers = list(cells)
    entry = _row(
        kind,
        {header: at for at, header in enumerate(headers)},
        [cells[header] for header in headers],
        line=index + 2,  # where it would be in a CSV file: the header is line 1
        ordinal=index,
        seen={},
    )
    if isinstance(entry, BadRow):
        raise ValidationError(entry.problems)
    return entry


def classify(error: LeanError) -> ApplicationError:
    """Return the Temporal error for *error*: non-retryable unless sending again may work."""
    retryable = isinstance(error, APIError) and (
        not isinstance(error, APIStatusError)
        or error.status_code >= 500
        or error.status_code in _RETRYABLE_4XX
    )
    return ApplicationError(str(error), type=type(error).__name__, non_retryable=not retryable)


async def _heartbeating(call: Awaitable[T]) -> T:
    """Await *call*, heartbeating meanwhile so a dead worker is noticed within seconds."""
    task = asyncio.ensure_future(call)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})


class PayrollActivities:
    """The payroll activities of one worker process, sharing its *lean* client."""

    def __init__(self, lean: LeanClient) -> None:
        self._lean = lean

    @activity.defn(name=PAY_GIG)
    async def pay_gig(self, item: PayItem) -> ItemPaid:
        """Pay one gig (its ``gigId`` makes a repeat return the existing gig)."""
        return await self._pay(GIGS, item)

    @activity.defn(name=PAY_SPECIAL_PAYMENT)
    async def pay_special_payment(self, item: PayItem) -> ItemPaid:
        """Pay one special payment under its own or its derived idempotency key."""
        return await self._pay(SPECIAL_PAYMENTS, item)

    @activity.defn(name=PAY_SLICE)
    async def pay_slice(self, piece: SliceInput) -> SliceResult:
        """Pay a slice with ``create_many``, heartbeating the outcomes as they come.

        Items a bad cell or a final answer (4xx) failed are reported, not raised. Items
        a retryable error (5xx, connection, 429) failed make the attempt fail once the
        rest are done, so Temporal retries the slice, which then sends only those; on
        the slice's last attempt they are reported as failed instead.
        """
        kind = GIGS if piece.kind == "gigs" else SPECIAL_PAYMENTS
        info = activity.info()
        outcomes, failures = _resumed(info.heartbeat_details, piece.first_index, len(piece.items))
        todo: list[tuple[int, dict[str, Any]]] = []  # (offset in the slice, create() arguments)
        for offset, cells in enumerate(piece.items):
            if outcomes[offset] != PENDING:
                continue
            index = piece.first_index + offset
            try:
                row = row_of(kind, index, cells)
            except ValidationError as exc:
                outcomes[offset] = FAILED
                failures[offset] = ItemFailure(index, type(exc).__name__, str(exc))
                continue
            arguments: dict[str, Any] = dict(row.arguments)
            if kind is SPECIAL_PAYMENTS and not arguments.get("idempotency_key"):
                arguments["idempotency_key"] = batch_key(piece.batch_id, index, row.body)
            todo.append((offset, arguments))

        def state() -> SliceResult:
            return SliceResult("".join(outcomes), [failures[at] for at in sorted(failures)])

        retry_later: dict[int, ApplicationError] = {}
        resource = self._lean.gigs if kind is GIGS else self._lean.special_payments
        finished = [0]  # results so far: the heartbeat sends the state when it moves
        beating = asyncio.create_task(_beat(state, lambda: finished[0]))
        try:
            results = create_many(
                resource.create,
                (arguments for _, arguments in todo),
                concurrency=piece.concurrency,
                earlier=_since_first_attempt(info),
            )
            async with contextlib.aclosing(results):
                async for result in results:
                    offset = todo[result.index][0]
                    if result.error is None:
                        created = result.created
                        outcomes[offset] = (
                            UNSURE if created is None else CREATED if created else ALREADY_THERE
                        )
                    else:
                        error = classify(result.error)
                        if error.non_retryable:
                            outcomes[offset] = FAILED
                            failures[offset] = ItemFailure(
                                piece.first_index + offset, error.type or "", error.message
                            )
                        else:
                            retry_later[offset] = error
                    finished[0] += 1
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        activity.heartbeat(state())  # what a retry starts from, if this attempt fails
        if retry_later:
            if info.attempt < piece.maximum_attempts:
                first = next(iter(retry_later.values()))
                raise ApplicationError(
                    f"{len(retry_later)} of {len(piece.items)} items failed and may succeed "
                    f"when sent again; first: {first.message}",
                    type=first.type,
                )
            for offset, error in retry_later.items():
                outcomes[offset] = FAILED
                failures[offset] = ItemFailure(
                    piece.first_index + offset, error.type or "", error.message
                )
        return state()

    @activity.defn(name=CHUNK_RESULT)
    async def chunk_result(self, workflow_id: str) -> Any:
        """Return the result of the finished chunk workflow *workflow_id*."""
        return await activity.client().get_workflow_handle(workflow_id).result()

    async def _pay(self, kind: PayrollKind, item: PayItem) -> ItemPaid:
        try:
            row = row_of(kind, item.index, item.cells)
            arguments: dict[str, Any] = dict(row.arguments)
            if kind is SPECIAL_PAYMENTS and not arguments.get("idempotency_key"):
                arguments["idempotency_key"] = batch_key(item.batch_id, item.index, row.body)
            resource = self._lean.gigs if kind is GIGS else self._lean.special_payments
            with recording(earlier=_earlier_attempts()) as outcome:
                paid: Gig | SpecialPayment = await _heartbeating(resource.create(**arguments))
        except LeanError as exc:
            raise classify(exc) from None
        return ItemPaid(
            id=paid.id, already_there=outcome.created is False, unsure=outcome.created is None
        )


async def _beat(state: Callable[[], SliceResult], moved: Callable[[], int]) -> None:
    """Heartbeat *state* when *moved* changed (looked at every `_LOOK_EVERY` seconds), and
    every `HEARTBEAT_EVERY` seconds regardless, so a slice waiting on Lean stays alive.

    Not on every result: each heartbeat is an encode and a task in the SDK, and the worker
    sends at most one per `HEARTBEAT_EVERY` anyway.
    """
    last, quiet = -1, 0.0
    while True:
        await asyncio.sleep(_LOOK_EVERY)
        quiet += _LOOK_EVERY
        now = moved()
        if now != last or quiet >= HEARTBEAT_EVERY:
            activity.heartbeat(state())
            last, quiet = now, 0.0


def _resumed(details: Any, first_index: int, size: int) -> tuple[list[str], dict[int, ItemFailure]]:
    """Return the outcomes and failures (by offset) of a slice's last heartbeat.

    The details are read as plain JSON (a `SliceResult` as a dict): a retried attempt
    keeps what its predecessor was last heard to have done. No details, or details that
    do not fit the slice: every item is pending.
    """
    try:
        last = details[-1]
        letters = list(str(last["outcomes"]))
        failures = {
            int(failure["index"]) - first_index: ItemFailure(
                int(failure["index"]), str(failure["reason"]), str(failure["message"])
            )
            for failure in last["failures"]
        }
    except (LookupError, TypeError, ValueError, AttributeError):
        return [PENDING] * size, {}
    if len(letters) != size:
        return [PENDING] * size, {}
    return letters, failures


def _since_first_attempt(info: activity.Info) -> Callable[[], float] | None:
    """Seconds from the slice's first attempt to now, as each call starts (None on the first).

    An earlier attempt (on a worker that died) may have paid an item: a payment found is
    this batch's when Lean stamped it after the first attempt was scheduled. Temporal's
    clock gives the gap up to this attempt's start, the monotonic clock the rest.
    """
    if info.attempt <= 1:
        return None
    before = max(0.0, (info.started_time - info.scheduled_time).total_seconds())
    began = time.monotonic()
    return lambda: before + time.monotonic() - began


def _earlier_attempts() -> float:
    """Seconds from this item's first attempt to this one, on Temporal's clock.

    An earlier attempt (on a worker that died) may have paid the item: a payment found
    is this batch's when Lean stamped it after the first attempt was scheduled.
    """
    info = activity.info()
    if info.attempt <= 1:
        return 0.0
    return max(0.0, (info.current_attempt_scheduled_time - info.scheduled_time).total_seconds())
