"""create_many against the sandbox: faults, bad items, re-runs and clean early exits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lean_async import APIError, BatchResult, LeanClient, ValidationError
from lean_async._config import Backend
from lean_async.sandbox import (
    ConnectionReset,
    DropAfterCommit,
    Latency,
    ManualClock,
    Sandbox,
    ServerError,
    running_server,
)
from lean_async.testing import set_testing
from lean_async.transport import AiohttpTransport
from tests.e2e.conftest import gig_args, new_customer

FAULTS = (
    DropAfterCommit(),
    ServerError(status=503),
    ConnectionReset(),
    ServerError(status=502, after_commit=True),
    ServerError(status=500),
)


def payment_args(n: int) -> dict[str, Any]:
    """A bonus of 1.00 + n cents to uid_1 (amounts repeat every 100 items)."""
    return {"partner_user_id": "uid_1", "amount": f"1.{n % 100:02d}", "type": "bonus"}


def add_faults(sandbox: Sandbox, route: str, count: int = 30, every: int = 6) -> None:
    """Arm *count* one-shot faults on *route*, one every *every* requests, cycling kinds."""
    for k, fault in zip(range(count), itertools.cycle(FAULTS), strict=False):
        sandbox.faults.add(fault, route=route, skip=k * every)


async def run(results: AsyncIterator[BatchResult[Any]]) -> list[BatchResult[Any]]:
    """Return every result of a batch, sorted by index."""
    return sorted([r async for r in results], key=lambda r: r.index)


@pytest.fixture
async def active(lean_client: LeanClient, lean_sandbox: Sandbox) -> LeanClient:
    """The plugin's client with an ACTIVE customer uid_1."""
    await new_customer(lean_client)
    lean_sandbox.activate_customer("uid_1")
    return lean_client


async def test_200_gigs_under_faults_paid_once_and_rerun_pays_nothing(
    active: LeanClient, lean_sandbox: Sandbox
) -> None:
    """200 gigs through resets, drops and 5xx: one result each, 200 gigs; a re-run adds none."""
    add_faults(lean_sandbox, "POST /gig")
    items = [gig_args(n) for n in range(200)]
    first = await run(active.gigs.create_many(items))
    assert [r.index for r in first] == list(range(200))
    assert all(r.ok for r in first), [r.error for r in first if r.error]
    assert sorted(lean_sandbox.gigs) == sorted(f"gig_{n}" for n in range(200))
    assert lean_sandbox.faults.rules == ()  # every fault fired

    add_faults(lean_sandbox, "POST /gig")
    again = await run(active.gigs.create_many(iter(items)))
    assert all(r.ok for r in again)
    assert [r.value.id for r in again] == [r.value.id for r in first]
    assert len(lean_sandbox.gigs) == 200
    assert lean_sandbox.faults.rules == ()


async def test_200_payments_under_faults_paid_once_and_rerun_pays_nothing(
    active: LeanClient, lean_sandbox: Sandbox
) -> None:
    """200 special payments through faults: 200 payments; the same batch_id again adds none."""
    add_faults(lean_sandbox, "POST /specialpayment")
    # Items n and n + 100 are identical bonuses: two payments, told apart by their index.
    items = [payment_args(n) for n in range(200)]
    first = await run(active.special_payments.create_many(items, batch_id="payroll-1"))
    assert [r.index for r in first] == list(range(200))
    assert all(r.ok for r in first), [r.error for r in first if r.error]
    assert sorted(lean_sandbox.special_payments) == sorted(r.value.id for r in first)
    assert lean_sandbox.faults.rules == ()

    add_faults(lean_sandbox, "POST /specialpayment")
    again = await run(active.special_payments.create_many(items, batch_id="payroll-1"))
    assert [r.value.id for r in again] == [r.value.id for r in first]
    assert len(lean_sandbox.special_payments) == 200
    assert lean_sandbox.faults.rules == ()


