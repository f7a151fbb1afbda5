"""The lean-async command line: `demo` (its target, output and refusals) and `--version`."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lean_async.cli import main
from lean_async.cli._console import PIPED_WIDTH, make_console
from tests.test_cli_target import PRODUCTION_SPELLINGS

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
    "Receive the completed webhooks",
    "Redelivered and forged webhooks",
]
BIN = Path(sys.executable).parent
LIVE_KEY = "sk_live_must_never_be_used"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def trap() -> Iterator[tuple[str, Callable[[], int]]]:
    """A 127.0.0.1 socket that only listens; yields its URL and a count of connections made."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.setblocking(False)
        port = listener.getsockname()[1]

        def connections() -> int:
            count = 0
            while True:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    return count
                conn.close()
                count += 1

        yield f"http://127.0.0.1:{port}/api", connections


def hostile_env(trap_url: str) -> dict[str, str]:
    """The shell of the bug report: a live key, production, and a base URL elsewhere."""
    return {
        "LEAN_API_KEY": LIVE_KEY,
        "LEAN_ENVIRONMENT": "production",
        "LEAN_BASE_URL": trap_url,
    }


def assert_demo_passed(output: str) -> None:
    """Every step passed, each on one unbroken row, with the webhooks and the tally shown."""
    lines = output.splitlines()
    for step in STEPS:
        pattern = rf"^\s+ok\s+{re.escape(step)}\s+\d+ ms$"
        assert any(re.match(pattern, line) for line in lines), f"no intact row for {step!r}"
    assert "FAILED" not in output
    target = next(i for i, line in enumerate(lines) if line.startswith("Target:"))
    first_step = next(i for i, line in enumerate(lines) if STEPS[0] in line)
    assert target < first_step
    assert "the built-in sandbox" in lines[target]
    for kind in ("customer.active", "gig.completed", "specialpayment.completed"):
        assert re.search(rf"webhook in: {re.escape(kind)} evt_\S+ -> 200 processed$", output, re.M)
    assert "-> 200 duplicate" in output
    assert "-> 401 rejected (signature_mismatch)" in output
    for line in lines:
        if "sent twice with key" in line:
            assert line.endswith("paid once")
        if "gig_demo_" in line and "│" in line:
            assert "SUCCESS" in line
    assert re.search(r"payouts\s+│ 4 payouts to uid_demo_\w+\s+│\s+67\.06 │", output)
    assert re.search(r"deductions\s+│ 1 deduction\s+│\s+-1\.50 │", output)
    assert re.search(r"net\s+│ .*│\s+65\.56 │", output)
    assert "All steps passed" in output
    assert LIVE_KEY not in output


def test_demo_ignores_lean_environment_variables(trap: tuple[str, Callable[[], int]]) -> None:
    """With a live key, production and a base URL in the environment, the demo stays in-process."""
    url, connections = trap
    result = CliRunner().invoke(
        main, ["demo"], env={**hostile_env(url), "COLUMNS": "80"}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert_demo_passed(result.output)
    assert "Ignored:  $LEAN_API_KEY, $LEAN_BASE_URL, $LEAN_ENVIRONMENT" in result.output
    assert connections() == 0


def test_demo_command_as_a_subprocess(trap: tuple[str, Callable[[], int]]) -> None:
    """The installed `lean-async demo`, piped at 80 columns, passes under 15 s and calls nobody."""
    url, connections = trap
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    env.update(hostile_env(url), COLUMNS="80")
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "lean-async"), "demo"], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 15
    assert_demo_passed(proc.stdout)
    assert connections() == 0


@pytest.mark.parametrize("url", PRODUCTION_SPELLINGS[:8])
def test_demo_refuses_production_before_any_request(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--base-url naming production exits non-zero with a clear message; no socket is opened."""
    opened: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        opened.append(args)
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    result = CliRunner().invoke(
        main, ["demo", "--base-url", url], env={"LEAN_API_KEY": LIVE_KEY}, catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "Lean production" in result.output
    assert "never runs there" in result.output
    assert "Target:" not in result.output
    assert opened == []


def test_demo_api_key_needs_base_url() -> None:
    """--api-key alone is a usage error: it would not be used by the built-in sandbox."""
    result = CliRunner().invoke(main, ["demo", "--api-key", "sk_x"])
    assert result.exit_code == 2
    assert "--api-key goes with --base-url" in result.output


def test_demo_base_url_needs_a_key() -> None:
    """--base-url without --api-key or $LEAN_API_KEY is a usage error."""
    result = CliRunner().invoke(main, ["demo", "--base-url", "http://127.0.0.1:9/api"])
    assert result.exit_code == 2
    assert "--base-url needs a key" in result.output


def test_demo_refuses_plain_http_to_a_remote_host() -> None:
    """The client's own refusal of plain http is shown as one clean error line."""
    result = CliRunner().invoke(
        main, ["demo", "--base-url", "http://lean.example.test/api", "--api-key", "sk_x"]
    )
    assert result.exit_code == 1
    assert "refusing plain http" in result.output
    assert "Traceback" not in result.output


class _Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_piped_output_is_wide_even_when_colour_is_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped, the console neither wraps nor narrows to 80 columns, FORCE_COLOR or not."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    console = make_console()
    assert (console.width, console.soft_wrap) == (PIPED_WIDTH, True)


def test_a_terminal_keeps_its_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the console is rich's own, as wide as the terminal."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "stdout", _Terminal())
    console = make_console()
    assert (console.width, console.soft_wrap) == (80, False)


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


def wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    """Wait (at most 20 s) until something listens on 127.0.0.1:*port*."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("lean-async sandbox did not start")


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
        wait_for_port(port, proc)
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


def test_demo_against_a_remote_environment(sandbox_server: str) -> None:
    """With --base-url the demo prints that target, runs the API steps there, skips the rest."""
    result = CliRunner().invoke(
        main,
        ["demo", "--base-url", sandbox_server + "/"],
        env={"LEAN_API_KEY": "sk_cli", "LEAN_ENVIRONMENT": "production"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"Target:   {sandbox_server}/ (from --base-url)" in result.output
    assert re.search(r"skipped\s+Ride out a 503 burst", result.output)
    assert re.search(r"skipped\s+Receive the completed webhooks", result.output)
    assert "All steps passed" in result.output


def test_demo_reports_failure_with_a_wrong_key(sandbox_server: str) -> None:
    """A failing step makes the demo exit non-zero and say so."""
    result = CliRunner().invoke(
        main, ["demo", "--base-url", sandbox_server, "--api-key", "wrong"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "AuthenticationError" in result.output
