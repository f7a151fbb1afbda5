"""Run ``lean-async sandbox`` as a real subprocess on a free 127.0.0.1 port, and end it by pid."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

__all__ = ["SandboxProcess", "free_port", "sandbox_process"]

_STARTUP_TIMEOUT: Final = 20.0
_STOP_TIMEOUT: Final = 5.0


def free_port() -> int:
    """Return a port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxProcess:
    """A started ``lean-async sandbox`` process.

    Attributes:
        pid: the process id (the only handle used to end it).
        port: the port it serves on.
        api_key: the key it accepts.
    """

    def __init__(self, process: subprocess.Popen[bytes], port: int, api_key: str) -> None:
        self.process = process
        self.pid = process.pid
        self.port = port
        self.api_key = api_key

    @property
    def url(self) -> str:
        """The API base URL, straight to the sandbox (no proxy)."""
        return f"http://127.0.0.1:{self.port}/api"

    def ready(self) -> bool:
        """Return whether the server answers ``GET /api/gig`` with 200."""
        token = base64.b64encode(f"{self.api_key}:".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
        try:
            conn.request("GET", "/api/gig", headers={"Authorization": f"Basic {token}"})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        """End the process by its pid: SIGTERM, then SIGKILL after a grace period."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.process.wait(_STOP_TIMEOUT)


def _command(port: int, api_key: str, approval_delay: float, settle_delay: float) -> list[str]:
    script = Path(sys.executable).with_name("lean-async")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "lean_async"]
    return [
        *program,
        "sandbox",
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--approval-delay",
        str(approval_delay),
        "--settle-delay",
        str(settle_delay),
    ]


@contextlib.contextmanager
def sandbox_process(
    api_key: str, *, approval_delay: float = 0.05, settle_delay: float = 0.2
) -> Iterator[SandboxProcess]:
    """Start ``lean-async sandbox`` on a free port, wait until it answers, stop it at exit.

    A short *approval_delay* lets `customers.wait_until_active` finish quickly after
    `applications.submit`. Its output goes nowhere (uvicorn logs each request).

    Raises:
        RuntimeError: the process exited or did not answer within 20 seconds.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    process = subprocess.Popen(
        _command(port, api_key, approval_delay, settle_delay),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    sandbox = SandboxProcess(process, port, api_key)
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not sandbox.ready():
            if process.poll() is not None:
                raise RuntimeError(f"lean-async sandbox exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("lean-async sandbox did not answer within 20 s")
            time.sleep(0.05)
        yield sandbox
    finally:
        sandbox.stop()
