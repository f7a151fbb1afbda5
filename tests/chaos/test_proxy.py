"""The proxy itself, and one of each fault kind survived through it with exactly one payment."""

from __future__ import annotations

import itertools
from collections import Counter

import httpx
import pytest

from lean_async import LeanClient
from lean_async._config import Backend
from tests.chaos.payouts import Tally, audit, make_payouts, pay_all
from tests.chaos.proxy import ALL_KINDS, FaultKind, FaultPlan, FaultProxy
from tests.chaos.sandbox_process import SandboxProcess

_runs = itertools.count()
_ROUTES = {"gig": "POST /api/gig", "special": "POST /api/specialpayment"}


def test_fault_plan_is_seeded_and_keeps_its_rate() -> None:
    """One seed gives one sequence of decisions, at the requested rate."""
    first = FaultPlan(seed=3, rate=0.3)
    second = FaultPlan(seed=3, rate=0.3)
    decisions = [first.decide("POST", "/api/gig") for _ in range(5000)]
    assert decisions == [second.decide("POST", "/api/gig") for _ in range(5000)]
    faulted = [d for d in decisions if d is not None]
    assert 0.27 < len(faulted) / len(decisions) < 0.33
    assert set(faulted) == set(ALL_KINDS)


def test_forced_fault_waits_for_its_route() -> None:
    """A forced kind goes to the next attempt on its route, once."""
    plan = FaultPlan()
    plan.force(FaultKind.TRUNCATED, "POST /api/gig")
    assert plan.decide("GET", "/api/gig") is None
    assert plan.decide("POST", "/api/gig") is FaultKind.TRUNCATED
    assert plan.decide("POST", "/api/gig") is None


async def test_proxy_keeps_connections_alive(sandbox: SandboxProcess) -> None:
    """Sequential requests from httpx share one keep-alive connection through the proxy."""
    async with (
        FaultProxy(sandbox.port, FaultPlan()) as proxy,
        httpx.AsyncClient(auth=(sandbox.api_key, "")) as http,
    ):
        statuses = [(await http.get(f"{proxy.url}/gig")).status_code for _ in range(5)]
        posted = await http.post(f"{proxy.url}/gig", json={"gigId": ""})
    assert statuses == [200] * 5
    assert posted.status_code == 400
    assert (proxy.connections, proxy.attempts, proxy.forwarded) == (1, 6, 6)


async def test_outage_answers_503_without_forwarding(sandbox: SandboxProcess) -> None:
    """During an outage every API attempt gets 503 and nothing reaches the sandbox."""
    plan = FaultPlan()
    plan.outage = True
    async with (
        FaultProxy(sandbox.port, plan) as proxy,
        httpx.AsyncClient(auth=(sandbox.api_key, "")) as http,
    ):
        response = await http.get(f"{proxy.url}/gig")
    assert response.status_code == 503
    assert (proxy.attempts, proxy.forwarded, proxy.faults) == (1, 0, Counter(outage=1))


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.value)
@pytest.mark.parametrize("resource", ["gig", "special"])
async def test_each_fault_kind_pays_exactly_once(
    sandbox: SandboxProcess, workers: list[str], kind: FaultKind, resource: str, backend: Backend
) -> None:
    """One fault of each kind on a payment's first attempt: retried, paid once, answer kept."""
    prefix = f"kind{next(_runs)}"
    plan = FaultPlan()
    async with (
        LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as direct,
        FaultProxy(sandbox.port, plan, stall_seconds=0.8, retry_after="0") as proxy,
        LeanClient(
            api_key=sandbox.api_key,
            base_url=proxy.url,
            timeout=0.5,
            backoff_base=0.01,
            backend=backend,
        ) as lean,
    ):
        payouts = [p for p in make_payouts(6, workers, prefix=prefix) if p.kind == resource][:1]
        plan.force(kind, _ROUTES[resource])
        tally = Tally()
        await pay_all(lean, payouts, concurrency=1, tally=tally)
        result = await audit(direct, payouts)
    assert proxy.faults == Counter({kind.value: 1})
    assert proxy.forwarded == proxy.attempts - (0 if kind.forwards else 1)
    assert (tally.calls, dict(tally.errors), dict(tally.undocumented)) == (1, {}, {})
    assert (result.duplicates, result.lost, result.wrong, result.held) == (0, 0, 0, 1)
