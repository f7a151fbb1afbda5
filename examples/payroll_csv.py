"""Write a sample payroll CSV to try ``lean-async gigs import`` with.

    python examples/payroll_csv.py payroll.csv --gigs 1000 --worker uid_1 --worker uid_2
    lean-async gigs import payroll.csv --dry-run

The columns are the API reference's gig fields. Times are written in UTC with ``Z``:
the import refuses a time without ``Z`` or an offset rather than guess its zone.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

COLUMNS = (
    "partnerUserId",
    "gigId",
    "totalAmount",
    "tips",
    "expenses",
    "description",
    "startTime",
    "endTime",
)


def write_payroll(path: Path, workers: list[str], gigs: int, end: dt.datetime) -> None:
    """Write *gigs* gigs shared among *workers*, each 30 minutes long, ending before *end*."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(1, gigs + 1):
            stop = end - dt.timedelta(minutes=gigs - n)
            tips = Decimal(n % 4)
            writer.writerow(
                (
                    workers[n % len(workers)],
                    f"gig-{end:%Y%m%d}-{n:06d}",
                    f"{Decimal('15.00') + tips:.2f}",
                    f"{tips:.2f}",
                    "0.00",
                    "delivery",
                    f"{stop - dt.timedelta(minutes=30):%Y-%m-%dT%H:%M:%SZ}",
                    f"{stop:%Y-%m-%dT%H:%M:%SZ}",
                )
            )


def main() -> None:
    """Parse the command line and write the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--gigs", type=int, default=1000)
    parser.add_argument("--worker", action="append", dest="workers")
    args = parser.parse_args()
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    write_payroll(args.path, args.workers or ["uid_1"], args.gigs, end)


if __name__ == "__main__":
    main()
