"""The payout flow `lean-async demo` runs, step by step, with its checks.

The flow knows nothing of terminals: it reports each `StepResult` to a callback, and
`lean_async.cli` draws them. Against the built-in sandbox it also injects faults (a 503
burst, responses dropped after the payment was committed) and checks that the sandbox
holds exactly one payment per logical call. Given a `WebhookReceiver` (which the
sandbox delivers to over HTTP) it waits for ``customer.active``, ``gig.completed`` and
``specialpayment.completed`` there, and shows a redelivery handled once and a forged
delivery refused. Its last step pays a payroll of 1,000 gigs from a CSV file
(`lean_async.cli._demo._payroll`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
from collections.abc import Awaitable, Callable

import attrs
import httpx

from lean_async import webhooks
from lean_async._client import LeanClient
from lean_async._secrets import WebhookKeys, take_webhook_keys
from lean_async.cli._demo._payroll import PAYROLL_WORKERS, ProgressFactory, pay_payroll
from lean_async.cli._demo._receiver import WebhookReceiver
from lean_async.cli._demo._tally import Payout, Tally
from lean_async.models import Customer, EventType, Gig, PaymentStatus, SpecialPayment
from lean_async.resources._outcome import recording
from lean_async.sandbox import ConnectionReset, DropAfterCommit, Sandbox, ServerError

__all__ = ["DemoFailure", "StepResult", "run_demo"]


class DemoFailure(Exception):
    """A step's check did not hold."""


@attrs.frozen(kw_only=True)
class StepResult:
    """One step of the demo: what it did, whether it held, and how long it took."""

    name: str
    ok: bool | None  # None: skipped
    seconds: float
    detail: str


Report = Callable[[StepResult], None]


