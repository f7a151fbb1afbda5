"""A real Celery worker pays 200 gigs, each task an ``asyncio.run`` through one client.

The worker is Celery's own test worker (`celery.contrib.testing.worker.start_worker`) in
this process, with the in-memory broker and result store, running `examples.celery_app`
whose `LeanClient` is made once at import; the API is a ``lean-async sandbox`` process
on 127.0.0.1, ended by pid.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from lean_async import LeanClient
from tests.e2e.conftest import new_customer
from tests.real_servers import ServedProcess, sandbox_process
from tests.served import open_fds

pytest.importorskip("celery")  # the dev group has it; a bare install may not
from celery.contrib.testing.worker import start_worker

KEY = "sk_test_celery_8e21d0"
TASKS = 200
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[ServedProcess]:
    """A sandbox process with worker ``uid_1`` registered and approved."""
    with sandbox_process(tmp_path / "sandbox.log", api_key=KEY) as served:

        async def register() -> None:
            async with LeanClient(api_key=KEY, base_url=served.url) as lean:
                await new_customer(lean)
                await lean.applications.submit("uid_1")
                await lean.customers.wait_until_active("uid_1", timeout=10)

        asyncio.run(register())
        yield served


@pytest.fixture
def celery_app(sandbox: ServedProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """`examples.celery_app`, imported fresh with the sandbox's key and URL."""
    monkeypatch.setenv("LEAN_API_KEY", KEY)
    monkeypatch.setenv("LEAN_BASE_URL", sandbox.url)
    sys.modules.pop("examples.celery_app", None)
    module = importlib.import_module("examples.celery_app")
    module.app.conf.broker_transport_options = {"polling_interval": 0.01}  # not 1 s
    yield module
    sys.modules.pop("examples.celery_app", None)


def _gig(n: int) -> dict[str, str]:
    return {
        "partner_user_id": "uid_1",
        "gig_id": f"celery_gig_{n}",
        "total_amount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": "SFO Airport to 410 Market Street",
        "start_time": START.isoformat(),
        "end_time": (START + dt.timedelta(minutes=40)).isoformat(),
    }


def test_celery_worker_pays_each_task_through_the_module_level_client(
    celery_app: ModuleType, sandbox: ServedProcess, tmp_path: Path
) -> None:
    """200 tasks, each asyncio.run(): all paid once, no pool or descriptor left, no key logged."""
    log = tmp_path / "worker.log"
    with start_worker(
        celery_app.app,
        pool="solo",
        perform_ping_check=False,
        loglevel="INFO",
        logfile=str(log),
        shutdown_timeout=30,
    ):
        paid = [
            celery_app.pay_gig.delay(**_gig(n)).get(timeout=60, interval=0.01) for n in range(10)
        ]
        fds = open_fds()  # the worker's own descriptors (broker, log file) are open now
        pending = [celery_app.pay_gig.delay(**_gig(n)) for n in range(10, TASKS)]
        paid += [result.get(timeout=120, interval=0.01) for result in pending]
        fds_after = open_fds()
    assert sorted(p["gig_id"] for p in paid) == sorted(f"celery_gig_{n}" for n in range(TASKS))
    assert {p["total"] for p in paid} == {"15.00"}
    lean: LeanClient = celery_app.lean
    assert lean._shared.pools is not None
    assert lean._shared.pools.open_pools == 0  # each task's pool closed with its loop
    assert abs(fds_after - fds) <= 2

    async def count() -> int:
        async with LeanClient(api_key=KEY, base_url=sandbox.url) as check:
            return len(await check.gigs.list())

    assert asyncio.run(count()) == TASKS
    worker_log = log.read_text() if log.exists() else ""
    assert KEY not in worker_log
    assert "Traceback" not in worker_log
