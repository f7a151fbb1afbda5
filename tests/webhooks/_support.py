"""Webhook test data and helpers: keys, event bodies, signed deliveries, processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from lean_async._codec.convert import unstructure
from lean_async.models import (
    Customer,
    CustomerStatus,
    Gig,
    PaymentStatus,
    SpecialPayment,
    SpecialPaymentType,
)
from lean_async.webhooks import SIGNATURE_HEADER, sign

API_KEY = "test_webhook_key"
OLD_KEY = "test_old_webhook_key"

CUSTOMER = Customer(
    partner_user_id="uid_1",
    first_name="Jane",
    last_name="Doe",
    birthday=dt.date(1990, 5, 17),
    phone_number="4081234567",
    email="jane@example.com",
    street="700 Treehouse Drive",
    city="San Jose",
    state="CA",
    postal_code="95101",
    registration_date=dt.date(2024, 1, 1),
    status=CustomerStatus.ACTIVE,
)
GIG = Gig(
    id="1",
    gig_id="gig_1",
    description="airport run",
    total_amount=Decimal("15.00"),
    tips=Decimal("3.00"),
    expenses=Decimal("2.00"),
    start_time=dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC),
    end_time=dt.datetime(2024, 1, 1, 11, tzinfo=dt.UTC),
    status=PaymentStatus.SUCCESS,
)
SPECIAL_PAYMENT = SpecialPayment(
    id="sp_1",
    partner_user_id="uid_1",
    amount=Decimal("-4.56"),
    type=SpecialPaymentType.REIMBURSEMENT,
    status=PaymentStatus.FAILED,
)


def event_body(
    event: str = "gig.completed",
    data: Any = None,
    *,
    event_id: str | None = "evt_1",
    created_at: str | None = "2024-01-01T11:00:00.000Z",
) -> dict[str, Any]:
    """Return a webhook body in the SDK's shape (gig data unless told otherwise)."""
    body: dict[str, Any] = {"event": event, "data": unstructure(GIG) if data is None else data}
    if event_id is not None:
        body["id"] = event_id
    if created_at is not None:
        body["createdAt"] = created_at
    return body


def encode(body: Any) -> bytes:
    """Return *body* as the compact JSON bytes Lean sends."""
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def signed(body: Any, key: str = API_KEY) -> tuple[bytes, dict[str, str]]:
    """Return the raw bytes of *body* and headers carrying their signature."""
    payload = body if isinstance(body, bytes) else encode(body)
    return payload, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(payload, key)}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until 127.0.0.1:*port* accepts connections, or fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):  # bounded in count and in time
        if time.monotonic() > deadline:
            break
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate *proc* (by its pid), escalating to kill, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


async def poll(
    check: Callable[[], bool | Awaitable[bool]], *, what: str, seconds: float = 10.0
) -> None:
    """Wait until *check* () is true, polling every 10 ms, bounded in count and in time."""
    interval = 0.01
    async with asyncio.timeout(seconds):
        for _ in range(int(seconds / interval) + 1):
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(interval)
    raise TimeoutError(f"{what} after {seconds} s")
