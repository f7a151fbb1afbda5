"""Start the processes of a burst run on 127.0.0.1 and end them by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from tests.chaos.sandbox_process import free_port
from tests.webhooks._support import stop_process, wait_for_port

__all__ = ["free_port", "receiver", "sandbox", "stop_process", "terminate", "wait_for_port"]

BIN = Path(sys.executable).parent


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}


@contextlib.contextmanager
def receiver(api_key: str, *, delay: float = 0.0) -> Iterator[str]:
    """Run `tests.burst.receiver` on a free port; yield its webhook URL."""
    port = free_port()
    command = [sys.executable, "-m", "tests.burst.receiver", str(port), api_key]
    proc = subprocess.Popen(
        [*command, "--delay", str(delay)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_clean_env(),
    )
    try:
        wait_for_port(port, timeout=20, proc=proc)
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        stop_process(proc)


@contextlib.contextmanager
def sandbox(
    api_key: str, arguments: Sequence[str], output: IO[bytes]
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``lean-async sandbox`` with *arguments* on a free port, its output to *output*.

    Yields:
        The process and its API base URL.
    """
    port = free_port()
    script = BIN / "lean-async"
    program = [str(script)] if script.exists() else [sys.executable, "-m", "lean_async"]
    proc = subprocess.Popen(
        [*program, "sandbox", "--port", str(port), "--api-key", api_key, *arguments],
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        env=_clean_env(),
    )
    try:
        wait_for_port(port, timeout=20, proc=proc)
        yield proc, f"http://127.0.0.1:{port}/api"
    finally:
        stop_process(proc)


def terminate(proc: subprocess.Popen[bytes], *, limit: float = 10.0) -> float:
    """Send SIGTERM to *proc* (by pid) and return the seconds until it exited.

    Raises:
        subprocess.TimeoutExpired: it was still running after *limit* seconds.
    """
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(limit)
    return time.monotonic() - started
