"""A FastAPI app that pays a worker through Lean and receives the webhooks that follow.

One `LeanClient` is opened by the app's lifespan (`lean_client_lifespan`) and handed to
every route that asks for it (`LeanClientDep`); Lean's webhooks arrive at
``POST /webhooks/lean``, verified and de-duplicated by `webhook_router`, and are logged.

Try it against the built-in sandbox (three terminals)::

    lean-async sandbox --port 8080
    LEAN_API_KEY=lean_sandbox_key LEAN_BASE_URL=http://127.0.0.1:8080/api \\
        python examples/fastapi_app.py   # or: uvicorn --factory examples.fastapi_app:create_app
    curl -u lean_sandbox_key: -H 'Content-Type: application/json' \\
        -d '{"url": "http://127.0.0.1:8000/webhooks/lean"}' http://127.0.0.1:8080/_sandbox/webhooks
    curl -X POST http://127.0.0.1:8000/demo/pay     # customer -> ACTIVE -> gig paid
    curl http://127.0.0.1:8000/demo/events          # customer.active, gig.completed

Environment: ``LEAN_API_KEY`` (also the webhook signing key), ``LEAN_BASE_URL``
(default: Lean's sandbox), ``PORT`` (default 8000).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections import deque
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from lean_async import Customer, Gig, LeanError, SpecialPayment, WebhookEvent
from lean_async.webhooks.fastapi import LeanClientDep, lean_client_lifespan, webhook_router

logger = logging.getLogger("examples.fastapi_app")

__all__ = ["create_app"]


def _summary(event: WebhookEvent) -> dict[str, Any]:
    data = event.data
    subject: str | None
    if isinstance(data, Gig):
        subject = data.gig_id
    elif isinstance(data, Customer | SpecialPayment):
        subject = data.partner_user_id
    else:  # the raw mapping: an unknown event type, or data that did not fit its model
        subject = data.get("gigId") or data.get("partnerUserId")
    return {"id": event.id, "type": str(event.type), "subject": subject}


def create_app(api_key: str | None = None, **client_kwargs: Any) -> FastAPI:
    """Build the app; nothing connects until it starts.

    Args:
        api_key: the Lean API key; defaults to ``$LEAN_API_KEY``.
        **client_kwargs: passed to `LeanClient` (``base_url=``, ``transport=``...).

    Returns:
        The FastAPI application.

    Raises:
        LeanError: no API key was given or set.
    """
    key = api_key or os.environ.get("LEAN_API_KEY")
    if not key:
        raise LeanError("set LEAN_API_KEY (the sandbox's is lean_sandbox_key)")

    app = FastAPI(
        title="lean-async FastAPI example",
        lifespan=lean_client_lifespan(api_key=key, **client_kwargs),  # app.state.lean
    )
    app.state.events = deque(maxlen=100)

    async def on_event(event: WebhookEvent) -> None:
        # Runs once per event, however often Lean delivers it. Raise to have it retried.
        summary = _summary(event)
        logger.info("webhook %s %s (%s)", summary["type"], summary["subject"], event.id)
        app.state.events.append(summary)

    app.include_router(webhook_router(api_key=key, handler=on_event))

    @app.post("/demo/pay")
    async def pay(lean: LeanClientDep, amount: Decimal = Decimal("15.00")) -> dict[str, Any]:
        """Register a worker, get them approved (sandbox), and pay them for one gig."""
        run = secrets.token_hex(4)
        customer = await lean.customers.create(
            partner_user_id=f"uid_example_{run}",
            first_name="Jane",
            last_name="Doe",
            birthday=dt.date(1990, 5, 17),
            phone_number=f"408{secrets.randbelow(10**7):07d}",
            email=f"jane.{run}@example.com",
            street="700 Treehouse Drive",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date=dt.datetime.now(dt.UTC).date(),
        )
        await lean.applications.submit(customer.partner_user_id)  # sandbox only
        await lean.customers.wait_until_active(
            customer.partner_user_id, timeout=60, poll_interval=0.2
        )
        end = dt.datetime.now(dt.UTC)
        gig = await lean.gigs.create(
            partner_user_id=customer.partner_user_id,
            gig_id=f"gig_example_{run}",
            total_amount=amount,
            tips="0.00",
            expenses="0.00",
            description="airport run",
            start_time=end - dt.timedelta(hours=1),
            end_time=end,
        )
        return {
            "partner_user_id": customer.partner_user_id,
            "gig_id": gig.gig_id,
            "amount": str(gig.total_amount),
            "status": str(gig.status),
        }

    @app.get("/demo/events")
    async def events() -> list[dict[str, Any]]:
        """The webhook events received so far (newest last, at most 100)."""
        return list(app.state.events)

    return app


if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    uvicorn.run(create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
