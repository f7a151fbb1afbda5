"""Against the sandbox: a cancelled payment is retried safely by its key; a reused key is 422."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from lean_async import LeanClient, UnprocessableEntityError
from lean_async.sandbox import Sandbox
from lean_async.testing import set_testing
from tests.e2e.conftest import new_customer


class SlowAnswers(httpx.AsyncBaseTransport):
    """Lets the sandbox act on each request, then holds the answer back for *delay* seconds."""

    def __init__(self, inner: httpx.AsyncBaseTransport, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await asyncio.sleep(self.delay)
        return response


def key_from_notes(error: BaseException) -> str:
    """Return the idempotency key named in a note on *error* or on its causes."""
    cause: BaseException | None = error
    while cause is not None:
        for note in getattr(cause, "__notes__", []):
            found = re.search(r"idempotency_key='([^']+)'", note)
            if found:
                return found.group(1)
        cause = cause.__cause__
    raise AssertionError(f"no idempotency key in the notes of {error!r}")


async def test_cancelled_payment_is_retried_once_by_its_key(lean_sandbox: Sandbox) -> None:
    """A payment cancelled after it committed, re-run with its noted key, pays once."""
    set_testing(True)
    slow = SlowAnswers(lean_sandbox.transport(), delay=0.0)
    try:
        async with LeanClient(
            api_key=lean_sandbox.api_key, base_url=lean_sandbox.base_url, transport=slow
        ) as lean:
            await new_customer(lean)
            lean_sandbox.activate_customer("uid_1")
            args = {"partner_user_id": "uid_1", "amount": "12.34", "type": "bonus"}
            slow.delay = 10.0
            with pytest.raises(TimeoutError) as info:
                async with asyncio.timeout(0.1):
                    await lean.special_payments.create(**args)
            assert len(lean_sandbox.special_payments) == 1  # it reached Lean and paid
            key = key_from_notes(info.value)
            slow.delay = 0.0
            payment = await lean.special_payments.create(**args, idempotency_key=key)
    finally:
        set_testing(False)
    assert list(lean_sandbox.special_payments) == [payment.id]


async def test_key_reused_with_another_body_is_unprocessable(
    lean_client: LeanClient, lean_sandbox: Sandbox
) -> None:
    """The sandbox's 422 for a key reused with another body raises UnprocessableEntityError."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    await lean_client.special_payments.create(
        partner_user_id="uid_1", amount="1.00", type="bonus", idempotency_key="key-422"
    )
    with pytest.raises(UnprocessableEntityError) as info:
        await lean_client.special_payments.create(
            partner_user_id="uid_1", amount="2.00", type="bonus", idempotency_key="key-422"
        )
    assert info.value.status_code == 422
    assert info.value.idempotency_key == "key-422"
    assert info.value.attempts == 1
    assert len(lean_sandbox.special_payments) == 1
