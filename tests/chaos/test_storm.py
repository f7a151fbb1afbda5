"""100 payouts at concurrency 32 through 30% faults: exactly once, nothing lost, nothing leaked.

The storm runs once per backend (httpx, aiohttp) for the module (a sync fixture around
`asyncio.run`); each promise is its own test on that run, so one broken promise does not
hide another. The client allows
one retry (the SDK's default is three) so that some calls fail, are re-run as the README
says, and give the leak scan errors to look into.
"""

from __future__ import annotations

import asyncio
from typing import Final

import pytest

from lean_async import errors
from lean_async._config import BACKENDS, Backend
from lean_async.errors import APIStatusError
from tests.chaos.conftest import API_KEY
from tests.chaos.leaks import LeakScanner
from tests.chaos.proxy import ALL_KINDS
from tests.chaos.sandbox_process import SandboxProcess
from tests.chaos.scenarios import StormReport, payout_storm

PAYOUTS: Final = 100


@pytest.fixture(scope="module", params=BACKENDS)
def storm(
    request: pytest.FixtureRequest, sandbox: SandboxProcess, workers: list[str]
) -> tuple[StormReport, LeakScanner]:
    """One storm per backend: its report, and the leak scanner that watched it at DEBUG."""
    backend: Backend = request.param
    scanner = LeakScanner(API_KEY)

    async def run() -> StormReport:
        with scanner.capturing_logs():
            async with asyncio.timeout(45):
                return await payout_storm(
                    sandbox,
                    payouts=PAYOUTS,
                    rate=0.3,
                    seed=11,
                    prefix=f"storm-{backend}",
                    workers=workers,
                    timeout=0.5,
                    max_retries=1,
                    scanner=scanner,
                    backend=backend,
                )

    return asyncio.run(run()), scanner


def test_storm_injected_faults_of_several_kinds(storm: tuple[StormReport, LeakScanner]) -> None:
    """The run really was stormy: about 30% of attempts faulted, of several kinds."""
    report, _ = storm
    faulted = sum(report.faults.values())
    assert 0.15 * report.attempts < faulted < 0.45 * report.attempts
    assert len(report.faults) >= len(ALL_KINDS) // 2
    assert report.calls > PAYOUTS  # some calls failed and were re-run


def test_storm_pays_nothing_twice(storm: tuple[StormReport, LeakScanner]) -> None:
    """Every gig and special payment is held by the sandbox at most once."""
    assert storm[0].audit.duplicates == 0


def test_storm_loses_nothing(storm: tuple[StormReport, LeakScanner]) -> None:
    """After the README's re-runs every payout is paid, held, with the right amount and id."""
    audit = storm[0].audit
    assert (audit.lost, audit.unfinished, audit.wrong, audit.held) == (0, 0, 0, PAYOUTS)


def test_storm_raises_only_documented_errors(storm: tuple[StormReport, LeakScanner]) -> None:
    """Every failed call raised a `lean_async.errors` class, and each carried its key."""
    tally = storm[0].tally
    assert dict(tally.undocumented) == {}
    assert tally.keyless_reruns == 0


def test_storm_leaks_no_key(storm: tuple[StormReport, LeakScanner]) -> None:
    """Neither the key nor its Basic token is in logs, reprs, errors, frame locals,
    pickles or headers.

    The scan is judged on what the run produced, not on what it is expected to produce
    under a given load: every error raised was scanned, and every status error among
    them with its response (how many there are depends on timing: a slow machine turns
    more faults into timeouts).
    """
    report, scanner = storm
    raised = report.tally.errors
    status_errors = sum(
        count for name, count in raised.items() if issubclass(getattr(errors, name), APIStatusError)
    )
    assert scanner.records > 0, scanner.summary()
    assert scanner.errors == sum(raised.values()) + sum(report.tally.undocumented.values())
    assert scanner.status_errors == status_errors, scanner.summary()
    assert dict(scanner.found) == {}, scanner.summary()


def test_storm_errors_survive_pickle(storm: tuple[StormReport, LeakScanner]) -> None:
    """Every error the storm raised pickles and unpickles to an equal error."""
    _, scanner = storm
    assert scanner.errors > 0
    assert dict(scanner.unpicklable) == {}
