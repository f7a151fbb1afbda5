"""The CSV import's created / already-there counts against a Lean whose clock is wrong.

The truth is known by construction: some rows are paid by another client first (another
process), the rest only by the import, some of them with their answers lost on the way
back. The counts must match it with Lean's clock an hour ahead, an hour behind, or right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from lean_async import LeanClient
from lean_async._payroll import SPECIAL_PAYMENTS
from lean_async.sandbox import DropAfterCommit, Sandbox, SkewedClock
from lean_async.testing import set_testing
from tests.e2e.conftest import new_customer
from tests.test_cli_import import gig_cells, pay, write_csv

KEY = "sk_import_clock"
ROWS = 30
PAID_BEFORE = range(0, ROWS, 3)  # rows another process paid first: 10 of 30
LOST_ANSWERS = 4  # answers dropped after the payment was made, then retried


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture(
    params=[dt.timedelta(hours=-1), dt.timedelta(hours=1), dt.timedelta(0)],
    ids=["lean-1h", "lean+1h", "lean-on-time"],
)
def clock(request: pytest.FixtureRequest) -> SkewedClock:
    """Lean's clock: this machine's set off by an hour either way (or not at all)."""
    return SkewedClock(request.param)


@pytest.fixture
async def sandbox(clock: SkewedClock) -> AsyncIterator[Sandbox]:
    """A sandbox on *clock*."""
    async with Sandbox(api_key=KEY, clock=clock) as sandbox:
        yield sandbox


def client(sandbox: Sandbox) -> LeanClient:
    """A new client of *sandbox*: what another process would be."""
    return LeanClient(api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport())


@pytest.fixture
async def lean(sandbox: Sandbox) -> AsyncIterator[LeanClient]:
    """The importing client, with ACTIVE uid_1."""
    async with client(sandbox) as lean:
        await new_customer(lean)
        sandbox.activate_customer("uid_1")
        yield lean


def payment_rows() -> list[dict[str, str]]:
    return [
        {
            "partnerUserId": "uid_1",
            "amount": f"{n + 1}.00",
            "type": "bonus",
            "idempotencyKey": f"payroll-2026-11-{n}",
        }
        for n in range(ROWS)
    ]


async def test_gig_counts_match_the_truth_whatever_leans_clock_says(
    sandbox: Sandbox, clock: SkewedClock, lean: LeanClient, tmp_path: Path
) -> None:
    """Rows paid before are "already there", the others "created", lost answers included.

    The first lost answer falls on a row paid before: after it, only Lean's clock can
    tell whose payment that gig is, so the earlier payments are made two seconds before
    the import on Lean's clock (moved, not slept), past the documented one-second edge.
    """
    rows = [gig_cells(n) for n in range(ROWS)]
    async with client(sandbox) as other:
        for n in PAID_BEFORE:
            await other.gigs.create(**_gig_arguments(rows[n]))
    clock.shift(2)
    sandbox.faults.add(DropAfterCommit(), route="POST /gig", times=LOST_ANSWERS)

    summary = await pay(lean, write_csv(tmp_path / "g.csv", rows), concurrency=4)

    assert (summary.created, summary.already_there, summary.unsure, summary.failed_count) == (
        ROWS - len(PAID_BEFORE),
        len(PAID_BEFORE),
        0,
        0,
    )
    assert len(sandbox.gigs) == ROWS
    again = await pay(lean, write_csv(tmp_path / "g.csv", rows), concurrency=4)
    assert (again.created, again.already_there) == (0, ROWS)


async def test_special_payment_counts_match_the_truth_whatever_leans_clock_says(
    sandbox: Sandbox, clock: SkewedClock, lean: LeanClient, tmp_path: Path
) -> None:
    """Keys paid by another process earlier are "already there"; lost answers are "created".

    The earlier payments are made two seconds before the import on Lean's clock (the
    clock is moved, not slept): past the documented one-second edge.
    """
    rows = payment_rows()
    async with client(sandbox) as other:
        for n in PAID_BEFORE:
            row = rows[n]
            await other.special_payments.create(
                partner_user_id=row["partnerUserId"],
                amount=row["amount"],
                type=row["type"],
                idempotency_key=row["idempotencyKey"],
            )
    clock.shift(2)
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", times=LOST_ANSWERS)
    path = write_csv(tmp_path / "p.csv", rows)

    summary = await pay(lean, path, SPECIAL_PAYMENTS, concurrency=4)

    assert (summary.created, summary.already_there, summary.unsure, summary.failed_count) == (
        ROWS - len(PAID_BEFORE),
        len(PAID_BEFORE),
        0,
        0,
    )
    assert len(sandbox.special_payments) == ROWS
    again = await pay(lean, path, SPECIAL_PAYMENTS, concurrency=4)  # at once: no clock moved
    assert (again.created, again.already_there) == (0, ROWS)


def _gig_arguments(cells: dict[str, str]) -> dict[str, Any]:
    return {
        "partner_user_id": cells["partnerUserId"],
        "gig_id": cells["gigId"],
        "total_amount": cells["totalAmount"],
        "tips": cells["tips"],
        "expenses": cells["expenses"],
        "description": cells["description"],
        "start_time": dt.datetime.fromisoformat(cells["startTime"]),
        "end_time": dt.datetime.fromisoformat(cells["endTime"]),
    }