async def test_rerun_recovers_payments_whose_answers_were_all_lost(
    active: LeanClient, lean_sandbox: Sandbox
) -> None:
    """Payments paid but answered by no attempt fail the first run; the re-run returns them."""
    lean_sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", times=4)
    items = [payment_args(n) for n in range(10)]
    first = await run(active.special_payments.create_many(items, concurrency=1, batch_id="b"))
    assert isinstance(first[0].error, APIError)
    assert [r.ok for r in first] == [False] + [True] * 9
    assert len(lean_sandbox.special_payments) == 10  # the lost one was paid all the same

    again = await run(active.special_payments.create_many(items, batch_id="b"))
    assert all(r.ok for r in again)
    assert sorted(lean_sandbox.special_payments) == sorted(r.value.id for r in again)


async def test_rerun_without_batch_id_is_not_protected(
    active: LeanClient, lean_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Without batch_id or own keys a re-run pays again, as the docs and the WARNING say."""
    items = [payment_args(n) for n in range(5)]
    await run(active.special_payments.create_many(items))
    await run(active.special_payments.create_many(items))
    assert len(lean_sandbox.special_payments) == 10
    assert sum("may pay it twice" in r.getMessage() for r in caplog.records) == 2


async def test_bad_items_interleaved(active: LeanClient, lean_sandbox: Sandbox) -> None:
    """Every fifth item is bad: those yield ValidationError, the others are paid."""
    bad: list[Any] = [
        "gig_x",
        gig_args(0, tips="20.00"),
        gig_args(0, gig_id=None),
        {**gig_args(0), "unknown": 1},
        {k: v for k, v in gig_args(0).items() if k != "end_time"},
    ]
    items = [bad[(n // 5) % 5] if n % 5 == 4 else gig_args(n) for n in range(60)]
    results = await run(active.gigs.create_many(items))
    failed = [r.index for r in results if not r.ok]
    assert failed == [n for n in range(60) if n % 5 == 4]
    assert all(isinstance(r.error, ValidationError) for r in results if not r.ok)
    assert sorted(lean_sandbox.gigs) == sorted(f"gig_{n}" for n in range(60) if n % 5 != 4)


def established_to(port: int) -> int:
    """Count this machine's ESTABLISHED IPv4 TCP connections whose remote port is *port*."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
            count += 1
    return count


class Counting(httpx.AsyncBaseTransport):
    """Wraps a transport, counting requests that entered and have not come back."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        try:
            return await self.inner.handle_async_request(request)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="counts sockets in /proc")
def pooled_base(backend: Backend, max_connections: int) -> httpx.AsyncBaseTransport:
    """The base transport *backend* pools connections with, limited to *max_connections*."""
    if backend == "aiohttp":
        return AiohttpTransport(max_connections=max_connections)
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=max_connections))


@pytest.mark.parametrize("stop", ["break", "cancel"])
async def test_early_exit_over_sockets_leaves_no_task_or_connection(
    stop: str, backend: Backend
) -> None:
    """Breaking out of, or cancelling, a batch over real sockets closes its busy connections.

    Run on each backend's base, wrapped to count the requests in flight.
    """
    set_testing(True)
    before = asyncio.all_tasks()
    try:
        async with Sandbox(clock=ManualClock()) as sandbox, running_server(sandbox) as url:
            port = httpx.URL(url).port
            assert port is not None
            counting = Counting(pooled_base(backend, 4))
            async with LeanClient(
                api_key=sandbox.api_key, base_url=url, transport=counting
            ) as lean:
                await new_customer(lean)
                sandbox.activate_customer("uid_1")
                # The first gig answers at once, every later one only after 0.5 s.
                sandbox.faults.add(Latency(0.5), route="POST /gig", skip=1, times=None)
                items = (gig_args(n) for n in range(1000))
                if stop == "break":
                    async with contextlib.aclosing(
                        lean.gigs.create_many(items, concurrency=4)
                    ) as results:
                        async for _result in results:
                            break
                else:
                    task = asyncio.create_task(run(lean.gigs.create_many(items, concurrency=4)))
                    await asyncio.sleep(0.1)
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                assert counting.in_flight == 0
                assert counting.cancelled == (3 if stop == "break" else 4)
                await asyncio.sleep(0.05)  # let the kernel see the closes
                assert established_to(port) <= 1  # at most one idle keep-alive connection
                sandbox.faults.clear()
                assert (await lean.gigs.get("gig_0")).gig_id == "gig_0"  # the pool still works
            assert established_to(port) == 0
    finally:
        set_testing(False)
    leftover = asyncio.all_tasks() - before
    assert leftover == set()