class _Flow:
    """The demo's state between steps."""

    def __init__(
        self,
        lean: LeanClient,
        sandbox: Sandbox | None,
        api_key: str | WebhookKeys,
        receiver: WebhookReceiver | None = None,
        payroll_progress: ProgressFactory | None = None,
    ) -> None:
        self.lean = lean
        self.payroll_progress = payroll_progress
        self.sandbox = sandbox
        self.webhook_keys, _ = take_webhook_keys(api_key)  # None without a key
        self.receiver = receiver
        self.run_id = secrets.token_hex(4)
        self.customer: Customer | None = None
        self.gig_ids: list[str] = []
        self.payment_ids: list[str] = []
        # Per payment id, whether a call of this run paid it (what the calls reported).
        self.created: dict[str, bool | None] = {}
        self.forged_sent = 0  # deliveries the demo forged on purpose, to be refused

    # -- the steps -------------------------------------------------------------

    async def create_customer(self) -> str:
        self.customer = await self._new_customer(f"uid_demo_{self.run_id}", "Jane")
        return f"{self.customer.partner_user_id} is {self.customer.status}"

    async def _new_customer(self, partner_user_id: str, first_name: str) -> Customer:
        digits = f"{secrets.randbelow(10**7):07d}"
        return await self.lean.customers.create(
            partner_user_id=partner_user_id,
            first_name=first_name,
            last_name="Doe",
            birthday=dt.date(1990, 5, 17),
            phone_number=f"408{digits}",
            email=f"{first_name.lower()}.{self.run_id}@example.com",
            street="700 Treehouse Drive",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date=dt.date(2024, 1, 1),
        )

    @property
    def user_id(self) -> str:
        if self.customer is None:
            raise DemoFailure("no customer was created")
        return self.customer.partner_user_id

    async def submit_application(self) -> str:
        application = await self.lean.applications.submit(self.user_id)
        return f"application {application.status}"

    async def customer_active_webhook(self) -> str:
        receiver = self._receiver()
        event = await receiver.wait_for(EventType.CUSTOMER_ACTIVE, self.user_id, timeout=10)
        customer = await self.lean.customers.wait_until_active(self.user_id, timeout=10)
        return f"{event.type} over HTTP, signature verified; customer {customer.status}"

    async def wait_until_active(self) -> str:
        customer = await self.lean.customers.wait_until_active(self.user_id, timeout=120)
        return f"customer {customer.status}"

    async def pay_gig(self) -> str:
        gig = await self._create_gig("airport run", "15.00", "3.00", "2.00")
        return f"gig {gig.gig_id}: {gig.total_amount} {gig.status}"

    async def special_payment_with_key(self) -> str:
        key = f"demo-bonus-{self.run_id}"
        first = await self._special_payment("25.00", "bonus", key)
        again = await self._special_payment("25.00", "bonus", key)
        if again.id != first.id:
            raise DemoFailure(f"the same Idempotency-Key paid twice: {first.id}, {again.id}")
        return f"{first.id}: {first.amount}; sent twice with key {key}, paid once"

    async def ride_out_503_burst(self) -> str:
        sandbox = self._sandbox()
        rule = sandbox.faults.add(
            ServerError(status=503, retry_after=0.2), route="POST /specialpayment", times=2
        )
        before = len(sandbox.special_payments)
        payment = await self._special_payment("4.56", "reimbursement", None)
        made = len(sandbox.special_payments) - before
        if rule.hits != 2 or made != 1:
            raise DemoFailure(f"{rule.hits} 503s injected, {made} payments made (want 2, 1)")
        return f"2 x 503 (Retry-After 0.2 s) then {payment.id}; 1 payment made"

    async def survive_dropped_gig(self) -> str:
        sandbox = self._sandbox()
        sandbox.faults.add(DropAfterCommit(), route="POST /gig", times=1)
        before = len(sandbox.gigs)
        gig = await self._create_gig("late-night delivery", "22.50", "4.50", "0.00")
        made = len(sandbox.gigs) - before
        if made != 1:
            raise DemoFailure(f"{made} gigs recorded for one call")
        return f"answer lost after commit; retry reconciled {gig.gig_id}; 1 gig paid"

    async def survive_dropped_payment(self) -> str:
        sandbox = self._sandbox()
        sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", times=1)
        sandbox.faults.add(ConnectionReset(), route="POST /specialpayment", times=1, skip=1)
        before = len(sandbox.special_payments)
        payment = await self._special_payment("-1.50", "correction", None)
        made = len(sandbox.special_payments) - before
        if made != 1:
            raise DemoFailure(f"{made} special payments recorded for one call")
        return f"answer lost, then a reset; same Idempotency-Key -> {payment.id}; 1 payment"

    async def settle(self) -> str:
        deadline = time.monotonic() + 10
        while True:
            gigs = [g for g in await self.lean.gigs.list() if g.gig_id in self.gig_ids]
            payments = [
                p for p in await self.lean.special_payments.list() if p.id in self.payment_ids
            ]
            paid: list[Gig | SpecialPayment] = [*gigs, *payments]
            pending = [x for x in paid if x.status is PaymentStatus.PENDING]
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        if self.sandbox is not None and pending:
            raise DemoFailure(f"{len(pending)} payments still PENDING")
        return f"{len(gigs) + len(payments) - len(pending)} settled, {len(pending)} pending"

    async def completed_webhooks(self) -> str:
        receiver = self._receiver()
        expected = [(EventType.GIG_COMPLETED, gig_id) for gig_id in self.gig_ids]
        expected += [(EventType.SPECIALPAYMENT_COMPLETED, p_id) for p_id in self.payment_ids]
        async with asyncio.timeout(10):
            for kind, object_id in expected:
                await receiver.wait_for(kind, object_id, timeout=10)
        return (
            f"{len(self.gig_ids)} x {EventType.GIG_COMPLETED}, "
            f"{len(self.payment_ids)} x {EventType.SPECIALPAYMENT_COMPLETED}; each verified"
        )

    async def redelivery_and_forgery(self) -> str:
        receiver = self._receiver()
        event = await receiver.wait_for(EventType.CUSTOMER_ACTIVE, self.user_id, timeout=10)
        body = json.dumps(event.raw, separators=(",", ":")).encode("utf-8")
        runs = sum(1 for e in receiver.processed if e.id == event.id)
        async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
            again = await self._post_signed(http, body, self.webhook_keys or "sk_no_key")
            self.forged_sent += 1
            forged = await self._post_signed(http, body, "sk_not_the_key")
        runs_after = sum(1 for e in receiver.processed if e.id == event.id)
        if again.json().get("status") != "duplicate" or runs_after != runs:
            raise DemoFailure(f"a redelivered event ran the handler again: {again.text}")
        if forged.status_code != 401:
            raise DemoFailure(f"a forged delivery got {forged.status_code}, want 401")
        return f"{event.id} sent again -> 200 duplicate (handler ran once); forged -> 401"

    async def pay_a_payroll(self) -> str:
        sandbox = self._sandbox()
        if self.receiver is not None:
            # 1,000 gig.completed deliveries would bury the demo's output; the webhook
            # steps above have shown delivery already.
            sandbox.unregister_webhook(self.receiver.url)
        workers = [self.user_id]
        for name in _PAYROLL_NAMES[: PAYROLL_WORKERS - 1]:
            customer = await self._new_customer(f"uid_demo_{self.run_id}_{name.lower()}", name)
            sandbox.activate_customer(customer.partner_user_id)
            workers.append(customer.partner_user_id)
        return await pay_payroll(
            self.lean,
            sandbox,
            workers,
            prefix=f"payroll_{self.run_id}",
            progress=self.payroll_progress,
        )

    # -- helpers -----------------------------------------------------------------

    async def _post_signed(
        self, http: httpx.AsyncClient, body: bytes, key: str | WebhookKeys
    ) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            webhooks.SIGNATURE_HEADER: webhooks.sign(body, key),
        }
        return await http.post(self._receiver().url, content=body, headers=headers)

    def unexpected_rejections(self) -> list[str]:
        """Why deliveries the demo did not forge were refused by the receiver."""
        if self.receiver is None:
            return []
        refused = [a for a in self.receiver.arrivals if a.outcome == "rejected"]
        if len(refused) <= self.forged_sent:
            return []
        return [f"{a.status_code} {a.reason}" for a in refused]

    def _record(self, payment_id: str, created: bool | None) -> None:
        """Note a call's outcome: paid by this run once any of its calls paid it."""
        before = self.created.get(payment_id, False)
        if before is not True:  # True stays; unsure (None) outweighs "already there"
            self.created[payment_id] = before if created is False else created

    def _sandbox(self) -> Sandbox:
        if self.sandbox is None:
            raise _Skip("fault injection needs the built-in sandbox")
        return self.sandbox

    def _receiver(self) -> WebhookReceiver:
        if self.receiver is None:
            raise _Skip("webhooks need a receiver the target can reach (the built-in sandbox)")
        return self.receiver

    async def _create_gig(self, description: str, total: str, tips: str, expenses: str) -> Gig:
        gig_id = f"gig_demo_{self.run_id}_{len(self.gig_ids) + 1}"
        end = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with recording() as outcome:
            gig = await self.lean.gigs.create(
                partner_user_id=self.user_id,
                gig_id=gig_id,
                total_amount=total,
                tips=tips,
                expenses=expenses,
                description=description,
                start_time=end - dt.timedelta(minutes=35),
                end_time=end,
            )
        self._record(gig.gig_id, outcome.created)
        self.gig_ids.append(gig.gig_id)
        return gig

    async def _special_payment(self, amount: str, kind: str, key: str | None) -> SpecialPayment:
        with recording() as outcome:
            payment = await self.lean.special_payments.create(
                partner_user_id=self.user_id,
                amount=amount,
                type=kind,
                description=f"demo {kind}",
                idempotency_key=key,
            )
        self._record(payment.id, outcome.created)
        if payment.id not in self.payment_ids:
            self.payment_ids.append(payment.id)
        return payment


