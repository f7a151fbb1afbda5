"""The activities' pieces without a server: item checks, keys, failure classification."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("temporalio")

from lean_async._payroll import GIGS, SPECIAL_PAYMENTS, Row, read_rows
from lean_async.errors import (
    APIConnectionError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from lean_async.resources._batch import batch_key
from lean_async.temporal import classify, row_of, slice_plan, start_batch
from tests.temporal.test_batches import gig_items, special_items


def _status_error(cls: type, status: int) -> object:
    request = httpx.Request("POST", "https://example.test/api/gig")
    response = httpx.Response(status, request=request)
    return cls("failed", response=response, method="POST", url=str(request.url))


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ValidationError([("amount", "bad")]), False),
        (APIConnectionError("reset", method="POST", url="https://example.test/api/gig"), True),
    ],
)
def test_bad_items_are_final_and_connection_errors_retry(error: object, retryable: bool) -> None:
    """A bad item is non-retryable and named by its type; a connection error retries."""
    failure = classify(error)  # type: ignore[arg-type]
    assert failure.non_retryable is not retryable
    assert failure.type == type(error).__name__


@pytest.mark.parametrize(
    ("cls", "status", "retryable"),
    [
        (ConflictError, 409, False),
        (NotFoundError, 404, False),
        (RateLimitError, 429, True),
        (InternalServerError, 500, True),
    ],
)
def test_4xx_is_final_except_429_and_5xx_retries(cls: type, status: int, retryable: bool) -> None:
    """4xx answers other than 408/429 cannot succeed by repeating; 429 and 5xx can."""
    error = _status_error(cls, status)
    assert classify(error).non_retryable is not retryable  # type: ignore[arg-type]


def test_an_item_is_read_as_the_csv_import_reads_its_row(tmp_path: Path) -> None:
    """Same body and ordinal as the file's row, hence the same derived key in both paths."""
    items = special_items("k", 3)
    path = tmp_path / "sp.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(items[0]))
        writer.writeheader()
        writer.writerows(items)
    for index, entry in enumerate(read_rows(path, SPECIAL_PAYMENTS)):
        assert isinstance(entry, Row)
        row = row_of(SPECIAL_PAYMENTS, index, items[index])
        assert (row.ordinal, row.body) == (entry.ordinal, entry.body)
        assert batch_key("b", row.ordinal, row.body) == batch_key("b", entry.ordinal, entry.body)


def test_row_of_refuses_unknown_columns_and_naive_times() -> None:
    """An unknown column or a time without Z/offset is a ValidationError, as in a CSV file."""
    cells = gig_items("r", 1)[0]
    with pytest.raises(ValidationError, match="colour"):
        row_of(GIGS, 0, {**cells, "colour": "red"})
    with pytest.raises(ValidationError, match="startTime"):
        row_of(GIGS, 0, {**cells, "startTime": "2026-11-24T08:00:00"})
    assert row_of(GIGS, 0, cells).arguments["gig_id"] == "r-00000"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"batch_id": ""}, "batch_id"),
        ({"kind": "invoices"}, "kind"),
        ({"concurrency": 0}, "concurrency"),
        ({"chunk_size": True}, "chunk_size"),
    ],
)
async def test_start_batch_refuses_bad_arguments_before_any_call(
    arguments: dict[str, object], field: str
) -> None:
    """A bad argument is a ValidationError naming it; the server is never asked."""
    given: dict[str, Any] = {"batch_id": "b", "kind": "gigs", "items": [], **arguments}
    with pytest.raises(ValidationError) as caught:
        await start_batch(None, **given)  # type: ignore[arg-type]
    assert [name for name, _ in caught.value.errors] == [field]


@pytest.mark.parametrize("concurrency", [1, 2, 3, 4, 7, 8, 16, 64, 65, 100, 1000])
def test_slice_plan_fills_the_concurrency_without_exceeding_it(concurrency: int) -> None:
    """Slices x calls <= concurrency; at least 4 slices when it allows; at most 8 calls."""
    slots, calls = slice_plan(concurrency)
    assert slots * calls <= concurrency
    assert 1 <= calls <= 8
    assert slots >= min(4, concurrency)
    assert slots * calls > concurrency - calls  # no whole slice's worth left unused


