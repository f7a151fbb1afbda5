"""Paying gigs from Celery tasks: one `LeanClient` per process, ``asyncio.run`` per task.

Celery runs plain functions; each task here runs one coroutine with ``asyncio.run``. The
client is made once, at import, and shared by every task of the worker process: it keeps
a connection pool per event loop (each ``asyncio.run`` makes one on its first call and
closes it when it returns), and a forked worker child (the prefork pool) makes its own
instead of using its parent's. Its retry budget and telemetry are shared by every task.

A payout is safe to repeat: the gig id is its unique key, so a task retried by Celery
after a crash (``acks_late``) pays nothing twice.

Try it against the built-in sandbox (two terminals; Redis as the broker)::

    lean-async sandbox --port 8080
    LEAN_API_KEY=lean_sandbox_key LEAN_BASE_URL=http://127.0.0.1:8080/api \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        celery -A examples.celery_app worker --loglevel=info

then, from Python: ``examples.celery_app.pay_gig.delay(partner_user_id="uid_1",
gig_id="gig_1", total_amount="15.00", start_time="2026-11-24T09:00:00Z",
end_time="2026-11-24T09:40:00Z")``.

Environment: ``LEAN_API_KEY``, ``LEAN_BASE_URL`` (default: Lean's sandbox),
``CELERY_BROKER_URL`` (default ``memory://``, for tests: one process only) and
``CELERY_RESULT_BACKEND`` (default ``cache+memory://``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import Any

from celery import Celery

from lean_async import LeanClient

__all__ = ["app", "lean", "pay_gig"]

app = Celery(
    "payouts",
    broker=os.environ.get("CELERY_BROKER_URL", "memory://"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "cache+memory://"),
)
app.conf.task_acks_late = True  # a worker that dies mid-task leaves it to be run again

# One client for the whole process, made at import (before any fork): LEAN_API_KEY and
# LEAN_BASE_URL come from the environment.
lean = LeanClient()


@app.task(name="payouts.pay_gig")
def pay_gig(
    *,
    partner_user_id: str,
    gig_id: str,
    total_amount: str,
    start_time: str,
    end_time: str,
    tips: str = "0.00",
    expenses: str = "0.00",
    description: str = "",
) -> dict[str, Any]:
    """Pay one gig; return its id and payment status (JSON-friendly for the result store)."""
    return asyncio.run(
        _pay(
            partner_user_id=partner_user_id,
            gig_id=gig_id,
            total_amount=total_amount,
            tips=tips,
            expenses=expenses,
            description=description,
            start_time=dt.datetime.fromisoformat(start_time),
            end_time=dt.datetime.fromisoformat(end_time),
        )
    )


async def _pay(**gig: Any) -> dict[str, Any]:
    paid = await lean.gigs.create(**gig)
    return {"gig_id": paid.gig_id, "status": str(paid.status), "total": str(paid.total_amount)}
