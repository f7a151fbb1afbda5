"""Webhook fixtures: a real redis-server on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.webhooks._support import free_port, stop_process, wait_for_port


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Start a throwaway redis-server on a free loopback port; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=10, proc=proc)
        deadline = time.monotonic() + 10
        ready = False
        for _ in range(200):  # the port opens before redis answers: wait for PING
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                ready = sock.recv(64).startswith(b"+PONG")
            if ready or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not ready:
            raise TimeoutError("redis-server did not answer PING")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)
