"""The demo's last step: pay a payroll of 1,000 gigs from a CSV file, as ``gigs import`` does.

The file is written to a temporary directory for a handful of ACTIVE workers, checked
(pass 1), then paid (pass 2) through the same `lean_async._payroll` engine as the
command, while the sandbox answers a burst of 503s. Afterwards the sandbox must hold
exactly one gig per row.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from lean_async._client import LeanClient
from lean_async._payroll import (
    GIGS,
    FailuresWriter,
    Progress,
    Summary,
    check_file,
    file_digest,
    pay_file,
    write_sample_gigs,
)
from lean_async.sandbox import Sandbox, ServerError

__all__ = ["PAYROLL_GIGS", "PAYROLL_WORKERS", "PayrollFailure", "ProgressFactory", "pay_payroll"]

PAYROLL_GIGS: Final = 1000
PAYROLL_WORKERS: Final = 5
BURST: Final = 5
"""503 answers injected into POST /gig during the payroll."""

ProgressFactory = Callable[[int, str], contextlib.AbstractContextManager[Progress]]
"""Given the row count and a label, returns the progress display of the payroll."""


class PayrollFailure(Exception):
    """The payroll did not end with exactly one gig per row."""


async def pay_payroll(
    lean: LeanClient,
    sandbox: Sandbox,
    workers: Sequence[str],
    *,
    prefix: str,
    count: int = PAYROLL_GIGS,
    progress: ProgressFactory | None = None,
) -> str:
    """Write, check and pay a payroll of *count* gigs for *workers* (all ACTIVE).

    The fault burst starts after a fifth of the rows, so it lands mid-payroll.

    Returns:
        One line saying what was paid, the burst ridden out and the rate.

    Raises:
        PayrollFailure: a row failed, or the sandbox does not hold one gig per row.
    """
    burst = sandbox.faults.add(
        ServerError(status=503, retry_after=0.2), route="POST /gig", times=BURST, skip=count // 5
    )
    with tempfile.TemporaryDirectory(prefix="lean-demo-") as folder:
        path = Path(folder) / "payroll.csv"
        write_sample_gigs(path, workers, count=count, prefix=prefix, end=dt.datetime.now(dt.UTC))
        bad: list[int] = []
        check = check_file(path, GIGS, lambda row: bad.append(row.line))
        if bad:
            raise PayrollFailure(f"the sample file has bad rows: lines {bad[:5]}")
        summary = Summary(total=check.rows)
        failures = FailuresWriter(Path(folder) / "failures.csv", GIGS)
        display = progress(check.rows, "Paying payroll.csv") if progress else None
        try:
            with display or contextlib.nullcontext() as shown:
                await pay_file(
                    lean,
                    path,
                    GIGS,
                    summary,
                    batch_id=file_digest(path),
                    concurrency=16,
                    failures=failures,
                    stop=asyncio.Event(),
                    progress=shown,
                )
        finally:
            failures.close()
    paid = sum(1 for gig_id in sandbox.gigs if gig_id.startswith(prefix + "-"))
    if burst.hits != BURST:
        raise PayrollFailure(f"{burst.hits} of the {BURST} injected 503s were answered")
    if summary.failed_count or paid != count:
        raise PayrollFailure(
            f"{summary.failed_count} rows failed ({dict(summary.failed)}); the sandbox holds "
            f"{paid} of the {count} gigs"
        )
    return (
        f"{check.rows} gigs ({check.amount:.2f}) to {len(check.workers)} workers: "
        f"{summary.created} paid, {summary.already_there} already there, "
        f"{summary.failed_count} failed; {burst.hits} x 503 ridden out; "
        f"{(summary.done + burst.hits) / summary.seconds:.0f} req/s"
    )
