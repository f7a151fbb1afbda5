"""No secret reaches an error tracker: the real sentry-sdk, default options, every error path.

The scenarios run in a subprocess per sentry-sdk line (``python -m tests.frames``), so
that Sentry's integrations, which patch logging, httpx, aiohttp and the standard library
for the life of the process, never touch the rest of the suite: once under the venv's
3.x line, once under the newest 2.x line installed beside the venv by ``make install``
(``.venv/sentry-2``). Every count of the key, its Basic token and the webhook keys must
be 0 in what Sentry would send, in the errors formatted with their locals, and in what
their chains and frames still reach; the planted leak shows the counts can see one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.frames.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
LINES = {"3.x": None, "2.x": Path(sys.prefix) / "sentry-2"}

# Events each scenario must produce at least: a scenario that captured nothing would
# pass the leak count without having looked.
MIN_EVENTS = {
    "planted_leak": 1,
    "verify": 12,
    "parse": 7,
    "handle_delivery": 2,
    "fastapi": 5,
    "aiohttp": 3,
    "constructor": 16,
    "status": 8,
    "echoed_status": 36,
    "connection": 22,
    "served_app": 2,
}


@pytest.fixture(scope="module", params=sorted(LINES))
def report(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Every scenario's counts under one sentry-sdk line, from a process of its own."""
    line: str = request.param
    path = LINES[line]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if path is not None:
        if not path.is_dir():
            if os.environ.get("CI"):
                pytest.fail(f"{path} is missing: `make install` puts sentry-sdk {line} there")
            pytest.skip(f"sentry-sdk {line} is not installed beside the venv (make install)")
        env["PYTHONPATH"] = os.pathsep.join([str(path), str(ROOT)])
    completed = subprocess.run(
        [sys.executable, "-m", "tests.frames"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["sentry"].startswith(line[0] + ".")
    return line, result["results"]


def test_every_scenario_has_a_floor() -> None:
    assert set(MIN_EVENTS) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - {"planted_leak"}))
def test_no_secret_reaches_sentry(report: tuple[str, dict[str, Any]], name: str) -> None:
    _, results = report
    result = results[name]
    assert result["events"] >= MIN_EVENTS[name]
    assert (result["in_events"], result["in_locals"], result["reachable"]) == (0, 0, 0)


def test_the_counts_find_a_planted_leak(report: tuple[str, dict[str, Any]]) -> None:
    """A frame that holds the key is found by all three counts: they can fail."""
    _, results = report
    result = results["planted_leak"]
    # 3.x sends both the argument and the dict; 2.x drops a variable named api_key.
    assert result["in_events"] >= 1
    assert result["in_locals"] >= 2
    assert result["reachable"] >= 1
