"""A sample payroll CSV of gigs, for the demo and for trying ``lean-async gigs import``."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from lean_async._payroll._rows import GIGS

__all__ = ["write_sample_gigs"]

_DESCRIPTIONS = ("airport run", "grocery delivery", "late-night delivery", "moving help")


def write_sample_gigs(
    path: Path,
    workers: Sequence[str],
    *,
    count: int,
    prefix: str,
    end: dt.datetime,
) -> None:
    """Write *count* gigs shared round-robin among *workers* to a CSV at *path*.

    Gig ids are ``<prefix>-00001`` and on; amounts vary by a few cents so totals are
    not all alike; each gig lasts 30 minutes and they end, one minute apart, before
    *end* (which must be timezone-aware; times are written in UTC with ``Z``).
    """
    end = end.astimezone(dt.UTC).replace(microsecond=0)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(GIGS.headers)
        for n in range(1, count + 1):
            stop = end - dt.timedelta(minutes=count - n)
            tips = Decimal(n % 5)
            expenses = Decimal(n % 3) / 2
            total = Decimal("12.00") + tips + expenses + Decimal(n % 7) / 4
            writer.writerow(
                (
                    workers[n % len(workers)],
                    f"{prefix}-{n:05d}",
                    f"{total:.2f}",
                    f"{tips:.2f}",
                    f"{expenses:.2f}",
                    _DESCRIPTIONS[n % len(_DESCRIPTIONS)],
                    (stop - dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    stop.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
            )