@pytest.fixture
async def lean_in_sandbox() -> Any:
    """A client (no retries) of an in-process sandbox with ACTIVE uid_1..uid_3."""
    from lean_async import LeanClient
    from lean_async.sandbox import Sandbox
    from tests.e2e.conftest import new_customer

    async with (
        Sandbox(api_key="sk_test_slices") as box,
        LeanClient(
            api_key="sk_test_slices",
            base_url=box.base_url,
            transport=box.transport(),
            max_retries=0,
        ) as lean,
    ):
        for n in (1, 2, 3):
            await new_customer(lean, n)
            box.activate_customer(f"uid_{n}")
        yield box, lean


def _environment(attempt: int, details: list[Any], beats: list[Any]) -> Any:
    import dataclasses
    import datetime as dt

    from temporalio.testing import ActivityEnvironment

    environment = ActivityEnvironment()
    first = environment.info.scheduled_time
    environment.info = dataclasses.replace(
        environment.info,
        attempt=attempt,
        heartbeat_details=details,
        started_time=first + dt.timedelta(seconds=5 * (attempt - 1)),
    )
    environment.on_heartbeat = lambda *d: beats.append(d)
    return environment


async def test_a_retried_slice_sends_only_what_its_last_heartbeat_had_not_done(
    lean_in_sandbox: Any,
) -> None:
    """Details of 6 done (one failed) resume the slice: 4 POSTs, the 6 letters kept.

    Gig 7 was paid by the dead attempt after its last heartbeat: found again, it counts
    as created by this batch (its first attempt began before Lean stamped it).
    """
    from lean_async.temporal import PayrollActivities, SliceInput

    box, lean = lean_in_sandbox
    items = gig_items("resume", 10)
    await lean.gigs.create(**row_of(GIGS, 7, items[7]).arguments)
    posts = box.faults.requests.get("POST /gig", 0)
    failure = {"index": 12, "reason": "ValidationError", "message": "tips: bad"}
    details = [{"outcomes": "cccacf----", "failures": [failure]}]
    beats: list[Any] = []
    result = await _environment(2, details, beats).run(
        PayrollActivities(lean).pay_slice, SliceInput("b", "gigs", 7, items, 2, 5)
    )
    assert box.faults.requests["POST /gig"] - posts == 4
    assert result.outcomes == "cccacfcccc"
    assert [(f.index, f.reason) for f in result.failures] == [(12, "ValidationError")]
    assert beats
    assert beats[-1][0].outcomes == "cccacfcccc"


async def test_retryable_failures_fail_the_attempt_until_the_last_one_reports_them(
    lean_in_sandbox: Any,
) -> None:
    """A 503 on one item: the attempt raises (retryable) after paying the rest, its last
    heartbeat saying so; on the last attempt the item is reported as failed instead."""
    from temporalio.exceptions import ApplicationError

    from lean_async.sandbox import ServerError
    from lean_async.temporal import PayrollActivities, SliceInput

    box, lean = lean_in_sandbox
    activities = PayrollActivities(lean)
    items = gig_items("retry", 5)
    box.faults.add(ServerError(status=503), route="POST /gig", times=1)
    beats: list[Any] = []
    with pytest.raises(ApplicationError) as raised:
        await _environment(1, [], beats).run(
            activities.pay_slice, SliceInput("b", "gigs", 0, items, 1, 3)
        )
    assert not raised.value.non_retryable
    assert beats[-1][0].outcomes == "-cccc"
    box.faults.add(ServerError(status=503), route="POST /gig", times=1)
    last = await _environment(3, [{"outcomes": "-cccc", "failures": []}], []).run(
        activities.pay_slice, SliceInput("b", "gigs", 0, items, 1, 3)
    )
    assert last.outcomes == "fcccc"
    assert last.failures[0].index == 0
    assert last.failures[0].reason == raised.value.type
