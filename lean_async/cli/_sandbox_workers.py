"""``lean-async sandbox --workers-for FILE``: ACTIVE workers for every ``partnerUserId`` of FILE.

A payroll can only pay ACTIVE customers. In the sandbox each id of the file becomes a
customer with made-up details, made ACTIVE at once (``customer.active`` is sent), so a
file written from scratch imports without the onboarding steps. An id the sandbox
already holds is made ACTIVE as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import click

from lean_async._client import LeanClient
from lean_async.sandbox import Sandbox

__all__ = ["add_active_workers", "worker_ids"]

_COLUMN: Final = "partnerUserId"


def worker_ids(paths: Iterable[Path]) -> list[str]:
    """Return the distinct non-empty ``partnerUserId`` cells of the CSV files, in file order.

    Raises:
        click.BadParameter: a file cannot be read or has no ``partnerUserId`` column.
    """
    ids: dict[str, None] = {}
    for path in paths:
        try:
            with path.open(newline="", encoding="utf-8-sig") as file:
                reader = csv.DictReader(file)
                header = [name.strip() for name in reader.fieldnames or []]
                if _COLUMN not in header:
                    raise click.BadParameter(
                        f"{path} has no {_COLUMN} column", param_hint="--workers-for"
                    )
                column = (reader.fieldnames or [])[header.index(_COLUMN)]
                for row in reader:
                    cell = (row.get(column) or "").strip()
                    if cell:
                        ids[cell] = None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise click.BadParameter(
                f"cannot read {path}: {exc}", param_hint="--workers-for"
            ) from None
    return list(ids)


async def add_active_workers(sandbox: Sandbox, ids: Iterable[str]) -> int:
    """Make every id an ACTIVE customer of *sandbox* (made-up details); return how many."""
    count = 0
    async with LeanClient(api_key=sandbox.api_key, transport=sandbox.transport()) as lean:
        for number, partner_user_id in enumerate(ids, start=1):
            if partner_user_id not in sandbox.customers:
                await lean.customers.create(
                    partner_user_id=partner_user_id,
                    first_name="Sandbox",
                    last_name="Worker",
                    birthday=dt.date(1990, 1, 1),
                    phone_number=f"408{number % 10**7:07d}",
                    email=f"worker{number}@example.com",
                    street="1 Sandbox Way",
                    city="San Jose",
                    state="CA",
                    postal_code="95101",
                    registration_date=dt.date(2024, 1, 1),
                )
            sandbox.activate_customer(partner_user_id)
            count += 1
    return count
