"""Fixtures of the chaos tests: one ``lean-async sandbox`` process for the whole session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Final

import pytest

from lean_async import LeanClient
from tests.chaos.payouts import onboard_workers
from tests.chaos.sandbox_process import SandboxProcess, sandbox_process

API_KEY: Final = "lean_chaos_test_key_93b1"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxProcess]:
    """``lean-async sandbox`` as a subprocess on a free port, ended by its pid at the end."""
    with sandbox_process(API_KEY) as process:
        yield process


@pytest.fixture(scope="session")
def workers(sandbox: SandboxProcess) -> list[str]:
    """Four ACTIVE workers in the session's sandbox (onboarding polls, so it is done once)."""

    async def onboard() -> list[str]:
        async with LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as direct:
            return await onboard_workers(direct, 4, prefix="session")

    return asyncio.run(onboard())
