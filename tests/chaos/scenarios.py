"""The two end-to-end scenarios, shared by ``make chaos`` and the pytest tests.

- `payout_storm`: payouts through the proxy at a fault rate, re-run until done (or a
  bounded number of rounds), then audited against the sandbox.
- `outage`: every attempt answered 503 while a batch runs; attempts per logical call
  measure the retry amplification, which the retry budget bounds. Then the outage ends
  and the failed calls are re-run and audited.

Both use a fresh `LeanClient` (so a fresh retry budget) pointed at the proxy, and a
second client straight at the sandbox for setup and the audit.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Final

import attrs

from lean_async import LeanClient
from lean_async._config import DEFAULT_BACKEND, Backend
from lean_async.transport import RetryBudget
from tests.chaos.leaks import LeakScanner
from tests.chaos.payouts import Audit, Tally, audit, make_payouts, onboard_workers, pay_all
from tests.chaos.proxy import FaultPlan, FaultProxy
from tests.chaos.sandbox_process import SandboxProcess

__all__ = ["OutageReport", "StormReport", "outage", "payout_storm"]

# Short waits keep runs quick; the retry decisions are the SDK's defaults.
_BACKOFF_BASE: Final = 0.05
_BACKOFF_CAP: Final = 0.5


@attrs.define
class StormReport:
    """Figures of one `payout_storm`.

    Attributes:
        calls: logical calls (first calls and re-runs); ``attempts``: HTTP requests
            the proxy received for them (retries and reconciliation lookups included).
        rounds: call rounds needed (1 = no re-run needed).
        backend: the base of the client under test.
        faults: injected faults by kind.
    """

    payouts: int
    seed: int
    rate: float
    concurrency: int
    backend: Backend = DEFAULT_BACKEND
    calls: int = 0
    attempts: int = 0
    forwarded: int = 0
    rounds: int = 0
    seconds: float = 0.0
    faults: Counter[str] = attrs.field(factory=Counter)
    tally: Tally = attrs.field(factory=Tally)
    audit: Audit = attrs.field(factory=Audit)
    proxy_errors: Counter[str] = attrs.field(factory=Counter)


@attrs.define
class OutageReport:
    """Figures of one `outage`.

    Attributes:
        calls: logical calls made during the outage; ``attempts``: requests they made.
        bound: the most attempts the retry budget allows (calls + capacity / retry cost).
        rerun_rounds: rounds needed after the outage to finish every payment.
        backend: the base of the client under test.
    """

    calls: int
    backend: Backend = DEFAULT_BACKEND
    attempts: int = 0
    bound: int = 0
    seconds: float = 0.0
    rerun_rounds: int = 0
    tally: Tally = attrs.field(factory=Tally)
    audit: Audit = attrs.field(factory=Audit)

    @property
    def amplification(self) -> float:
        """Attempts per logical call during the outage."""
        return self.attempts / self.calls if self.calls else 0.0


def _client(
    url: str, api_key: str, timeout: float, backend: Backend, max_retries: int = 3
) -> LeanClient:
    return LeanClient(
        api_key=api_key,
        base_url=url,
        backend=backend,
        timeout=timeout,
        max_retries=max_retries,
        backoff_base=_BACKOFF_BASE,
        backoff_cap=_BACKOFF_CAP,
    )


async def _workers(direct: LeanClient, workers: int | Sequence[str], prefix: str) -> list[str]:
    """Onboard *workers* new ACTIVE workers, or use the given ids."""
    if isinstance(workers, int):
        return await onboard_workers(direct, workers, prefix=prefix)
    return list(workers)


async def payout_storm(
    sandbox: SandboxProcess,
    *,
    payouts: int,
    rate: float,
    seed: int,
    prefix: str,
    concurrency: int = 32,
    workers: int | Sequence[str] = 4,
    timeout: float = 1.0,
    max_retries: int = 3,
    max_rounds: int = 10,
    scanner: LeakScanner | None = None,
    backend: Backend = DEFAULT_BACKEND,
) -> StormReport:
    """Pay *payouts* mixed payouts through the proxy at fault *rate*; re-run; audit.

    *workers*: how many ACTIVE workers to onboard first, or the ids of existing ones.
    *max_retries* is the SDK's default (3) unless a test wants more calls to fail.
    *backend* is the base of the client under test (the direct, auditing one uses httpx).
    """
    report = StormReport(
        payouts=payouts, seed=seed, rate=rate, concurrency=concurrency, backend=backend
    )
    plan = FaultPlan(seed=seed, rate=rate)
    async with (
        LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as direct,
        FaultProxy(sandbox.port, plan, stall_seconds=timeout * 1.5) as proxy,
        _client(proxy.url, sandbox.api_key, timeout, backend, max_retries) as lean,
    ):
        ids = await _workers(direct, workers, prefix)
        batch = make_payouts(payouts, ids, prefix=prefix, seed=seed)
        if scanner is not None:
            scanner.inspect_object(lean)
        started = time.perf_counter()
        for _ in range(max_rounds):
            report.rounds += 1
            await pay_all(lean, batch, concurrency=concurrency, tally=report.tally, scanner=scanner)
            if all(p.done for p in batch):
                break
        report.seconds = time.perf_counter() - started
        report.calls = report.tally.calls
        report.attempts = proxy.attempts
        report.forwarded = proxy.forwarded
        report.faults = proxy.faults
        report.proxy_errors = proxy.proxy_errors
        report.audit = await audit(direct, batch)
    return report


async def outage(
    sandbox: SandboxProcess,
    *,
    calls: int,
    prefix: str,
    seed: int = 0,
    concurrency: int = 32,
    workers: int | Sequence[str] = 4,
    max_rounds: int = 5,
    backend: Backend = DEFAULT_BACKEND,
) -> OutageReport:
    """Run *calls* payouts while every attempt gets 503, then re-run them once it ends.

    *backend* is the base of the client under test (the direct, auditing one uses httpx).
    """
    report = OutageReport(calls=calls, backend=backend)
    plan = FaultPlan(seed=seed)
    budget = RetryBudget()
    report.bound = calls + budget.capacity // budget.retry_cost
    async with (
        LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as direct,
        FaultProxy(sandbox.port, plan) as proxy,
        _client(proxy.url, sandbox.api_key, 5.0, backend) as lean,
    ):
        ids = await _workers(direct, workers, prefix)
        batch = make_payouts(calls, ids, prefix=prefix, seed=seed)
        plan.outage = True
        started = time.perf_counter()
        await pay_all(lean, batch, concurrency=concurrency, tally=report.tally)
        report.seconds = time.perf_counter() - started
        report.attempts = proxy.attempts
        plan.outage = False
        for _ in range(max_rounds):
            if all(p.done for p in batch):
                break
            report.rerun_rounds += 1
            await pay_all(lean, batch, concurrency=concurrency, tally=report.tally)
        report.audit = await audit(direct, batch)
    return report
