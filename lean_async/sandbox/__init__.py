"""A stateful Lean API for tests and demos: in-process (ASGI) or on a real port.

    from lean_async.sandbox import ManualClock, Sandbox

    async with Sandbox(clock=ManualClock()) as sandbox:
        async with httpx.AsyncClient(
            transport=sandbox.transport(), base_url=sandbox.base_url, auth=(sandbox.api_key, "")
        ) as http:
            await http.post("/customer", json={...})
            await sandbox.advance(1.0)   # approvals, settlements, webhook deliveries

Your own ASGI app (FastAPI, Starlette, ...) receives the sandbox's webhooks in-process
with ``sandbox.forward_webhooks_to(app, path="/webhooks/lean")``; a served sandbox lists
its control routes at ``GET /_sandbox``.

Every endpoint and rule of the reference, unique keys, 24-hour idempotency keys,
applications approved after a delay, payments settling PENDING → SUCCESS (or FAILED on
request), signed webhooks with retries, and fault injection (`Faults`).
"""

from lean_async.sandbox._clock import Clock, ManualClock, RealClock, SkewedClock
from lean_async.sandbox._faults import (
    ROUTES,
    ConnectionReset,
    DropAfterCommit,
    Fault,
    FaultRule,
    Faults,
    Latency,
    ServerError,
)
from lean_async.sandbox._lifecycle import FAIL_MARKER
from lean_async.sandbox._sandbox import DEFAULT_API_KEY, Sandbox
from lean_async.sandbox._server import TLSFiles, running_server, serve
from lean_async.sandbox._transport import SandboxTransport
from lean_async.sandbox._webhooks import (
    WEBHOOK_LOGGER,
    Delivery,
    DeliveryAttemptOutcome,
    WebhookListener,
)

__all__ = [
    "DEFAULT_API_KEY",
    "FAIL_MARKER",
    "ROUTES",
    "WEBHOOK_LOGGER",
    "Clock",
    "ConnectionReset",
    "Delivery",
    "DeliveryAttemptOutcome",
    "DropAfterCommit",
    "Fault",
    "FaultRule",
    "Faults",
    "Latency",
    "ManualClock",
    "RealClock",
    "Sandbox",
    "SandboxTransport",
    "ServerError",
    "SkewedClock",
    "TLSFiles",
    "WebhookListener",
    "running_server",
    "serve",
]
