"""The lean-async command line: demo and sandbox."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lean_async.cli import main

STEPS = [
    "Create a customer",
    "Submit the application",
    "Receive customer.active",
    "Pay a gig",
    "Special payment + Idempotency-Key",
    "Ride out a 503 burst",
    "Dropped answer on a gig",
    "Dropped answer on a payment",
    "Payments settle",
]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_in_process() -> None:
    """The demo passes every step against the built-in sandbox and prints the tally."""
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for step in STEPS:
        assert step in result.output
    assert "FAILED" not in result.output
    assert "What was paid" in result.output
    assert "All steps passed" in result.output


def test_demo_command_as_a_subprocess() -> None:
    """The installed `lean-async demo` (what `make demo` runs) exits 0 well under 15 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "lean-async"), "demo"], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 15
    assert "All steps passed" in proc.stdout
    assert "5 payouts" in proc.stdout


def test_version() -> None:
    """`python -m lean_async --version` prints the version."""
    proc = subprocess.run(
        [sys.executable, "-m", "lean_async", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0
    assert "lean-async" in proc.stdout


@pytest.fixture
def sandbox_server() -> Iterator[str]:
    """`lean-async sandbox` running on a free port; yields its base URL, then stops it."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "lean-async"),
            "sandbox",
            "--port",
            str(port),
            "--api-key",
            "sk_cli",
            "--approval-delay",
            "0.2",
            "--settle-delay",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("lean-async sandbox did not start")
        yield f"http://127.0.0.1:{port}/api"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert f"http://127.0.0.1:{port}/api" in output
    assert "sk_cli" in output


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_sandbox_command_serves_the_api(sandbox_server: str) -> None:
    """curl with -u KEY: against `lean-async sandbox` gets JSON back; a wrong key gets 401."""
    ok = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", f"{sandbox_server}/gig", "-u", "sk_cli:"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ok.stdout.splitlines() == ["[]", "200"]
    bad = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            f"{sandbox_server}/gig",
            "-u",
            "nope:",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.stdout == "401"


def test_demo_against_a_remote_environment(sandbox_server: str) -> None:
    """With --base-url the demo runs the API steps there and skips the sandbox-only ones."""
    result = CliRunner().invoke(
        main, ["demo", "--base-url", sandbox_server, "--api-key", "sk_cli"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output
    assert "All steps passed" in result.output


def test_demo_reports_failure_with_a_wrong_key(sandbox_server: str) -> None:
    """A failing step makes the demo exit non-zero and say so."""
    result = CliRunner().invoke(
        main, ["demo", "--base-url", sandbox_server, "--api-key", "wrong"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "AuthenticationError" in result.output
