"""The CSV guide from zero workers, as a new user runs it, plus the import's small print.

``lean-async sandbox --workers-for payroll.csv`` makes the file's workers ACTIVE, then
``lean-async gigs import payroll.csv`` pays it: a stale failures file is removed first
and the final progress line is printed once. ``lean-async worker`` first says where it
pays.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from lean_async import CustomerStatus
from lean_async._payroll import Summary
from lean_async.cli import main
from lean_async.cli._progress import ImportProgress
from lean_async.cli._sandbox_workers import add_active_workers, worker_ids
from lean_async.sandbox import DEFAULT_API_KEY, Sandbox
from tests.webhooks._support import free_port

HEADER = "partnerUserId,gigId,totalAmount,tips,expenses,description,startTime,endTime"


def lean_async(*args: str) -> list[str]:
    """The installed ``lean-async`` command with *args*."""
    return [str(Path(sys.executable).with_name("lean-async")), *args]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without LEAN_* variables, plus *extra*."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")} | extra


def write_payroll(path: Path, workers: list[str], gigs: int) -> None:
    """Write *gigs* gigs shared by *workers*."""
    rows = [
        f"{workers[n % len(workers)]},zero-{n:04d},15.00,1.00,0.00,delivery,"
        "2026-11-30T09:00:00Z,2026-11-30T09:30:00Z"
        for n in range(gigs)
    ]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


GUIDE = Path(__file__).resolve().parent.parent / "docs" / "bulk-payouts.md"


def guide_payroll() -> tuple[str, str]:
    """The CSV the guide writes from zero (its heredoc) and the sandbox line it shows."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("cat > payroll.csv <<'CSV'\n") + len("cat > payroll.csv <<'CSV'\n")
    csv_text = text[start : text.index("\nCSV\n", start) + 1]
    shown = re.search(r"#\s+\.\.\. (ACTIVE workers: .*)", text)
    assert shown is not None
    return csv_text, shown.group(1)


@pytest.fixture
def sandbox_for(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """``lean-async sandbox --workers-for`` the guide's file; yields the file, URL, output."""
    payroll = tmp_path / "payroll.csv"
    payroll.write_text(guide_payroll()[0], encoding="utf-8")
    port = free_port()
    log_path = tmp_path / "sandbox.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            lean_async("sandbox", "--port", str(port), "--workers-for", str(payroll)),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(PYTHONUNBUFFERED="1"),
        )
    try:
        deadline = time.monotonic() + 30
        while b"ACTIVE workers" not in log_path.read_bytes():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield payroll, f"http://127.0.0.1:{port}/api", log_path.read_text()
    finally:
        process.terminate()  # by its pid, the process this fixture started
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_guides_payroll_imports_from_zero_workers(
    sandbox_for: tuple[Path, str, str],
) -> None:
    """The CSV guide's steps as a new user runs them: its workers made ACTIVE, every row paid.

    A failures file from an earlier run is removed, and said to be, before paying; the
    final progress line is printed once.
    """
    payroll, base_url, sandbox_output = sandbox_for
    rows = len(payroll.read_text(encoding="utf-8").splitlines()) - 1
    assert guide_payroll()[1] in sandbox_output
    stale = payroll.with_name("payroll.failures.csv")
    stale.write_text(HEADER + ",failedLine,failedReason,failedMessage\n", encoding="utf-8")
    env = clean_env(LEAN_API_KEY=DEFAULT_API_KEY, LEAN_BASE_URL=base_url)
    done = subprocess.run(
        lean_async("gigs", "import", str(payroll)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Removed {stale}, the failures file of an earlier run." in done.stdout
    assert not stale.exists()  # every row paid: no failures file this time
    final = f"progress: {rows}/{rows} "
    finals = [line for line in done.stdout.splitlines() if line.startswith(final)]
    assert len(finals) == 1, done.stdout
    assert f"Paying in: sandbox ({base_url}/)" in done.stdout


def test_a_dry_run_leaves_the_failures_file(tmp_path: Path) -> None:
    """--dry-run pays nothing, so an earlier run's failures file stays as it was."""
    payroll = tmp_path / "payroll.csv"
    write_payroll(payroll, ["uid_1"], gigs=2)
    stale = tmp_path / "payroll.failures.csv"
    stale.write_text("old\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["gigs", "import", str(payroll), "--dry-run"], env={})
    assert result.exit_code == 0, result.output
    assert stale.read_text(encoding="utf-8") == "old\n"


def test_help_names_the_failures_file_as_it_is() -> None:
    """--help says payroll.csv's failures go to payroll.failures.csv beside it."""
    result = CliRunner().invoke(main, ["gigs", "import", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "payroll.csv -> payroll.failures.csv" in text
    assert "FILE's name + .failures.csv" not in text


def test_the_last_progress_line_is_not_repeated() -> None:
    """A line already showing the final counts is not printed again at the end."""
    out = io.StringIO()
    summary = Summary(total=4, created=4)
    with ImportProgress(Console(file=out, width=200), 4, "Paying") as progress:
        progress._last_line = 0.0  # a line is due at once
        progress.update(summary)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("progress: 4/4 done")


def test_worker_ids_reads_the_partner_user_id_column(tmp_path: Path) -> None:
    """Ids in file order, each once, blanks skipped, a BOM and spaces tolerated."""
    first = tmp_path / "a.csv"
    first.write_text("\ufeffgigId, partnerUserId \ng1, uid_b\ng2,uid_a\ng3,\ng4,uid_b\n")
    second = tmp_path / "b.csv"
    second.write_text("partnerUserId,amount,type\nuid_c,5.00,bonus\nuid_a,1.00,bonus\n")
    assert worker_ids([first, second]) == ["uid_b", "uid_a", "uid_c"]


def test_workers_for_needs_a_partner_user_id_column(tmp_path: Path) -> None:
    """A file without the column is refused before the server starts."""
    path = tmp_path / "x.csv"
    path.write_text("gigId\ng1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sandbox", "--workers-for", str(path)])
    assert result.exit_code == 2
    assert "has no partnerUserId column" in result.output


def test_worker_first_says_where_it_pays() -> None:
    """The worker's first line names the environment and base URL, before connecting."""
    done = subprocess.run(
        lean_async("worker", "--temporal", "127.0.0.1:9"),
        env=clean_env(LEAN_BASE_URL="http://127.0.0.1:8080/api"),  # and no API key
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "Paying in: sandbox (http://127.0.0.1:8080/api/)"
    assert lines[1].startswith("Error: ")


async def test_add_active_workers_creates_or_activates_each_id() -> None:
    """New ids become ACTIVE customers; an id the sandbox holds already is activated as is."""
    async with Sandbox() as sandbox:
        assert await add_active_workers(sandbox, ["uid_a"]) == 1
        sandbox.deactivate_customer("uid_a")
        assert await add_active_workers(sandbox, ["uid_a", "uid_b"]) == 2
        statuses = {uid: c.status for uid, c in sandbox.customers.items()}
    assert statuses == {"uid_a": CustomerStatus.ACTIVE, "uid_b": CustomerStatus.ACTIVE}