_PAYROLL_NAMES = ("Amir", "Bea", "Chen", "Dana", "Eli")


class _Skip(Exception):
    """The step does not apply to this target."""


async def _run_step(name: str, step: Callable[[], Awaitable[str]], report: Report) -> StepResult:
    started = time.perf_counter()
    try:
        detail = await step()
        ok: bool | None = True
    except _Skip as skip:
        detail, ok = str(skip), None
    except Exception as exc:  # a demo reports every failure instead of crashing
        detail, ok = f"{type(exc).__name__}: {exc}", False
    result = StepResult(name=name, ok=ok, seconds=time.perf_counter() - started, detail=detail)
    report(result)
    return result


async def run_demo(
    lean: LeanClient,
    sandbox: Sandbox | None,
    api_key: str | WebhookKeys,
    report: Report,
    *,
    receiver: WebhookReceiver | None = None,
    payroll_progress: ProgressFactory | None = None,
) -> tuple[list[StepResult], Tally]:
    """Run the whole payout flow; return every step's result and what was paid.

    Args:
        lean: the client, pointed at the sandbox or at a Lean environment.
        sandbox: the in-process sandbox behind *lean*, or None for a remote target
            (the fault steps are then skipped).
        api_key: the key webhooks are signed with.
        report: called with each step's result as soon as it is known.
        receiver: a running receiver the target delivers webhooks to, or None
            (the webhook steps are then skipped).
        payroll_progress: makes the progress display of the payroll step, or None.
    """
    flow = _Flow(lean, sandbox, api_key, receiver, payroll_progress)
    steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("Create a customer", flow.create_customer),
        ("Submit the application", flow.submit_application),
        (
            "Receive customer.active",
            flow.customer_active_webhook if receiver is not None else flow.wait_until_active,
        ),
        ("Pay a gig", flow.pay_gig),
        ("Special payment + Idempotency-Key", flow.special_payment_with_key),
        ("Ride out a 503 burst", flow.ride_out_503_burst),
        ("Dropped answer on a gig", flow.survive_dropped_gig),
        ("Dropped answer on a payment", flow.survive_dropped_payment),
        ("Payments settle", flow.settle),
        ("Receive the completed webhooks", flow.completed_webhooks),
        ("Redelivered and forged webhooks", flow.redelivery_and_forgery),
        ("Pay a payroll (gigs import)", flow.pay_a_payroll),
    ]
    results: list[StepResult] = []
    for name, step in steps:
        result = await _run_step(name, step, report)
        results.append(result)
        if result.ok is False and flow.customer is None:
            break  # nothing later can work without the customer
    refused = flow.unexpected_rejections()
    if refused:
        results.append(
            StepResult(
                name="Webhook signatures",
                ok=False,
                seconds=0.0,
                detail="deliveries refused by the receiver: " + "; ".join(refused),
            )
        )
        report(results[-1])
    return results, await _tally(flow)


async def _tally(flow: _Flow) -> Tally:
    if flow.customer is None:
        return Tally()
    try:
        gigs = await flow.lean.gigs.list()
        payments = await flow.lean.special_payments.list()
    except Exception:  # the tally is best-effort; the steps already reported failures
        return Tally()
    rows = [
        Payout(
            kind="gig",
            id=g.gig_id,
            partner_user_id=g.partner_user_id or flow.user_id,
            amount=g.total_amount,
            status=str(g.status),
            created=flow.created.get(g.gig_id),
        )
        for g in gigs
        if g.gig_id in flow.gig_ids
    ]
    rows += [
        Payout(
            kind=str(p.type),
            id=p.id,
            partner_user_id=p.partner_user_id,
            amount=p.amount,
            status=str(p.status),
            created=flow.created.get(p.id),
        )
        for p in payments
        if p.id in flow.payment_ids
    ]
    return Tally(tuple(rows))
