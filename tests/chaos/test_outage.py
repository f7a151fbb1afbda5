"""A total outage: attempts stay within the retry budget, and re-runs afterwards pay once."""

from __future__ import annotations

import asyncio

from lean_async._config import Backend
from tests.chaos.sandbox_process import SandboxProcess
from tests.chaos.scenarios import outage


async def test_outage_amplification_is_bounded_by_the_budget(
    sandbox: SandboxProcess, workers: list[str], backend: Backend
) -> None:
    """120 calls during a 503 outage make at most 120 + 500/5 attempts; re-runs pay once."""
    async with asyncio.timeout(45):
        report = await outage(
            sandbox, calls=120, prefix=f"outage-{backend}", workers=workers, backend=backend
        )
    assert report.calls < report.attempts <= report.bound == 220
    assert dict(report.tally.undocumented) == {}
    assert report.tally.errors["ServiceUnavailableError"] >= 120
    audit = report.audit
    assert (audit.duplicates, audit.lost, audit.unfinished, audit.wrong) == (0, 0, 0, 0)
