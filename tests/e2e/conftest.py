"""Helpers for end-to-end tests of the SDK against the built-in sandbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lean_async import Customer, Gig, LeanClient

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


async def new_customer(lean: LeanClient, n: int = 1) -> Customer:
    """Create customer ``uid_<n>`` with unique contact details."""
    return await lean.customers.create(
        partner_user_id=f"uid_{n}",
        first_name="Jane",
        last_name="Doe",
        birthday=dt.date(1980, 12, 31),
        phone_number=f"40850{n:05d}",
        email=f"jane{n}@example.com",
        street="700 Treehouse Drive",
        city="San Jose",
        state="CA",
        postal_code="95101",
        registration_date=dt.date(2020, 1, 1),
    )


def gig_args(n: int = 1, partner_user_id: str = "uid_1", **overrides: Any) -> dict[str, Any]:
    """Return keyword arguments of a valid ``gigs.create`` call."""
    args: dict[str, Any] = {
        "partner_user_id": partner_user_id,
        "gig_id": f"gig_{n}",
        "total_amount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": "SFO Airport to 410 Market Street",
        "start_time": START,
        "end_time": START + dt.timedelta(minutes=40),
    }
    return args | overrides


async def new_gig(lean: LeanClient, n: int = 1, **overrides: Any) -> Gig:
    """Pay gig ``gig_<n>``."""
    return await lean.gigs.create(**gig_args(n, **overrides))
