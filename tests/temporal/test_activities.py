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
from lean_async.temporal import classify, row_of, start_batch
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
