"""The demo flow, its webhook receiver and its tally."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import httpx
import pytest

from lean_async import LeanClient
from lean_async._payroll import Summary
from lean_async.cli._demo import Payout, StepResult, Tally, WebhookReceiver, run_demo
from lean_async.cli._demo._payroll import PayrollFailure, pay_payroll
from lean_async.models import EventType
from lean_async.sandbox import DeliveryAttemptOutcome, ManualClock, Sandbox
from lean_async.testing import signed_delivery
from tests.reference import REFERENCE_CUSTOMER

KEY = "sk_demo_test"
EVENT = {
    "id": "evt_1",
    "event": "customer.active",
    "createdAt": "2024-01-01T00:00:00Z",
    "data": {**REFERENCE_CUSTOMER, "partnerUserId": "uid_1"},
}


async def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as http:
        return await http.post(url, content=body, headers=headers)


async def test_receiver_verifies_and_deduplicates_over_http() -> None:
    """A signed event runs the handler once; sent again it is a duplicate; forged it is 401."""
    async with WebhookReceiver(KEY) as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        body, headers = signed_delivery(EVENT, KEY)
        first = await _post(receiver.url, body, headers)
        again = await _post(receiver.url, body, headers)
        forged_body, forged_headers = signed_delivery(EVENT, "sk_forger")
        forged = await _post(receiver.url, forged_body, forged_headers)
        event = await receiver.wait_for(EventType.CUSTOMER_ACTIVE, "uid_1", timeout=1)
    assert (first.status_code, again.status_code, forged.status_code) == (200, 200, 401)
    assert [e.id for e in receiver.processed] == ["evt_1"]
    assert event.id == "evt_1"
    assert [(a.outcome, a.event_type) for a in receiver.arrivals] == [
        ("processed", "customer.active"),
        ("duplicate", "customer.active"),
        ("rejected", None),
    ]
    assert receiver.arrivals[2].reason == "signature_mismatch"


async def test_receiver_reports_each_arrival_and_times_out() -> None:
    """The callback sees every answer; waiting for an event that never comes times out."""
    seen: list[int] = []
    async with WebhookReceiver(KEY, on_arrival=lambda a: seen.append(a.status_code)) as receiver:
        body, headers = signed_delivery(EVENT, KEY)
        await _post(receiver.url, body, headers)
        with pytest.raises(TimeoutError):
            await receiver.wait_for(EventType.GIG_COMPLETED, "uid_1", timeout=0.05)
    assert seen == [200]


def test_receiver_has_no_url_until_started() -> None:
    """Asking a receiver that is not running for its URL is an error, not a wrong URL."""
    with pytest.raises(RuntimeError, match="not running"):
        _ = WebhookReceiver(KEY).url


async def test_forged_deliveries_fail_the_demo() -> None:
    """A delivery the receiver refused, and the demo did not forge itself, fails the demo."""
    reported: list[StepResult] = []
    async with (
        Sandbox(clock=ManualClock()) as sandbox,
        WebhookReceiver(sandbox.api_key) as receiver,
        LeanClient(
            api_key="sk_wrong", base_url=sandbox.base_url, transport=sandbox.transport()
        ) as lean,
    ):
        body, headers = signed_delivery(EVENT, "sk_forger")
        assert (await _post(receiver.url, body, headers)).status_code == 401
        results, _ = await run_demo(
            lean, sandbox, sandbox.api_key, reported.append, receiver=receiver
        )
    assert reported == results
    assert (results[-1].name, results[-1].ok) == ("Webhook signatures", False)
    assert "401 signature_mismatch" in results[-1].detail


async def test_a_failing_first_step_stops_the_flow() -> None:
    """With a wrong key nothing can be created: one failed step, an empty tally."""
    reported: list[StepResult] = []
    async with (
        Sandbox(clock=ManualClock()) as sandbox,
        LeanClient(
            api_key="sk_wrong", base_url=sandbox.base_url, transport=sandbox.transport()
        ) as lean,
    ):
        results, tally = await run_demo(lean, sandbox, sandbox.api_key, reported.append)
    assert [r.ok for r in results] == [False]
    assert "AuthenticationError" in results[0].detail
    assert reported == results
    assert tally == Tally()


async def test_webhooks_travel_over_http_to_the_receiver() -> None:
    """The full flow: every webhook goes over HTTP to the receiver, verified, and all steps hold."""
    reported: list[StepResult] = []
    async with (
        WebhookReceiver(KEY) as receiver,
        Sandbox(api_key=KEY, approval_delay=0.2, settle_delay=0.2) as sandbox,
        LeanClient(
            api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport(), backoff_base=0.05
        ) as lean,
    ):
        sandbox.register_webhook(receiver.url)
        results, tally = await run_demo(lean, sandbox, KEY, reported.append, receiver=receiver)
    assert [r.name for r in results if r.ok is not True] == []
    # The demo forges one delivery on purpose: refused, and not held against the run.
    assert [a.status_code for a in receiver.arrivals if a.outcome == "rejected"] == [401]
    assert results[-1].name == "Pay a payroll (gigs import)"
    assert re.search(
        r"^1000 gigs \(\d+\.\d\d\) to 5 workers: 1000 paid, 0 already there, 0 failed; "
        r"5 x 503 ridden out; \d+ req/s$",
        results[-1].detail,
    )
    assert {d.destination for d in sandbox.deliveries} == {receiver.url}
    assert all(d.outcome is DeliveryAttemptOutcome.DELIVERED for d in sandbox.deliveries)
    processed = [e.type for e in receiver.processed]
    assert processed.count(EventType.CUSTOMER_ACTIVE) == 1
    assert processed.count(EventType.GIG_COMPLETED) == 2
    assert processed.count(EventType.SPECIALPAYMENT_COMPLETED) == 3
    assert (len(tally.payouts), tally.paid_out) == (4, Decimal("67.06"))
    assert (len(tally.deductions), tally.deducted) == (1, Decimal("-1.50"))
    assert tally.net == Decimal("65.56")


def _row(amount: str, status: str = "SUCCESS") -> Payout:
    return Payout(
        kind="x", id=amount, partner_user_id="uid_1", amount=Decimal(amount), status=status
    )


def test_tally_keeps_deductions_apart_from_payouts() -> None:
    """A negative correction is a deduction, not a payout; a FAILED payment counts nowhere."""
    tally = Tally((_row("15.00"), _row("-1.50"), _row("4.56"), _row("9.99", "FAILED")))
    assert [r.amount for r in tally.payouts] == [Decimal("15.00"), Decimal("4.56")]
    assert [r.amount for r in tally.deductions] == [Decimal("-1.50")]
    assert (tally.paid_out, tally.deducted, tally.net) == (
        Decimal("19.56"),
        Decimal("-1.50"),
        Decimal("18.06"),
    )
    assert tally.workers == ["uid_1"]
    assert json.dumps(str(Tally().net)) == '"0.00"'


class _Recorder:
    """A progress display that keeps what it was shown."""

    def __init__(self) -> None:
        self.opened: list[tuple[int, str]] = []
        self.done: list[int] = []

    @contextmanager
    def factory(self, total: int, label: str) -> Iterator[_Recorder]:
        self.opened.append((total, label))
        yield self

    def update(self, summary: Summary) -> None:
        self.done.append(summary.done)


async def _workers(lean: LeanClient, sandbox: Sandbox, active: int, inactive: int = 0) -> list[str]:
    ids = []
    for n in range(active + inactive):
        customer = await lean.customers.create(
            partner_user_id=f"uid_{n}",
            first_name="Jane",
            last_name="Doe",
            birthday=dt.date(1990, 1, 1),
            phone_number=f"40855500{n:02d}",
            email=f"jane{n}@example.com",
            street="1 Main Street",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date=dt.date(2024, 1, 1),
        )
        if n < active:
            sandbox.activate_customer(customer.partner_user_id)
        ids.append(customer.partner_user_id)
    return ids


async def test_the_payroll_step_pays_every_row_once_through_a_503_burst() -> None:
    """The payroll is checked, paid with progress shown, and the sandbox holds one gig per row."""
    recorder = _Recorder()
    async with (
        Sandbox(api_key=KEY) as sandbox,
        LeanClient(
            api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport(), backoff_base=0.01
        ) as lean,
    ):
        workers = await _workers(lean, sandbox, 3)
        detail = await pay_payroll(
            lean, sandbox, workers, prefix="p", count=200, progress=recorder.factory
        )
        gigs = [g for g in sandbox.gigs.values() if g.gig_id.startswith("p-")]
    assert re.fullmatch(
        r"200 gigs \(\d+\.\d\d\) to 3 workers: 200 paid, 0 already there, 0 failed; "
        r"5 x 503 ridden out; \d+ req/s",
        detail,
    )
    assert len(gigs) == 200
    assert {g.partner_user_id for g in gigs} == set(workers)
    assert recorder.opened == [(200, "Paying payroll.csv")]
    assert recorder.done == list(range(1, 201))


async def test_the_payroll_step_fails_when_a_row_is_not_paid() -> None:
    """A worker who cannot be paid makes the step fail, saying how many rows failed."""
    async with (
        Sandbox(api_key=KEY) as sandbox,
        LeanClient(
            api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport(), backoff_base=0.01
        ) as lean,
    ):
        workers = await _workers(lean, sandbox, 1, inactive=1)
        with pytest.raises(PayrollFailure, match="10 rows failed"):
            await pay_payroll(lean, sandbox, workers, prefix="p", count=20)
