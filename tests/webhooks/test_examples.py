"""examples/fastapi_app.py and examples/aiohttp_app.py against the built-in sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp.test_utils import TestServer
from fastapi import FastAPI

from examples import aiohttp_app, fastapi_app
from lean_async import LeanError
from lean_async.sandbox import Sandbox
from tests.webhooks._support import free_port, poll

ROOT = Path(__file__).resolve().parents[2]


def test_examples_import_without_side_effects() -> None:
    """Importing the examples needs no key, opens nothing and prints nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    done = subprocess.run(
        [sys.executable, "-c", "import examples.fastapi_app, examples.aiohttp_app"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert (done.stdout, done.stderr) == (b"", b"")


@pytest.mark.parametrize("module", [fastapi_app, aiohttp_app])
def test_examples_need_a_key(module: Any) -> None:
    """Without LEAN_API_KEY the app refuses to build, with a clear message."""
    with pytest.raises(LeanError, match="LEAN_API_KEY"):
        module.create_app()


@contextlib.asynccontextmanager
async def serve_fastapi(app: FastAPI) -> AsyncIterator[str]:
    """Serve *app* (lifespan included) with uvicorn on a free loopback port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await poll(lambda: server.started or task.done(), what="uvicorn did not start")
        assert server.started, "uvicorn exited during startup"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@contextlib.asynccontextmanager
async def serve_aiohttp(app: Any) -> AsyncIterator[str]:
    """Serve *app* (cleanup_ctx included) with aiohttp's TestServer on loopback."""
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize(
    ("module", "serve"),
    [(fastapi_app, serve_fastapi), (aiohttp_app, serve_aiohttp)],
    ids=["fastapi", "aiohttp"],
)
async def test_example_pays_and_receives_the_webhooks(module: Any, serve: Any) -> None:
    """POST /demo/pay onboards and pays a worker; customer.active and gig.completed arrive."""
    async with Sandbox(approval_delay=0.05, settle_delay=0.05, webhook_retry_base=0.05) as box:
        app = module.create_app(
            api_key=box.api_key, base_url=box.base_url, transport=box.transport()
        )
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
            box.register_webhook(f"{base}/webhooks/lean")
            paid = (await http.post("/demo/pay", params={"amount": "12.50"})).json()
            assert paid["amount"] == "12.50"
            wanted = {
                ("customer.active", paid["partner_user_id"]),
                ("gig.completed", paid["gig_id"]),
            }
            events: list[dict[str, Any]] = []

            async def arrived() -> bool:
                events[:] = (await http.get("/demo/events")).json()
                return wanted <= {(e["type"], e["subject"]) for e in events}

            await poll(arrived, what="the webhooks did not arrive")
    ids = [event["id"] for event in events]
    assert len(ids) == len(set(ids))
    assert all(delivery.status_code == 200 for delivery in box.deliveries)
