"""The two passes of an import: check every row, then pay them through ``create_many``.

Pass 1 (`check_file`) reads the whole file and reports every bad row; nothing is sent.
Pass 2 (`pay_file`) reads it again, lazily, and pays each row with
``lean.gigs.create_many`` or ``lean.special_payments.create_many``.

Re-running a file pays only what was not paid:

* a gig's ``gigId`` is its key: sent again, the API's "already exists" is reconciled
  into the gig already made (`lean_async.resources._base`);
* a special payment without an ``idempotencyKey`` cell gets
  ``batch_key(<SHA-256 of the file's bytes>, <data row index>, <row's wire body>)`` as
  its ``Idempotency-Key``: the same file gives the same keys. Editing the file makes
  it a new batch with new keys, so a file must be re-run unchanged (Lean keeps a key
  24 hours).

"Created" or "already there" is what each call reported (`BatchResult.created`, see
`lean_async.resources._outcome`): told from the call itself and, where it cannot be, from
``createdAt`` against Lean's own clock (its ``Date`` header), never this machine's. A row
whose answer could not tell (no ``Date``) is counted as ``unsure``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from lean_async._payroll._failures import FailuresWriter
from lean_async._payroll._rows import GIGS, BadRow, PayrollKind, Row, read_rows
from lean_async.resources._batch import batch_key

if TYPE_CHECKING:
    from lean_async._client import LeanClient

__all__ = ["CANCELLED", "Check", "Progress", "Summary", "check_file", "pay_file"]

CANCELLED = "Cancelled"
"""The failure reason of a row whose call was cancelled in flight (a second Ctrl-C)."""


@attrs.define
class Check:
    """What pass 1 found: rows to pay, bad rows, and what paying would move."""

    rows: int = 0
    bad_rows: int = 0
    amount: Decimal = Decimal(0)  # the sum of totalAmount (gigs) or amount (special payments)
    workers: set[str] = attrs.field(factory=set)


def check_file(path: Path, kind: PayrollKind, on_bad_row: Callable[[BadRow], None]) -> Check:
    """Check every row of *path*; call *on_bad_row* for each bad one, as it is found.

    Raises:
        HeaderError: the header does not fit *kind* (nothing else is read).
        OSError, UnicodeDecodeError: the file cannot be read as UTF-8 text.
    """
    check = Check()
    money = "totalAmount" if kind is GIGS else "amount"
    for entry in read_rows(path, kind):
        if isinstance(entry, BadRow):
            check.bad_rows += 1
            on_bad_row(entry)
            continue
        check.rows += 1
        check.amount += Decimal(entry.body[money])
        check.workers.add(entry.body["partnerUserId"])
    return check


@attrs.define
class Summary:
    """What pass 2 did, kept up to date as results come in."""

    total: int
    created: int = 0
    already_there: int = 0
    unsure: int = 0  # paid, but Lean's answer did not say whether by this run (no Date)
    failed: Counter[str] = attrs.field(factory=Counter)
    attempted: int = 0
    stopped: bool = False  # Ctrl-C: no row was started after it
    finished_before: bool = False  # attached to a batch that had finished: paid nothing
    started: float = attrs.field(factory=time.monotonic)
    finished: float | None = None

    @property
    def paid(self) -> int:
        """Rows now paid: created by this run, found already there, or unsure which."""
        return self.created + self.already_there + self.unsure

    @property
    def failed_count(self) -> int:
        """Rows whose call failed (or was cancelled in flight)."""
        return sum(self.failed.values())

    @property
    def done(self) -> int:
        """Rows with a result, good or bad."""
        return self.paid + self.failed_count

    @property
    def not_attempted(self) -> int:
        """Rows never sent because the run was stopped."""
        return self.total - self.attempted

    @property
    def seconds(self) -> float:
        """Seconds since pass 2 started (until it finished)."""
        end = self.finished if self.finished is not None else time.monotonic()
        return end - self.started

    @property
    def rate(self) -> float:
        """Rows finished per second so far (0 for a batch that had finished before)."""
        if self.finished_before:
            return 0.0
        return self.done / self.seconds if self.seconds > 0 else 0.0


class Progress(Protocol):
    """Shown while rows are paid; `pay_file` calls `update` after each result."""

    def update(self, summary: Summary) -> None:
        """Show *summary* (called often: throttle if drawing is costly)."""


async def pay_file(
    lean: LeanClient,
    path: Path,
    kind: PayrollKind,
    summary: Summary,
    *,
    batch_id: str,
    concurrency: int,
    failures: FailuresWriter,
    stop: asyncio.Event,
    progress: Progress | None = None,
) -> None:
    """Pay every row of *path* (checked by `check_file` first), updating *summary*.

    Once *stop* is set no further row is started; the calls in flight finish and are
    counted. Cancelling the task cancels those calls too: their rows go to *failures*
    as `CANCELLED` (they may or may not have been paid; a re-run settles it safely)
    and the `CancelledError` propagates.

    Args:
        lean: the client to pay through.
        path: the CSV file.
        kind: `GIGS` or `SPECIAL_PAYMENTS`.
        summary: filled in as results come (its ``total`` from pass 1).
        batch_id: the batch id of derived special payment keys (the file's digest).
        concurrency: calls in flight at once.
        failures: where failed rows are written.
        stop: set to stop starting rows (the first Ctrl-C).
        progress: told after each result.
    """
    in_flight: dict[int, Row] = {}
    resource: Any = lean.gigs if kind is GIGS else lean.special_payments

    def items(rows: Iterator[Row | BadRow]) -> Iterator[dict[str, Any]]:
        sent = 0
        for entry in rows:
            if stop.is_set():
                summary.stopped = True
                return
            if isinstance(entry, BadRow):  # the file changed since pass 1
                message = "; ".join(f"{column}: {text}" for column, text in entry.problems)
                summary.failed["ValidationError"] += 1
                summary.attempted += 1
                failures.write({}, line=entry.line, reason="ValidationError", message=message)
                continue
            arguments = entry.arguments
            if kind is not GIGS and not arguments.get("idempotency_key"):
                key = batch_key(batch_id, entry.ordinal, entry.body)
                arguments = {**arguments, "idempotency_key": key}
                entry.cells["idempotencyKey"] = key
            # create_many numbers the items it is given from 0: that is the key here.
            in_flight[sent] = entry
            sent += 1
            summary.attempted += 1
            yield arguments

    with contextlib.closing(read_rows(path, kind)) as rows:
        try:
            async with contextlib.aclosing(
                resource.create_many(items(rows), concurrency=concurrency)
            ) as results:
                async for result in results:
                    entry = in_flight.pop(result.index)
                    if result.error is None:
                        if result.created is None:
                            summary.unsure += 1
                        elif result.created:
                            summary.created += 1
                        else:
                            summary.already_there += 1
                    else:
                        reason = type(result.error).__name__
                        summary.failed[reason] += 1
                        failures.write(
                            entry.cells, line=entry.line, reason=reason, message=str(result.error)
                        )
                    if progress is not None:
                        progress.update(summary)
        except asyncio.CancelledError:
            for entry in in_flight.values():
                summary.failed[CANCELLED] += 1
                failures.write(
                    entry.cells,
                    line=entry.line,
                    reason=CANCELLED,
                    message="cancelled in flight: may or may not have been paid; "
                    "importing the same file again settles it without paying twice",
                )
            in_flight.clear()
            raise
        finally:
            summary.finished = time.monotonic()
