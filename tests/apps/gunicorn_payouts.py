"""A plain ASGI app that pays a gig per request, for gunicorn ``--preload`` with uvicorn workers.

The `LeanClient` is made at import, so with ``--preload`` it is made in gunicorn's master
and inherited by every forked worker. With ``LEAN_WARM_UP=1`` the master also calls the
API before forking and leaves that loop's pool open, as a preloading app that checks its
settings might: each worker must then drop the inherited connections and make its own.

``POST /pay/<gig id>`` pays that gig to ``uid_1`` and answers
``{"gig_id": ..., "status": ..., "pid": <worker pid>}``.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import json
import os
from typing import Any

from lean_async import LeanClient

__all__ = ["app", "lean"]

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

lean = LeanClient()

if os.environ.get("LEAN_WARM_UP") == "1":
    _warm_up_loop = asyncio.new_event_loop()  # left open: its pool is inherited by workers
    _warm_up_loop.run_until_complete(lean.gigs.list())
    # Closed at exit without shutting it down: the client drops that pool without it.
    atexit.register(_warm_up_loop.close)

Scope = dict[str, Any]


async def app(scope: Scope, receive: Any, send: Any) -> None:
    """The ASGI entry point."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await lean.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    gig_id = scope["path"].rpartition("/")[2]
    gig = await lean.gigs.create(
        partner_user_id="uid_1",
        gig_id=gig_id,
        total_amount="15.00",
        tips="3.00",
        expenses="2.00",
        description="gunicorn payout",
        start_time=START,
        end_time=START + dt.timedelta(minutes=40),
    )
    body = json.dumps({"gig_id": gig.gig_id, "status": str(gig.status), "pid": os.getpid()})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
