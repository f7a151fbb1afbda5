"""gunicorn ``--preload`` with 2 uvicorn workers pays through a client made in the master.

The app (`tests.apps.gunicorn_payouts`) makes its `LeanClient` at import and, before the
fork, calls the API from a loop it leaves open, so each worker inherits a pool with a
live connection. Every payout must succeed from both workers, and nothing gunicorn prints
may show an event-loop error, an unclosed session or the API key. The sandbox and
gunicorn are processes on 127.0.0.1, started here and ended by pid.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lean_async import LeanClient
from tests.e2e.conftest import new_customer
from tests.real_servers import free_port, sandbox_process, wait_for_port

pytest.importorskip("gunicorn")  # both in the dev group; a bare install may lack them
pytest.importorskip("uvicorn_worker")

KEY = "sk_test_gunicorn_4b7e1c"
PAYOUTS = 60


async def _register(url: str) -> None:
    async with LeanClient(api_key=KEY, base_url=url) as lean:
        await new_customer(lean)
        await lean.applications.submit("uid_1")
        await lean.customers.wait_until_active("uid_1", timeout=10)


async def _pay_all(url: str) -> list[dict[str, object]]:
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each: both workers
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        gate = asyncio.Semaphore(8)

        async def pay(n: int) -> dict[str, object]:
            async with gate:
                response = await http.post(f"/pay/gunicorn_gig_{n}")
                assert response.status_code == 200, response.text
                answer: dict[str, object] = response.json()
                return answer

        return await asyncio.gather(*(pay(n) for n in range(PAYOUTS)))


def test_gunicorn_preload_workers_pay_through_the_inherited_client(tmp_path: Path) -> None:
    """2 forked workers, a client made (and used) in the master: every payout goes through."""
    with sandbox_process(tmp_path / "sandbox.log", api_key=KEY) as sandbox:
        asyncio.run(_register(sandbox.url))
        port = free_port()
        output = tmp_path / "gunicorn.log"
        env = os.environ | {
            "LEAN_API_KEY": KEY,
            "LEAN_BASE_URL": sandbox.url,
            "LEAN_WARM_UP": "1",
            "PYTHONWARNINGS": "always::ResourceWarning",  # show any unclosed resource
        }
        command = [sys.executable, "-m", "gunicorn", "--preload", "--workers", "2"]
        command += ["--worker-class", "uvicorn_worker.UvicornWorker"]
        command += ["--bind", f"127.0.0.1:{port}", "tests.apps.gunicorn_payouts:app"]
        with output.open("wb") as sink:
            gunicorn = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_port(port, gunicorn)
            paid = asyncio.run(_pay_all(f"http://127.0.0.1:{port}"))
        finally:
            gunicorn.terminate()  # our own child, by its pid: a graceful shutdown
            gunicorn.wait(30)
    assert sorted(str(p["gig_id"]) for p in paid) == sorted(
        f"gunicorn_gig_{n}" for n in range(PAYOUTS)
    )
    assert len({p["pid"] for p in paid}) == 2  # both workers paid
    assert gunicorn.pid not in {p["pid"] for p in paid}
    printed = output.read_text(errors="replace")
    for bad in ("Traceback", "Event loop is closed", "Unclosed", "unclosed", KEY):
        assert bad not in printed, printed
