"""The payout workload: mixed gigs and special payments, re-runs as the README says, an audit.

A `Payout` is one logical payment. `pay_all` makes one call per unfinished payout at a
given concurrency; callers run it again on the failures, the way the README tells users
to retry: a gig with the same ``gig_id``, a special payment with
``idempotency_key=error.idempotency_key`` (or the caller's own key when it chose one).
`audit` then compares the payouts with what the sandbox holds: each logical payment must
exist exactly once, with the amount that was asked for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from lean_async import LeanClient, errors
from lean_async.errors import APIError, LeanError
from tests.chaos.leaks import LeakScanner

__all__ = ["Audit", "Payout", "Tally", "audit", "make_payouts", "onboard_workers", "pay_all"]

_START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
DOCUMENTED_ERRORS: frozenset[type[BaseException]] = frozenset(
    obj
    for name in errors.__all__
    if isinstance(obj := getattr(errors, name), type) and issubclass(obj, LeanError)
)


@attrs.define
class Payout:
    """One logical payment and what became of it.

    Attributes:
        tag: unique in the run; the gig id, or ``userdata["payout"]`` of a special payment.
        kind: ``"gig"`` or ``"special"``.
        kwargs: the create() arguments, without ``idempotency_key``.
        key: the special payment's idempotency key: the caller's own from the start,
            or the one a failed call reported (``error.idempotency_key``).
        paid_id: the id the SDK returned on success.
        calls: logical calls made for it (first call plus re-runs).
    """

    tag: str
    kind: str
    kwargs: dict[str, Any]
    amount: Decimal
    key: str | None = None
    paid_id: str | None = None
    calls: int = 0

    @property
    def done(self) -> bool:
        """Whether a call returned the payment."""
        return self.paid_id is not None


@attrs.define
class Tally:
    """What the calls of a run saw.

    Attributes:
        calls: logical calls made.
        errors: documented `lean_async.errors` exceptions, by class name.
        undocumented: any other exception, by ``"<class>: <message>"``.
        keyless_reruns: special payments re-run without a key because the error had none.
    """

    calls: int = 0
    errors: Counter[str] = attrs.field(factory=Counter)
    undocumented: Counter[str] = attrs.field(factory=Counter)
    keyless_reruns: int = 0


def make_payouts(count: int, workers: Sequence[str], *, prefix: str, seed: int = 0) -> list[Payout]:
    """Return *count* payouts, about half gigs and half special payments, to *workers*.

    Half of the special payments carry the caller's own idempotency key; the others rely
    on the SDK's and are re-run with the key their error reports.
    """
    rng = random.Random(seed)
    payouts = []
    for i in range(count):
        worker = workers[i % len(workers)]
        tag = f"{prefix}-{i}"
        cents = rng.randint(100, 99_999)
        amount = Decimal(cents).scaleb(-2)
        if rng.random() < 0.5:
            start = _START + dt.timedelta(minutes=i)
            kwargs: dict[str, Any] = {
                "partner_user_id": worker,
                "gig_id": tag,
                "total_amount": amount,
                "tips": Decimal("0.50"),
                "expenses": Decimal("0.25"),
                "description": f"chaos gig {tag}",
                "start_time": start,
                "end_time": start + dt.timedelta(minutes=30),
            }
            payouts.append(Payout(tag=tag, kind="gig", kwargs=kwargs, amount=amount))
        else:
            kwargs = {
                "partner_user_id": worker,
                "amount": amount,
                "type": rng.choice(["bonus", "reimbursement", "wait time"]),
                "description": f"chaos payment {tag}",
                "userdata": {"payout": tag},
            }
            own_key = f"key-{tag}" if rng.random() < 0.5 else None
            payouts.append(
                Payout(tag=tag, kind="special", kwargs=kwargs, amount=amount, key=own_key)
            )
    return payouts


async def onboard_workers(lean: LeanClient, count: int, *, prefix: str) -> list[str]:
    """Create *count* customers, submit their applications and wait until they are ACTIVE."""
    ids = [f"{prefix}-w{n}" for n in range(count)]
    for n, uid in enumerate(ids):
        digits = f"{zlib.crc32(prefix.encode()) % 10**5:05d}{n:05d}"
        await lean.customers.create(
            partner_user_id=uid,
            first_name="Chaos",
            last_name="Worker",
            birthday=dt.date(1990, 1, 1),
            phone_number=digits,
            email=f"w{n}.{zlib.crc32(prefix.encode())}@example.com",
            street="1 Fault Lane",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date=dt.date(2024, 1, 1),
        )
        await lean.applications.submit(uid)
    for uid in ids:
        await lean.customers.wait_until_active(uid, timeout=30.0)
    return ids


async def _pay_one(
    lean: LeanClient, payout: Payout, tally: Tally, scanner: LeakScanner | None
) -> None:
    payout.calls += 1
    tally.calls += 1
    try:
        if payout.kind == "gig":
            gig = await lean.gigs.create(**payout.kwargs)
            payout.paid_id = gig.gig_id
            result: object = gig
        else:
            payment = await lean.special_payments.create(
                **payout.kwargs, idempotency_key=payout.key
            )
            payout.paid_id = payment.id
            result = payment
        if scanner is not None:
            scanner.inspect_object(result)
    except Exception as exc:
        if type(exc) in DOCUMENTED_ERRORS:
            tally.errors[type(exc).__name__] += 1
        else:
            tally.undocumented[f"{type(exc).__name__}: {exc}"[:200]] += 1
        if scanner is not None:
            scanner.inspect_error(exc)
        if payout.kind == "special" and payout.key is None:
            # The README's rule: retry with idempotency_key=error.idempotency_key.
            key = exc.idempotency_key if isinstance(exc, APIError) else None
            if key is None:
                tally.keyless_reruns += 1
            payout.key = key


async def pay_all(
    lean: LeanClient,
    payouts: Iterable[Payout],
    *,
    concurrency: int,
    tally: Tally,
    scanner: LeakScanner | None = None,
) -> None:
    """Make one call for every payout not yet done, *concurrency* at a time."""
    queue = [p for p in payouts if not p.done]
    semaphore = asyncio.Semaphore(concurrency)

    async def bounded(payout: Payout) -> None:
        async with semaphore:
            await _pay_one(lean, payout, tally, scanner)

    async with asyncio.TaskGroup() as group:
        for payout in queue:
            group.create_task(bounded(payout))


@attrs.define
class Audit:
    """The payouts checked against the sandbox's own lists.

    Attributes:
        duplicates: extra copies of a logical payment (a payment held n times adds n - 1).
        lost: logical payments the sandbox does not hold at all.
        unfinished: payouts whose last call still failed (the caller knows; not lost
            unless the sandbox lacks them too).
        wrong: payments held once but with another amount or worker than was asked, or
            whose id differs from the one the SDK returned.
    """

    duplicates: int = 0
    lost: int = 0
    unfinished: int = 0
    wrong: int = 0
    held: int = 0


async def audit(direct: LeanClient, payouts: Sequence[Payout]) -> Audit:
    """Compare *payouts* with ``GET /gig`` and ``GET /specialpayment`` of the sandbox."""
    gigs: dict[str, list[Any]] = {}
    for gig in await direct.gigs.list():
        gigs.setdefault(gig.gig_id, []).append(gig)
    specials: dict[str, list[Any]] = {}
    for payment in await direct.special_payments.list():
        tag = (payment.userdata or {}).get("payout")
        if isinstance(tag, str):
            specials.setdefault(tag, []).append(payment)
    result = Audit()
    for payout in payouts:
        if payout.kind == "gig":
            held = gigs.get(payout.tag, [])
            same = [g for g in held if g.total_amount == payout.amount]
            ids = {g.gig_id for g in held}
        else:
            held = specials.get(payout.tag, [])
            same = [
                p
                for p in held
                if p.amount == payout.amount
                and p.partner_user_id == payout.kwargs["partner_user_id"]
            ]
            ids = {p.id for p in held}
        result.held += len(held)
        if not held:
            result.lost += 1
        result.duplicates += max(0, len(held) - 1)
        if held and (len(same) != len(held) or (payout.done and payout.paid_id not in ids)):
            result.wrong += 1
        if not payout.done:
            result.unfinished += 1
    return result
