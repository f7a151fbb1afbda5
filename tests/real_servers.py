"""Real servers on 127.0.0.1 for the tests: each started as a process and ended by its pid.

- `sandbox_process`: ``lean-async sandbox`` on a free port, over HTTP or TLS (a private
  CA from ``trustme``, client certificates optionally required);
- `proxy_process`: ``proxy.py`` (PyPI), a real forward proxy, with or without Basic
  authentication, writing its access log to a file the tests read.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

__all__ = ["ServedProcess", "free_port", "proxy_process", "sandbox_process", "wait_for_port"]


@attrs.frozen
class ServedProcess:
    """A server process the test started: its URL, pid and what it printed."""

    url: str
    pid: int
    output: Path

    def text(self) -> str:
        """Everything the process has written so far (its log or its stdout and stderr)."""
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Wait until *port* accepts connections; raise if *process* exits first."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on port {port} after {seconds} s")
        time.sleep(0.05)


@contextlib.contextmanager
def _running(command: list[str], port: int, output: Path) -> Iterator[int]:
    with output.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        yield process.pid
    finally:
        process.terminate()  # our own child, by its pid
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def sandbox_process(
    output: Path,
    *,
    api_key: str,
    tls: tuple[Path, Path] | None = None,
    client_ca: Path | None = None,
    extra: tuple[str, ...] = ("--approval-delay", "0.05", "--settle-delay", "0.05"),
) -> Iterator[ServedProcess]:
    """Run ``lean-async sandbox`` on a free port (HTTPS with *tls* = (cert, key))."""
    port = free_port()
    command = [sys.executable, "-m", "lean_async", "sandbox", "--port", str(port)]
    command += ["--api-key", api_key, *extra]
    if tls is not None:
        command += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    if client_ca is not None:
        command += ["--tls-client-ca", str(client_ca)]
    scheme = "http" if tls is None else "https"
    with _running(command, port, output) as pid:
        yield ServedProcess(f"{scheme}://127.0.0.1:{port}/api", pid, output)


@contextlib.contextmanager
def proxy_process(log: Path, *, basic_auth: str | None = None) -> Iterator[ServedProcess]:
    """Run ``proxy.py`` on a free port, logging each request to *log*.

    Args:
        log: the proxy's log file (its access lines name each CONNECT and request).
        basic_auth: ``"user:password"`` to require Proxy-Authorization.
    """
    port = free_port()
    proxy = Path(sys.executable).with_name("proxy")
    if not proxy.exists():
        pytest.skip("proxy.py is not installed (it is in the dev dependency group)")
    command = [str(proxy), "--hostname", "127.0.0.1", "--port", str(port)]
    command += ["--num-workers", "1", "--num-acceptors", "1", "--log-level", "INFO"]
    command += ["--log-file", str(log)]
    if basic_auth is not None:
        command += ["--basic-auth", basic_auth]
    with _running(command, port, log.with_suffix(".out")) as pid:
        yield ServedProcess(f"http://127.0.0.1:{port}", pid, log)
