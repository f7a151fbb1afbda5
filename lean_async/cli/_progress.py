"""The import's progress: a live rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from lean_async._payroll import Summary
from lean_async.cli._console import _is_tty

__all__ = ["PLAIN_INTERVAL", "ImportProgress", "progress_line"]

PLAIN_INTERVAL: Final = 1.0
"""Seconds between two progress lines when the output is not a terminal."""


def _eta(summary: Summary) -> str:
    left = summary.total - summary.done
    if summary.rate <= 0 or left <= 0:
        return "-"
    return f"{left / summary.rate:.0f} s"


def progress_line(summary: Summary) -> str:
    """Describe *summary* in one plain line: done/total, failed, rate, ETA."""
    if summary.finished_before:
        return f"progress: {summary.done}/{summary.total} done before, nothing paid now"
    return (
        f"progress: {summary.done}/{summary.total} done, {summary.failed_count} failed, "
        f"{summary.rate:.0f} rows/s, ETA {_eta(summary)}"
    )


class ImportProgress:
    """Shows an import's progress on *console* while it runs (a context manager).

    On a terminal: a rich bar with done/total, failed, rows per second and ETA. When
    the output is a pipe or a file: one `progress_line` every `PLAIN_INTERVAL`
    seconds, and a last one at the end unless the last line shown already said the same
    counts, so a CI log stays readable and ends on one final line.
    """

    def __init__(self, console: Console, total: int, label: str) -> None:
        self._console = console
        self._total = total
        self._live = _is_tty(console)
        self._last_line = 0.0
        self._last: Summary | None = None
        self._shown: tuple[int, int] | None = None  # (done, failed) of the last line printed
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("{task.fields[rate]:.0f} rows/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: TaskID | None = None
        self._label = label

    def __enter__(self) -> ImportProgress:
        if self._live:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=self._total, failed=0, rate=0.0)
        self._last_line = time.monotonic()
        return self

    def update(self, summary: Summary) -> None:
        """Show *summary*: redraw the bar, or print a line if one is due."""
        self._last = summary
        if self._task is not None:
            self._bar.update(
                self._task,
                completed=summary.done,
                failed=summary.failed_count,
                rate=summary.rate,
            )
            return
        now = time.monotonic()
        if now - self._last_line >= PLAIN_INTERVAL:
            self._last_line = now
            self._print_line(summary)

    def _print_line(self, summary: Summary) -> None:
        self._shown = (summary.done, summary.failed_count)
        self._console.print(progress_line(summary), markup=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._bar.stop()
        elif self._last is not None and self._shown != (
            self._last.done,
            self._last.failed_count,
        ):
            self._print_line(self._last)
