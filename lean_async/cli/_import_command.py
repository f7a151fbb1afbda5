"""``lean-async gigs import FILE.csv`` and ``lean-async special-payments import FILE.csv``.

Each row is checked first (pass 1): every bad row is printed with its line number (the
header is line 1) and the command exits 2 before anything is sent. Then the target
(environment and base URL) is printed and the rows are paid (pass 2) with a progress
bar, ending with a summary and a failures CSV that can be imported again.

Ctrl-C once: no new row is started, the calls in flight finish, the summary says how
many rows were not attempted (exit 130). Ctrl-C twice: the calls in flight are
cancelled too and go to the failures CSV. Either way, importing the same file again
pays only what was not paid (see `lean_async._payroll._run`).

With ``--temporal HOST:PORT`` the rows are paid by ``lean-async worker`` processes as a
durable Temporal batch whose id is ``--batch-id`` (default: the file's SHA-256): this
command starts it, or attaches to it if it is running or done, and follows it with the
same progress bar. Ctrl-C stops following only; the batch goes on.

Exit status: 0 every row paid; 1 some rows failed; 2 bad input, nothing sent;
130 stopped by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any, Final

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lean_async import _config
from lean_async._client import LeanClient
from lean_async._payroll import (
    GIGS,
    BadRow,
    Check,
    FailuresWriter,
    HeaderError,
    PayrollKind,
    Progress,
    Row,
    Summary,
    check_file,
    file_digest,
    pay_file,
    read_rows,
)
from lean_async._secrets import Secret
from lean_async.cli._console import make_console, target_line
from lean_async.cli._progress import ImportProgress
from lean_async.cli._worker_command import exit_now
from lean_async.errors import LeanError
from lean_async.resources._batch import DEFAULT_CONCURRENCY

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "build_client",
    "import_command",
    "print_summary",
    "run_import",
]

EXIT_FAILED: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_INTERRUPTED: Final = 130

BACKENDS: Final = ("httpx", "aiohttp")
_DRY_RUN_KEY: Final = "dry-run"  # resolves the target in a dry run; nothing is sent


def build_client(
    *,
    api_key: str | Secret[str] | None,
    base_url: str | None,
    environment: str | None,
    backend: str | None,
    concurrency: int,
) -> LeanClient:
    """Return the client an import pays through; the one place its options are chosen.

    *api_key*, *base_url* and *environment* fall back to ``$LEAN_API_KEY``,
    ``$LEAN_BASE_URL`` and ``$LEAN_ENVIRONMENT`` as `LeanClient` does. *backend* is
    passed only when given, so the client's own default applies otherwise.

    Raises:
        LeanError: no API key, an unknown environment or an unsafe base URL.
    """
    options: dict[str, Any] = {}
    if backend is not None:
        options["backend"] = backend
    return LeanClient(
        api_key=api_key,
        base_url=base_url,
        environment=environment,
        max_connections=max(concurrency, _config.DEFAULT_MAX_CONNECTIONS),
        **options,
    )


def _target_line(lean: LeanClient, dry_run: bool) -> Text:
    return target_line(
        "Would pay in" if dry_run else "Paying in", lean.environment, str(lean.base_url)
    )


def _bad_row_lines(row: BadRow) -> list[str]:
    return [f"line {row.line}: {column}: {message}" for column, message in row.problems]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def print_summary(console: Console, summary: Summary, failures: FailuresWriter) -> None:
    """Print what an import did: created, already there, failed by reason, not attempted."""
    table = Table(title="Import summary")
    table.add_column("rows")
    table.add_column("count", justify="right")
    table.add_row("created (paid by this run)", str(summary.created))
    table.add_row("already there (paid before)", str(summary.already_there))
    if summary.unsure:
        table.add_row("paid, unsure whether by this run", str(summary.unsure), style="yellow")
    for reason, count in sorted(summary.failed.items()):
        table.add_row(f"failed: {reason}", str(count), style="red")
    if not summary.failed:
        table.add_row("failed", "0")
    if summary.not_attempted:
        table.add_row("not attempted (stopped)", str(summary.not_attempted), style="yellow")
    table.add_section()
    table.add_row("total", str(summary.total))
    if not summary.finished_before:
        table.add_row("time", f"{summary.seconds:.1f} s")
        table.add_row("rate", f"{summary.rate:.0f} rows/s")
    console.print(table)
    if summary.finished_before:
        console.print(
            "This batch had finished before: this run paid nothing (its rows are counted "
            "as already there).",
            markup=False,
        )
    if failures.count:
        console.print(
            f"Failed rows: {failures.path} ({_plural(failures.count, 'row')}); "
            "fix the cause, then import that file (it is safe to import again).",
            markup=False,
        )
    if summary.stopped and summary.not_attempted:
        console.print(
            f"Stopped: {_plural(summary.not_attempted, 'row')} not attempted. Import the same "
            "file again, unchanged, to pay only what was not paid.",
            markup=False,
        )


async def run_import(
    console: Console,
    lean: LeanClient,
    path: Path,
    kind: PayrollKind,
    *,
    total: int,
    concurrency: int,
    failures: FailuresWriter,
    progress: Progress | None = None,
    handle_sigint: bool = True,
) -> Summary:
    """Pay the *total* checked rows of *path* through *lean*; return the summary.

    With *handle_sigint*, the first Ctrl-C stops starting rows and the second cancels
    the calls in flight (their rows go to *failures*).
    """
    summary = Summary(total=total)
    stop = asyncio.Event()
    task = asyncio.create_task(
        pay_file(
            lean,
            path,
            kind,
            summary,
            batch_id=file_digest(path),
            concurrency=concurrency,
            failures=failures,
            stop=stop,
            progress=progress,
        )
    )
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        if not stop.is_set():
            stop.set()
            console.print(
                "Ctrl-C: starting no new rows; waiting for the calls in flight "
                "(Ctrl-C again to cancel them)",
                markup=False,
            )
        else:
            task.cancel()

    if handle_sigint:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if not task.cancelled() or (current is not None and current.cancelling()):
            raise  # this coroutine itself is being cancelled, not just the payments
        summary.stopped = True
    finally:
        if handle_sigint:
            loop.remove_signal_handler(signal.SIGINT)
    return summary


async def _import(
    console: Console,
    path: Path,
    kind: PayrollKind,
    check: Check,
    *,
    client_options: dict[str, Any],
    concurrency: int,
    dry_run: bool,
    failures_path: Path,
) -> int:
    if dry_run and client_options["api_key"] is None and not _has_env_key():
        client_options = {**client_options, "api_key": _DRY_RUN_KEY}
    async with build_client(**client_options, concurrency=concurrency) as lean:
        console.print(_target_line(lean, dry_run))
        if dry_run:
            console.print(
                f"Dry run: {_plural(check.rows, 'row')} of {kind.name}, {check.amount:.2f} in "
                f"all, to {_plural(len(check.workers), 'worker')}. Nothing was sent.",
                markup=False,
            )
            return 0
        failures = FailuresWriter(failures_path, kind)
        try:
            with ImportProgress(console, check.rows, f"Paying {kind.name}") as progress:
                summary = await run_import(
                    console,
                    lean,
                    path,
                    kind,
                    total=check.rows,
                    concurrency=concurrency,
                    failures=failures,
                    progress=progress,
                )
        finally:
            failures.close()
        print_summary(console, summary, failures)
    if summary.stopped:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if summary.failed_count else 0


def _remove_stale_failures(console: Console, path: Path) -> None:
    """Remove a failures file an earlier run left, saying so, before this run pays.

    Left in place it would read as this run's failures; this run writes its own
    when a row fails.
    """
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise click.ClickException(
            f"cannot remove the earlier failures file {path}: {exc}"
        ) from None
    console.print(f"Removed {path}, the failures file of an earlier run.", markup=False)


def _has_env_key() -> bool:
    return bool(os.environ.get(_config.ENV_API_KEY))


def _check(console: Console, path: Path, kind: PayrollKind) -> Check:
    console.print(f"Checking {path} ...", markup=False)

    def show(row: BadRow) -> None:
        for line in _bad_row_lines(row):
            console.print(line, markup=False)

    try:
        check = check_file(path, kind, show)
    except HeaderError as exc:
        console.print(f"line 1: {exc}", markup=False)
        console.print(Text("Nothing was sent.", style="bold red"))
        sys.exit(EXIT_BAD_INPUT)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if check.bad_rows:
        console.print(
            Text(
                f"{_plural(check.bad_rows, 'bad row')} in {path}; nothing was sent.",
                style="bold red",
            )
        )
        sys.exit(EXIT_BAD_INPUT)
    console.print(f"{_plural(check.rows, 'row')} checked: all good.", markup=False)
    return check


def import_command(kind: PayrollKind) -> click.Command:
    """Return the ``import`` command for *kind* (`GIGS` or `SPECIAL_PAYMENTS`)."""
    columns = ", ".join(kind.headers)
    resource = "gigs" if kind is GIGS else "special-payments"

    @click.command(
        "import",
        help=f"Pay every row of FILE, a CSV of {kind.name} with the columns: {columns}. "
        "Every row is checked before anything is sent; times need Z or a UTC offset. "
        "Importing the same file again pays only what was not paid. "
        "Exit status: 0 all paid, 1 some failed, 2 bad input (nothing sent), "
        "130 stopped by Ctrl-C.",
    )
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--concurrency",
        type=click.IntRange(1, 1000),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Calls in flight at once.",
    )
    @click.option(
        "--dry-run", is_flag=True, help="Check FILE and say what would be paid; send nothing."
    )
    @click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default=None,
        help="The HTTP base under the client (default: the client's own choice).",
    )
    @click.option(
        "--base-url", default=None, help=f"The API's base URL (default ${_config.ENV_BASE_URL})."
    )
    @click.option(
        "--api-key", default=None, help=f"Your Lean API key (default ${_config.ENV_API_KEY})."
    )
    @click.option(
        "--environment",
        type=click.Choice([e.value for e in _config.Environment]),
        default=None,
        help=f"sandbox or production (default ${_config.ENV_ENVIRONMENT}, else sandbox).",
    )
    @click.option(
        "--temporal",
        "temporal",
        default=None,
        metavar="HOST:PORT",
        help="Pay as a durable Temporal batch run by `lean-async worker` processes.",
    )
    @click.option(
        "--batch-id",
        default=None,
        help="With --temporal: the batch's id (default: the SHA-256 of FILE). "
        "The same id never pays twice.",
    )
    @click.option(
        "--failures",
        "failures_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Where failed rows are written (default: beside FILE, its name without .csv "
        "+ .failures.csv: payroll.csv -> payroll.failures.csv). A file left there by an "
        "earlier run is removed when paying starts.",
    )
    def command(
        file: Path,
        concurrency: int,
        dry_run: bool,
        backend: str | None,
        base_url: str | None,
        api_key: str | None,
        environment: str | None,
        temporal: str | None,
        batch_id: str | None,
        failures_path: Path | None,
    ) -> None:
        # An error passing through this frame (a crash, Ctrl-C) must not find the raw key.
        held_key = None if api_key is None else Secret(api_key)
        del api_key
        console = make_console()
        failures_path = failures_path or file.with_name(file.stem + ".failures.csv")
        if failures_path.resolve() == file.resolve():
            raise click.UsageError("--failures must not be the file being imported")
        if batch_id is not None and temporal is None:
            raise click.UsageError("--batch-id goes with --temporal")
        if batch_id is not None and not batch_id.strip():
            raise click.UsageError("--batch-id must not be empty")
        check = _check(console, file, kind)
        if not dry_run:
            _remove_stale_failures(console, failures_path)
        if temporal is not None and not dry_run:
            exit_now(
                _run_temporal(
                    console,
                    file,
                    kind,
                    check,
                    address=temporal,
                    batch_id=batch_id or file_digest(file),
                    concurrency=concurrency,
                    failures_path=failures_path,
                )
            )
        options = {
            "api_key": held_key,
            "base_url": base_url,
            "environment": environment,
            "backend": backend,
        }
        try:
            status = asyncio.run(
                _import(
                    console,
                    file,
                    kind,
                    check,
                    client_options=options,
                    concurrency=concurrency,
                    dry_run=dry_run,
                    failures_path=failures_path,
                )
            )
        except LeanError as exc:  # no key, a bad base URL: say why, no traceback
            raise click.ClickException(str(exc)) from None
        sys.exit(status)

    command.__doc__ = f"Import {resource} from a CSV file."
    return command


def _run_temporal(
    console: Console,
    path: Path,
    kind: PayrollKind,
    check: Check,
    *,
    address: str,
    batch_id: str,
    concurrency: int,
    failures_path: Path,
) -> int:
    """Start (or attach to) the file's Temporal batch, follow it, print the summary."""
    try:
        from lean_async.cli._temporal_import import follow_import
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [entry for entry in read_rows(path, kind) if isinstance(entry, Row)]
    console.print(
        f"Paying through Temporal at {address}, batch {batch_id} "
        "(the workers' environment decides where the money moves)",
        markup=False,
    )
    try:
        with ImportProgress(console, check.rows, f"Paying {kind.name}") as progress:
            summary, failed = asyncio.run(
                follow_import(
                    address, batch_id, kind, rows, concurrency=concurrency, progress=progress
                )
            )
    except KeyboardInterrupt:
        console.print(
            "Stopped following; the batch goes on in the workers. Run the same command "
            "again to follow it (it pays nothing twice).",
            markup=False,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:  # the server is unreachable, the batch failed: say it, exit 1
        console.print(f"Error: {type(exc).__name__}: {exc}", markup=False)
        return EXIT_FAILED
    failures = FailuresWriter(failures_path, kind)
    try:
        for failure in failed:
            entry = rows[failure.index]
            failures.write(
                entry.cells, line=entry.line, reason=failure.reason, message=failure.message
            )
    finally:
        failures.close()
    print_summary(console, summary, failures)
    return EXIT_FAILED if summary.failed_count else 0
