"""Start and find a benchmark server process on loopback: shared by the scripts here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(script: str, *args: str, port: int) -> subprocess.Popen[bytes]:
    """Run *script* with *args* in this interpreter and wait until *port* accepts.

    Raises:
        RuntimeError: nothing listened on *port* within 15 s (the process is killed).
    """
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, script, *args]
    )
    return wait_until_listening(process, port, "the benchmark server")


def wait_until_listening(
    process: subprocess.Popen[bytes], port: int, name: str
) -> subprocess.Popen[bytes]:
    """Return *process* once *port* accepts on loopback.

    Raises:
        RuntimeError: nothing listened within 15 s (the process is killed, by its pid).
    """
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    raise RuntimeError(f"{name} did not start")
