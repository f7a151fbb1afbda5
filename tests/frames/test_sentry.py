"""No secret reaches an error tracker: the real sentry-sdk, default options, every error path.

Each scenario runs in-process under the sentry-sdk of the venv (the 3.x line); all of
them run again in a subprocess under the newest 2.x line, installed beside the venv by
``make install`` (``.venv/sentry-2``). Every count of the key, its Basic token and the
webhook keys must be 0 in what Sentry would send, in the errors formatted with their
locals, and in what their chains and frames still reach.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.frames.capture import (
    SentryCapture,
    count_secrets,
    locals_text,
    needles_for,
    reachable_in_frames,
    sentry_version,
)
from tests.frames.scenarios import KEY, SCENARIOS, run_scenario

ROOT = Path(__file__).resolve().parents[2]
SENTRY_2 = Path(sys.prefix) / "sentry-2"

# Events each scenario must produce at least: a scenario that captured nothing would
# pass the leak count without having looked.
MIN_EVENTS = {
    "verify": 12,
    "parse": 7,
    "handle_delivery": 2,
    "fastapi": 5,
    "aiohttp": 3,
    "constructor": 10,
    "status": 8,
    "echoed_status": 36,
    "connection": 18,
    "served_app": 2,
}


def test_every_scenario_has_a_floor() -> None:
    assert set(MIN_EVENTS) == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_no_secret_reaches_sentry_3(name: str) -> None:
    assert sentry_version().startswith("3.")
    result = await run_scenario(name)
    assert result["events"] >= MIN_EVENTS[name]
    assert (result["in_events"], result["in_locals"], result["reachable"]) == (0, 0, 0)


def test_no_secret_reaches_sentry_2() -> None:
    """The same scenarios under the newest 2.x line, in a process of their own."""
    if not SENTRY_2.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SENTRY_2} is missing: `make install` puts sentry-sdk 2.x there")
        pytest.skip("sentry-sdk 2.x is not installed beside the venv (make install)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SENTRY_2), str(ROOT)])}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.frames"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["sentry"].startswith("2.")
    for name, result in report["results"].items():
        assert result["events"] >= MIN_EVENTS[name], name
        assert (result["in_events"], result["in_locals"], result["reachable"]) == (0, 0, 0), name


def _leaky(api_key: str) -> None:
    headers = {"Authorization": api_key}
    raise RuntimeError(f"failed with {len(headers)} header")


def test_the_scan_finds_a_key_held_in_a_frame() -> None:
    """The counts can fail: a frame holding the key is found by all three scans."""
    needles = needles_for([KEY])
    capture = SentryCapture()
    with capture.installed():
        try:
            _leaky(KEY)
        except RuntimeError as exc:
            error = exc
            capture.capture(exc)
    assert count_secrets(capture.text(), needles) >= 2  # the argument and the dict
    assert count_secrets(locals_text(error), needles) >= 2
    assert reachable_in_frames(error, needles) >= 1
