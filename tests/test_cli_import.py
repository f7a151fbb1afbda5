"""`lean-async gigs import` / `special-payments import`: rows, failures CSV, re-runs, Ctrl-C."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from lean_async import LeanClient
from lean_async._config import Backend
from lean_async._payroll import (
    ANNOTATION_COLUMNS,
    CANCELLED,
    GIGS,
    SPECIAL_PAYMENTS,
    BadRow,
    FailuresWriter,
    HeaderError,
    PayrollKind,
    Row,
    Summary,
    check_file,
    pay_file,
    read_rows,
    write_sample_gigs,
)
from lean_async.cli import main
from lean_async.cli._import_command import build_client, print_summary, run_import
from lean_async.cli._progress import ImportProgress, progress_line
from lean_async.sandbox import DropAfterCommit, Latency, Sandbox, SkewedClock
from lean_async.testing import set_testing
from tests.chaos.sandbox_process import SandboxProcess, sandbox_process
from tests.e2e.conftest import new_customer

KEY = "sk_import_test"
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


# --- helpers ------------------------------------------------------------------------------


def gig_cells(n: int, worker: str = "uid_1", **overrides: str) -> dict[str, str]:
    """The cells of a valid gig row ``gig_<n>`` for *worker*."""
    cells = {
        "partnerUserId": worker,
        "gigId": f"gig_{n}",
        "totalAmount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": "airport run",
        "startTime": "2026-11-24T09:00:00Z",
        "endTime": "2026-11-24T09:40:00Z",
    }
    return cells | overrides


def write_csv(path: Path, rows: Sequence[dict[str, str]], header: Sequence[str] = ()) -> Path:
    """Write *rows* under *header* (default: the first row's keys) and return *path*."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(header or rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def entries(path: Path, kind: PayrollKind = GIGS) -> list[Row | BadRow]:
    """Every entry `read_rows` yields for *path*."""
    return list(read_rows(path, kind))


def read_failures(path: Path) -> list[dict[str, str]]:
    """The rows of a failures CSV."""
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox on this machine's clock, which a test may move on (`SkewedClock.shift`)."""
    async with Sandbox(api_key=KEY, clock=SkewedClock(dt.timedelta(0))) as sandbox:
        yield sandbox


@pytest.fixture
async def lean(sandbox: Sandbox) -> AsyncIterator[LeanClient]:
    """A client of *sandbox*, in-process, with retry waits off, and ACTIVE uid_1 and uid_2."""
    set_testing(True)
    try:
        async with LeanClient(
            api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport()
        ) as client:
            for n in (1, 2):
                await new_customer(client, n)
                sandbox.activate_customer(f"uid_{n}")
            yield client
    finally:
        set_testing(False)


async def pay(
    lean: LeanClient,
    path: Path,
    kind: PayrollKind = GIGS,
    *,
    failures: Path | None = None,
    concurrency: int = 8,
) -> Summary:
    """Check *path*, then pay it as the command does; return the summary."""
    check = check_file(path, kind, lambda row: pytest.fail(f"bad row {row}"))
    writer = FailuresWriter(failures or path.with_suffix(".failures.csv"), kind)
    try:
        return await run_import(
            Console(file=io.StringIO()),
            lean,
            path,
            kind,
            total=check.rows,
            concurrency=concurrency,
            failures=writer,
            handle_sigint=False,
        )
    finally:
        writer.close()


# --- pass 1: rows ---------------------------------------------------------------------------


def test_a_naive_time_is_a_bad_row_with_its_line(tmp_path: Path) -> None:
    """A time without Z or an offset is refused, never read in a guessed zone."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1), gig_cells(2, startTime="2026-11-24T09:00")])
    first, second = entries(path)
    assert isinstance(first, Row)
    assert first.body["startTime"] == "2026-11-24T09:00:00.000Z"
    assert isinstance(second, BadRow)
    assert second.line == 3
    assert second.problems[0][0] == "startTime"
    assert "no Z or UTC offset" in second.problems[0][1]


def test_every_problem_of_every_row_is_reported_with_its_line(tmp_path: Path) -> None:
    """Each bad row lists all its problems by column, in column order; blank lines still count."""
    path = tmp_path / "g.csv"
    write_csv(
        path,
        [
            gig_cells(1),
            gig_cells(2, totalAmount="15.001", startTime="soon"),
            gig_cells(1, description=""),
            gig_cells(4, partnerUserId="", tips="-1", endTime="2026-11-24T08:00:00+00:00"),
        ],
    )
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")  # a blank line 3
    found = entries(path)
    assert [type(e).__name__ for e in found] == ["Row", "BadRow", "BadRow", "BadRow"]
    bad = [e for e in found if isinstance(e, BadRow)]
    assert [b.line for b in bad] == [4, 5, 6]
    assert [c for c, _ in bad[0].problems] == ["totalAmount", "startTime"]
    assert [c for c, _ in bad[1].problems] == ["gigId", "description"]
    assert "repeats line 2" in bad[1].problems[0][1]
    assert [c for c, _ in bad[2].problems] == ["partnerUserId", "tips", "endTime"]


def test_a_row_with_more_cells_than_the_header_is_bad(tmp_path: Path) -> None:
    """Extra cells mean the columns are shifted: the row is refused, not guessed."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    with path.open("a", encoding="utf-8") as file:
        file.write("uid_1,gig_2,15.00,3.00,2.00,run,2026-11-24T09:00:00Z,2026-11-24T09:40:00Z,x\n")
    [_, bad] = entries(path)
    assert isinstance(bad, BadRow)
    assert bad.problems == (("row", "has 9 cells; the header has 8"),)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([*GIGS.headers, "tip"], "unknown column 'tip'"),
        ([h for h in GIGS.headers if h != "tips"], "missing column 'tips'"),
        ([*GIGS.headers, "tips"], "column 'tips' appears twice"),
    ],
)
def test_a_header_that_does_not_fit_is_refused(
    tmp_path: Path, header: list[str], message: str
) -> None:
    """Unknown, missing and repeated columns stop the import at line 1."""
    path = tmp_path / "g.csv"
    path.write_text(",".join(header) + "\n", encoding="utf-8")
    with pytest.raises(HeaderError, match=message):
        entries(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    """A file without even a header is an error naming the columns expected."""
    path = tmp_path / "g.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(HeaderError, match="partnerUserId,gigId"):
        entries(path)


def test_a_row_csv_cannot_read_is_a_bad_row_and_the_next_rows_are_read(tmp_path: Path) -> None:
    """A cell over the csv module's field limit is one bad row with its line, not a crash."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1), gig_cells(2), gig_cells(3)])
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("gig_2", "g" * 200_000)
    path.write_text("\n".join(lines) + "\n")
    found = entries(path)
    assert isinstance(found[0], Row)
    assert isinstance(found[1], BadRow)
    assert found[1].line == 3
    [(column, message)] = found[1].problems
    assert column == "row"
    assert message.startswith("is not valid CSV: field larger than field limit")
    assert [entry.cells["gigId"] for entry in found if isinstance(entry, Row)][-1] == "gig_3"


def test_bom_spaces_and_failure_columns_are_accepted(tmp_path: Path) -> None:
    """Excel's BOM, padded cells and a failures CSV's own columns read as a plain file."""
    path = tmp_path / "g.csv"
    rows = [gig_cells(1, totalAmount=" 15.00 ") | dict.fromkeys(ANNOTATION_COLUMNS, "x")]
    write_csv(path, rows)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    [row] = entries(path)
    assert isinstance(row, Row)
    assert row.arguments["total_amount"] == "15.00"


def test_special_payment_rows_leave_empty_optional_cells_out(tmp_path: Path) -> None:
    """Empty gigId/description/idempotencyKey are not sent; a repeated key is a bad row."""
    base = {"partnerUserId": "uid_1", "amount": "-4.56", "type": "Reimbursement"}
    optional = {"gigId": "", "description": "", "idempotencyKey": ""}
    path = write_csv(
        tmp_path / "p.csv",
        [
            base | optional,
            base | optional | {"idempotencyKey": "k1", "type": "wait time"},
            base | optional | {"idempotencyKey": "k1", "amount": "0"},
            base | optional | {"type": "tip"},
        ],
    )
    first, second, third, fourth = entries(path, SPECIAL_PAYMENTS)
    assert isinstance(first, Row)
    assert first.arguments == {
        "partner_user_id": "uid_1",
        "amount": "-4.56",
        "type": "Reimbursement",
    }
    assert first.body["type"] == "reimbursement"
    assert isinstance(second, Row)
    assert isinstance(third, BadRow)
    assert [c for c, _ in third.problems] == ["amount", "idempotencyKey"]
    assert isinstance(fourth, BadRow)
    assert fourth.problems[0][0] == "type"


# Naive bounds, as hypothesis wants; a day from the ends so any offset fits UTC.
_LOW = dt.datetime(1970, 1, 2)  # noqa: DTZ001
_HIGH = dt.datetime(9998, 12, 30)  # noqa: DTZ001
_aware = st.datetimes(min_value=_LOW, max_value=_HIGH).flatmap(
    lambda d: st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda m: d.replace(tzinfo=dt.timezone(dt.timedelta(minutes=m)))
    )
)


@settings(max_examples=40, deadline=None)
@given(start=_aware, naive=st.datetimes(min_value=_LOW))
def test_times_with_any_offset_are_the_same_instant_and_naive_ones_are_refused(
    start: dt.datetime, naive: dt.datetime
) -> None:
    """Any offset is converted to the same UTC instant; any time without one is a bad row."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(
            Path(folder) / "g.csv",
            [
                gig_cells(1, startTime=start.isoformat(), endTime=start.isoformat()),
                gig_cells(2, startTime=naive.isoformat(), endTime=naive.isoformat()),
            ],
        )
        good, bad = entries(path)
    assert isinstance(good, Row)
    sent = dt.datetime.fromisoformat(good.body["startTime"])
    assert sent == start.replace(microsecond=start.microsecond // 1000 * 1000)
    assert isinstance(bad, BadRow)
    assert {c for c, _ in bad.problems} == {"startTime", "endTime"}


# --- pass 2: paying -------------------------------------------------------------------------


async def test_a_file_is_paid_once_and_a_rerun_finds_everything_already_there(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every row is paid; importing the file again creates nothing and says so."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(n, f"uid_{n % 2 + 1}") for n in range(50)])
    first = await pay(lean, path)
    assert (first.created, first.already_there, first.failed_count) == (50, 0, 0)
    again = await pay(lean, path)
    assert (again.created, again.already_there, again.failed_count) == (0, 50, 0)
    assert sorted(sandbox.gigs) == sorted(f"gig_{n}" for n in range(50))
    assert not path.with_suffix(".failures.csv").exists()


async def test_a_row_spoilt_after_the_check_fails_alone_and_the_rest_is_paid(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """The file changed between the check and paying: the now-bad row is a failed row."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(n) for n in range(3)])
    total = check_file(path, GIGS, lambda row: pytest.fail(f"bad row {row}")).rows
    write_csv(path, [gig_cells(0), gig_cells(1, endTime="2026-11-24 10:00"), gig_cells(2)])
    writer = FailuresWriter(tmp_path / "f.csv", GIGS)
    try:
        summary = await run_import(
            Console(file=io.StringIO()),
            lean,
            path,
            GIGS,
            total=total,
            concurrency=2,
            failures=writer,
            handle_sigint=False,
        )
    finally:
        writer.close()
    assert (summary.created, summary.failed) == (2, Counter(ValidationError=1))
    assert sorted(sandbox.gigs) == ["gig_0", "gig_2"]
    [failed] = read_failures(tmp_path / "f.csv")
    assert (failed["failedLine"], failed["failedReason"]) == ("3", "ValidationError")
    assert "endTime: has no Z or UTC offset" in failed["failedMessage"]


async def test_failed_rows_go_to_a_failures_csv_that_can_be_imported(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Rows the API refuses are written with line and reason; fixed, that file pays them."""
    await new_customer(lean, 3)  # not ACTIVE: its gigs are refused
    rows = [gig_cells(n, "uid_3" if n % 5 == 0 else "uid_1") for n in range(20)]
    path = write_csv(tmp_path / "g.csv", rows)
    failures = tmp_path / "failed.csv"
    summary = await pay(lean, path, failures=failures)
    assert (summary.created, summary.failed) == (16, Counter(BadRequestError=4))
    failed = read_failures(failures)
    assert sorted(int(r["failedLine"]) for r in failed) == [2, 7, 12, 17]
    assert {r["failedReason"] for r in failed} == {"BadRequestError"}
    assert all("active customers" in r["failedMessage"] for r in failed)
    assert {r["gigId"] for r in failed} == {"gig_0", "gig_5", "gig_10", "gig_15"}

    sandbox.activate_customer("uid_3")
    retry = await pay(lean, failures, failures=tmp_path / "again.csv")
    assert (retry.created, retry.failed_count) == (4, 0)
    assert len(sandbox.gigs) == 20


async def test_special_payments_get_keys_from_the_file_so_a_rerun_pays_nothing(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Rows without a key get one derived from the file: the same file again pays nothing."""
    rows = [
        {"partnerUserId": "uid_1", "amount": "5.00", "type": "bonus", "idempotencyKey": ""}
        for _ in range(10)
    ]
    path = write_csv(tmp_path / "p.csv", rows)
    first = await pay(lean, path, SPECIAL_PAYMENTS)
    assert (first.created, first.failed_count) == (10, 0)  # ten equal bonuses: ten payments
    again = await pay(lean, path, SPECIAL_PAYMENTS)
    assert (again.created, again.already_there) == (0, 10)
    assert len(sandbox.special_payments) == 10


async def test_a_failures_csv_keeps_the_key_so_a_payment_whose_answer_was_lost_is_not_repaid(
    sandbox: Sandbox, lean: LeanClient, tmp_path: Path
) -> None:
    """A payment made but unanswered is a failure carrying its key; importing it finds it."""
    rows = [
        {"partnerUserId": "uid_1", "amount": f"{n + 1}.00", "type": "bonus", "idempotencyKey": ""}
        for n in range(5)
    ]
    path = write_csv(tmp_path / "p.csv", rows)
    failures = tmp_path / "p.failures.csv"
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", skip=2)
    summary = await pay(lean.with_options(max_retries=0), path, SPECIAL_PAYMENTS, concurrency=1)
    assert (summary.created, summary.failed) == (4, Counter(APIConnectionError=1))
    [failed] = read_failures(failures)
    assert failed["idempotencyKey"].startswith("lean-batch-")
    assert len(sandbox.special_payments) == 5  # the dropped answer's payment was made

    # Lean's clock alone tells whose payment that is (this client never saw it answered):
    # a re-import within a second of it would fall in the documented one-second edge.
    assert isinstance(sandbox.clock, SkewedClock)
    sandbox.clock.shift(2)
    retry = await pay(lean, failures, SPECIAL_PAYMENTS, failures=tmp_path / "again.csv")
    assert (retry.created, retry.already_there) == (0, 1)
    assert len(sandbox.special_payments) == 5


async def test_stopping_starts_no_more_rows_and_a_rerun_pays_exactly_the_rest(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """After the stop (first Ctrl-C) in-flight calls finish; the re-run pays only the rest."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(n) for n in range(60)])
    stop = asyncio.Event()

    class StopAfter:
        def update(self, summary: Summary) -> None:
            if summary.done >= 10:
                stop.set()

    summary = Summary(total=60)
    writer = FailuresWriter(tmp_path / "f.csv", GIGS)
    await pay_file(
        lean,
        path,
        GIGS,
        summary,
        batch_id="b",
        concurrency=4,
        failures=writer,
        stop=stop,
        progress=StopAfter(),
    )
    writer.close()
    assert summary.stopped
    assert 10 <= summary.attempted <= 14
    assert summary.done == summary.attempted == len(sandbox.gigs)
    assert summary.not_attempted == 60 - summary.attempted
    rerun = await pay(lean, path)
    assert (rerun.created, rerun.already_there) == (60 - summary.attempted, summary.attempted)
    assert sorted(sandbox.gigs) == sorted(f"gig_{n}" for n in range(60))


async def test_cancelling_writes_the_calls_in_flight_as_cancelled(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A second Ctrl-C cancels the calls in flight; their rows are failures, then paid once."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(n) for n in range(40)])
    sandbox.faults.add(Latency(0.2), route="POST /gig", times=None, skip=8)
    summary = Summary(total=40)
    writer = FailuresWriter(tmp_path / "f.csv", GIGS)
    eight_done = asyncio.Event()

    class Watch:
        def update(self, summary: Summary) -> None:
            if summary.done >= 8:
                eight_done.set()

    task = asyncio.create_task(
        pay_file(
            lean,
            path,
            GIGS,
            summary,
            batch_id="b",
            concurrency=4,
            failures=writer,
            stop=asyncio.Event(),
            progress=Watch(),
        )
    )
    async with asyncio.timeout(5):
        await eight_done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()
    assert summary.failed == Counter({CANCELLED: 4})
    assert [r["failedReason"] for r in read_failures(tmp_path / "f.csv")] == [CANCELLED] * 4
    sandbox.faults.clear()
    await pay(lean, path)
    assert sorted(sandbox.gigs) == sorted(f"gig_{n}" for n in range(40))


# --- the command line -----------------------------------------------------------------------


def test_the_command_reports_bad_rows_and_exits_2(tmp_path: Path) -> None:
    """Bad rows are printed as `line N: column: message`, then the count; exit status 2."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1), gig_cells(2, endTime="2026-11-24 10:00")])
    result = CliRunner().invoke(
        main, ["gigs", "import", str(path), "--api-key", KEY], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert "line 3: endTime: has no Z or UTC offset" in result.output
    assert "1 bad row in" in result.output
    assert "nothing was sent" in result.output
    assert "Paying in" not in result.output


def test_a_dry_run_says_what_would_be_paid_and_where(tmp_path: Path) -> None:
    """--dry-run needs no key, names the target, the rows, the sum and the workers."""
    rows = [gig_cells(n, f"uid_{n % 3}") for n in range(6)]
    path = write_csv(tmp_path / "g.csv", rows)
    result = CliRunner().invoke(main, ["gigs", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would pay in: sandbox (https://app.staging.withlean.com/api" in result.output
    assert "6 rows of gigs, 90.00 in all, to 3 workers. Nothing was sent." in result.output


def test_production_is_named_before_paying(tmp_path: Path) -> None:
    """Production is allowed (it is the import's job) but said loudly first."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    result = CliRunner().invoke(
        main,
        ["gigs", "import", str(path), "--dry-run"],
        env={"LEAN_ENVIRONMENT": "production", "LEAN_API_KEY": "sk_live_x"},
    )
    assert result.exit_code == 0, result.output
    assert "Would pay in: PRODUCTION (https://app.withlean.com/api" in result.output
    assert "sk_live_x" not in result.output


def test_a_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    """Without --api-key or $LEAN_API_KEY the import stops before sending, saying why."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    result = CliRunner().invoke(main, ["gigs", "import", str(path)])
    assert result.exit_code == 1
    assert "no API key" in result.output


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    """--backend takes httpx or aiohttp only."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    result = CliRunner().invoke(main, ["gigs", "import", str(path), "--backend", "curl"])
    assert result.exit_code == 2
    assert "'httpx', 'aiohttp'" in result.output


async def test_the_client_is_left_to_its_default_backend_when_none_is_given() -> None:
    """build_client passes no backend unless one was asked for, and sizes its pool."""
    async with build_client(
        api_key=KEY, base_url=None, environment=None, backend=None, concurrency=300
    ) as lean:
        assert lean.base_url.startswith("https://app.staging.withlean.com/api")


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_backend_reaches_the_client(backend: str) -> None:
    """--backend is passed through to LeanClient(backend=...)."""
    async with build_client(
        api_key=KEY, base_url=None, environment=None, backend=backend, concurrency=16
    ) as lean:
        assert lean.backend == backend


def test_plain_progress_lines_when_not_a_terminal() -> None:
    """Piped, progress is one plain line per interval and a last line at the end."""
    out = io.StringIO()
    summary = Summary(total=10, created=3, already_there=1)
    summary.failed["ServiceUnavailableError"] = 1
    with ImportProgress(Console(file=out, width=200), 10, "Paying") as progress:
        progress.update(summary)
    assert out.getvalue().strip().splitlines()[-1].startswith("progress: 5/10 done, 1 failed, ")
    assert "ETA" in progress_line(summary)


def test_plain_progress_of_a_batch_that_had_finished_says_nothing_was_paid() -> None:
    """Re-attached to a finished batch, the progress line shows no rate and no ETA."""
    summary = Summary(total=4, already_there=4, finished_before=True)
    assert progress_line(summary) == "progress: 4/4 done before, nothing paid now"


class _Terminal(io.StringIO):
    """An output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_bar_and_no_plain_lines() -> None:
    """On a terminal the progress is rich's bar (done/total, failed, rate), never a plain line."""
    out = _Terminal()
    summary = Summary(total=10, created=6)
    summary.failed["ServiceUnavailableError"] = 1
    console = Console(file=out, width=120, force_terminal=True)
    with ImportProgress(console, 10, "Paying gigs") as progress:
        progress.update(summary)
    shown = out.getvalue()
    assert "Paying gigs" in shown
    assert "7/10" in shown
    assert "1 failed" in shown
    assert "progress:" not in shown


def _summary_text(summary: Summary, failures: FailuresWriter) -> str:
    out = io.StringIO()
    print_summary(Console(file=out, width=200), summary, failures)
    return out.getvalue()


def test_the_summary_names_unsure_payments_failures_and_what_was_not_attempted(
    tmp_path: Path,
) -> None:
    """Unsure rows, each failure reason, the rows a stop left and the failures file are shown."""
    failures = FailuresWriter(tmp_path / "f.csv", GIGS)
    failures.write(gig_cells(1), line=2, reason="ServiceUnavailableError", message="503")
    failures.close()
    summary = Summary(total=10, attempted=7, created=4, already_there=1, unsure=1)
    summary.failed["ServiceUnavailableError"] = 1
    summary.stopped = True
    text = _summary_text(summary, failures)
    assert re.search(r"paid, unsure whether by this run\W+1\b", text)
    assert re.search(r"failed: ServiceUnavailableError\W+1\b", text)
    assert re.search(r"not attempted \(stopped\)\W+3\b", text)
    assert f"Failed rows: {tmp_path / 'f.csv'} (1 row)" in text
    assert "Stopped: 3 rows not attempted." in text
    assert "rows/s" in text


def test_the_summary_of_a_batch_that_had_finished_shows_no_rate(tmp_path: Path) -> None:
    """Attached to a finished batch: everything already there, no time or rate, said plainly."""
    summary = Summary(total=3, attempted=3, already_there=3, finished_before=True)
    text = _summary_text(summary, FailuresWriter(tmp_path / "f.csv", GIGS))
    assert re.search(r"already there \(paid before\)\W+3\b", text)
    assert "rows/s" not in text
    assert "this run paid nothing" in text
    assert "Failed rows" not in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--batch-id", "b1"], "--batch-id goes with --temporal"),
        (["--batch-id", " ", "--temporal", "127.0.0.1:1"], "--batch-id must not be empty"),
    ],
)
def test_batch_id_usage_errors(tmp_path: Path, options: list[str], message: str) -> None:
    """--batch-id is for --temporal only, and never blank; nothing is read or sent."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    result = CliRunner().invoke(main, ["gigs", "import", str(path), *options])
    assert result.exit_code == 2
    assert message in result.output
    assert "Checking" not in result.output


def test_a_header_that_does_not_fit_stops_the_command_with_status_2(tmp_path: Path) -> None:
    """A wrong header is reported on line 1 and nothing is sent."""
    path = tmp_path / "g.csv"
    path.write_text("gigId,amount\ng-1,15.00\n")
    result = CliRunner().invoke(main, ["gigs", "import", str(path), "--api-key", KEY])
    assert result.exit_code == 2
    assert "line 1: " in result.output
    assert "Nothing was sent." in result.output


def test_a_file_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    """A file in another encoding is one clear error, not a traceback."""
    path = tmp_path / "g.csv"
    path.write_bytes("gigId,caf\u00e9\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["gigs", "import", str(path), "--api-key", KEY])
    assert result.exit_code == 1
    assert f"cannot read {path}" in result.output
    assert "Traceback" not in result.output


def test_an_earlier_failures_file_that_cannot_be_removed_stops_the_run(tmp_path: Path) -> None:
    """A --failures path that cannot be cleared is an error before anything is paid."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    (tmp_path / "not-a-dir").write_text("")
    failures = tmp_path / "not-a-dir" / "f.csv"
    result = CliRunner().invoke(
        main, ["gigs", "import", str(path), "--api-key", KEY, "--failures", str(failures)]
    )
    assert result.exit_code == 1
    assert "cannot remove the earlier failures file" in result.output
    assert "Paying" not in result.output


def test_an_earlier_failures_file_is_removed_before_paying(tmp_path: Path) -> None:
    """The failures file of an earlier run is removed (and said so): it is not this run's."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    stale = tmp_path / "g.failures.csv"
    stale.write_text("old\n")
    result = CliRunner().invoke(main, ["gigs", "import", str(path)])  # no key: stops after
    assert f"Removed {stale}, the failures file of an earlier run." in result.output
    assert not stale.exists()
    assert result.exit_code == 1


# --- end to end: the command and `lean-async sandbox` as subprocesses -----------------------


def _command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("lean-async")), *args]


def _env(sandbox: SandboxProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    return env | {"LEAN_API_KEY": sandbox.api_key, "LEAN_BASE_URL": sandbox.url}


def _admin(sandbox: SandboxProcess, method: str, path: str, body: Any = None) -> Any:
    with httpx.Client(auth=(sandbox.api_key, ""), trust_env=False) as http:
        response = http.request(method, f"http://127.0.0.1:{sandbox.port}{path}", json=body)
        response.raise_for_status()
        return response.json()


def _gig_ids(sandbox: SandboxProcess) -> Counter[str]:
    return Counter(gig["gigId"] for gig in _admin(sandbox, "GET", "/api/gig"))


def _setup_workers(sandbox: SandboxProcess, count: int) -> list[str]:
    async def create() -> None:
        async with LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as lean:
            for n in range(1, count + 1):
                await new_customer(lean, n)

    asyncio.run(create())
    for n in range(1, count + 1):
        _admin(sandbox, "POST", f"/_sandbox/customers/uid_{n}/activate")
    return [f"uid_{n}" for n in range(1, count + 1)]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SandboxProcess, list[str]]]:
    """`lean-async sandbox` as a subprocess, with three ACTIVE workers."""
    with sandbox_process(KEY) as sandbox:
        yield sandbox, _setup_workers(sandbox, 3)


def test_subprocess_bad_rows_are_reported_and_nothing_is_sent(
    served: tuple[SandboxProcess, list[str]], tmp_path: Path
) -> None:
    """Against a real sandbox: every bad row by line, exit 2, and the API holds no such gig."""
    sandbox, workers = served
    path = tmp_path / "g.csv"
    write_sample_gigs(path, workers, count=30, prefix="bad", end=START)
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace("Z,", ",", 1)  # line 6: a naive startTime
    cells = lines[20].split(",")
    lines[20] = ",".join([*cells[:2], "12.345", *cells[3:]])  # line 21: a third decimal
    path.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        _command("gigs", "import", str(path)),
        env=_env(sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "line 6: startTime: has no Z or UTC offset" in proc.stdout
    assert "line 21: " in proc.stdout
    assert "2 bad rows" in proc.stdout
    assert not [g for g in _gig_ids(sandbox) if g.startswith("bad-")]


def test_subprocess_sigint_mid_way_then_rerun_pays_each_gig_exactly_once(
    served: tuple[SandboxProcess, list[str]], tmp_path: Path, backend: Backend
) -> None:
    """SIGINT mid-import stops cleanly (exit 130); the re-run leaves 0 duplicates, 0 missing."""
    total = 150
    sandbox, workers = served
    path = tmp_path / "payroll.csv"
    prefix = f"pay{backend}"  # the sandbox is shared by both backends' runs
    write_sample_gigs(path, workers, count=total, prefix=prefix, end=START)
    _admin(
        sandbox,
        "POST",
        "/_sandbox/faults",
        {"kind": "latency", "seconds": 0.05, "route": "POST /gig", "times": None},
    )
    env = _env(sandbox) | {"PYTHONUNBUFFERED": "1"}
    command = _command("gigs", "import", str(path), "--concurrency", "4", "--backend", backend)
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output = []
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("progress: ") and not line.startswith("progress: 0/"):
                break
            assert time.monotonic() < deadline, "".join(output)
        os.kill(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    first_output = "".join(output) + rest
    assert proc.returncode == 130, first_output
    assert "Ctrl-C: starting no new rows" in first_output
    assert "not attempted" in first_output
    paid_first = [g for g in _gig_ids(sandbox) if g.startswith(f"{prefix}-")]
    assert 0 < len(paid_first) < total

    _admin(sandbox, "DELETE", "/_sandbox/faults")
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    gig_ids = Counter({g: n for g, n in _gig_ids(sandbox).items() if g.startswith(f"{prefix}-")})
    assert set(gig_ids) == {f"{prefix}-{n:05d}" for n in range(1, total + 1)}  # none missing
    assert max(gig_ids.values()) == 1  # no duplicate
    already = re.search(r"already there \(paid before\)\s+│\s+(\d+)", again.stdout)
    assert already is not None, again.stdout
    assert int(already.group(1)) == len(paid_first)


def test_the_example_writes_a_file_the_import_accepts(tmp_path: Path) -> None:
    """examples/payroll_csv.py writes a payroll whose every row passes the checks."""
    path = tmp_path / "payroll.csv"
    example = Path(__file__).parent.parent / "examples" / "payroll_csv.py"
    subprocess.run(
        [sys.executable, str(example), str(path), "--gigs", "50", "--worker", "a", "--worker", "b"],
        check=True,
        timeout=30,
    )
    check = check_file(path, GIGS, lambda row: pytest.fail(f"bad row {row}"))
    assert (check.rows, check.workers) == (50, {"a", "b"})


@pytest.mark.parametrize("presses", [1, 2])
async def test_ctrl_c_once_stops_starting_rows_and_twice_cancels_the_calls_in_flight(
    lean: LeanClient, sandbox: Sandbox, tmp_path: Path, presses: int
) -> None:
    """The command's SIGINT handler: once, calls in flight finish; twice, they are cancelled."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(n) for n in range(60)])
    sandbox.faults.add(Latency(0.05), route="POST /gig", times=None)
    writer = FailuresWriter(tmp_path / "f.csv", GIGS)
    out = io.StringIO()

    class Press:
        def update(self, summary: Summary) -> None:
            # The second press comes at once: the calls in flight all started together
            # and would finish together, so a later press could find none left.
            if summary.done == 4:
                for _ in range(presses):
                    os.kill(os.getpid(), signal.SIGINT)

    summary = await run_import(
        Console(file=out),
        lean,
        path,
        GIGS,
        total=60,
        concurrency=4,
        failures=writer,
        progress=Press(),
    )
    writer.close()
    assert summary.stopped
    assert "Ctrl-C: starting no new rows" in out.getvalue()
    assert summary.not_attempted > 0
    if presses == 1:
        assert (summary.failed_count, summary.done) == (0, summary.attempted)
    else:
        assert summary.failed[CANCELLED] > 0
    sandbox.faults.clear()
    await pay(lean, path)
    assert sorted(sandbox.gigs) == sorted(f"gig_{n}" for n in range(60))


def test_the_failures_file_may_not_be_the_input(tmp_path: Path) -> None:
    """--failures pointing at the file being imported is refused before anything runs."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    result = CliRunner().invoke(main, ["gigs", "import", str(path), "--failures", str(path)])
    assert result.exit_code == 2
    assert "must not be the file being imported" in result.output


def test_subprocess_an_unreachable_temporal_server_is_one_error_line(tmp_path: Path) -> None:
    """--temporal at an address nobody serves: "Error: ..." and status 1, no failures file."""
    path = write_csv(tmp_path / "g.csv", [gig_cells(1)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    proc = subprocess.run(
        _command("gigs", "import", str(path), "--temporal", "127.0.0.1:1"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Paying through Temporal at 127.0.0.1:1" in proc.stdout
    assert "Error: RuntimeError: Failed client connect" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "g.failures.csv").exists()
