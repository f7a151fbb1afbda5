"""The sandbox on real sockets: running_server, broken connections, serve()."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lean_async.sandbox import (
    ConnectionReset,
    DropAfterCommit,
    Latency,
    ManualClock,
    Sandbox,
    ServerError,
    TLSFiles,
    running_server,
)
from lean_async.sandbox._server import _url

from .conftest import KEY, customer_body, payment_body


@pytest.fixture
async def served(sandbox: Sandbox) -> AsyncIterator[str]:
    """The manual-clock sandbox served on a free 127.0.0.1 port."""
    async with running_server(sandbox) as base_url:
        yield base_url


@pytest.fixture
async def http(served: str) -> AsyncIterator[httpx.AsyncClient]:
    """A raw httpx client over real sockets to the served sandbox."""
    async with httpx.AsyncClient(base_url=served, auth=(KEY, ""), trust_env=False) as client:
        yield client


async def activate(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """Create customer uid_1 over HTTP and activate it."""
    assert (await http.post("/customer", json=customer_body())).status_code == 200
    sandbox.activate_customer("uid_1")


async def test_serves_the_api_on_a_real_port(http: httpx.AsyncClient, served: str) -> None:
    """The base URL points at a real 127.0.0.1 port serving the API."""
    assert served.startswith("http://127.0.0.1:")
    assert served.endswith("/api")
    assert (await http.post("/customer", json=customer_body())).json()["status"] == "PENDING"
    assert (await http.get("/customer/uid_1")).status_code == 200
    assert (await http.get("/gig", auth=("bad", ""))).status_code == 401


async def test_reset_is_a_tcp_reset(
    http: httpx.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """ConnectionReset resets the socket: ReadError, nothing processed, nothing logged."""
    await activate(http, sandbox)
    sandbox.faults.add(ConnectionReset(), route="POST /specialpayment")
    with caplog.at_level(logging.INFO, logger="uvicorn"), pytest.raises(httpx.ReadError):
        await http.post("/specialpayment", json=payment_body())
    assert len(sandbox.special_payments) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (await http.post("/specialpayment", json=payment_body())).status_code == 200


async def test_drop_after_commit_closes_without_an_answer(
    http: httpx.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """DropAfterCommit commits, then closes: RemoteProtocolError, and the payment exists."""
    await activate(http, sandbox)
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    headers = {"Idempotency-Key": "k"}
    with caplog.at_level(logging.INFO, logger="uvicorn"):
        with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
            await http.post("/specialpayment", json=payment_body(), headers=headers)
        assert len(sandbox.special_payments) == 1
        retry = await http.post("/specialpayment", json=payment_body(), headers=headers)
    assert retry.json()["id"] == next(iter(sandbox.special_payments))
    assert len(sandbox.special_payments) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_5xx_and_latency_over_sockets(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A 503 burst answers over HTTP, and latency trips a real client read timeout."""
    sandbox.faults.add(ServerError(retry_after=1), route="GET /gig")
    response = await http.get("/gig")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    sandbox.faults.add(Latency(2), route="GET /gig")
    with pytest.raises(httpx.ReadTimeout):
        await http.get("/gig", timeout=0.1)


async def test_taken_port_is_a_runtime_error(sandbox: Sandbox) -> None:
    """A port already in use makes running_server raise RuntimeError."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="could not start"):
            async with running_server(sandbox, port=port, log_level="critical"):
                pytest.fail("the server should not start")  # pragma: no cover


async def test_startup_timeout(sandbox: Sandbox) -> None:
    """A server that does not start in time is stopped and the timeout raised."""
    with pytest.raises(TimeoutError):
        async with running_server(sandbox, startup_timeout=0):
            pytest.fail("the server should not be up yet")  # pragma: no cover


def test_urls_bracket_ipv6_hosts() -> None:
    """IPv6 hosts are bracketed in the base URL."""
    assert _url("::1", 8080) == "http://[::1]:8080/api"
    assert _url("127.0.0.1", 80) == "http://127.0.0.1:80/api"


async def test_lifespan_and_other_scopes() -> None:
    """The app acknowledges lifespan startup/shutdown and ignores websocket scopes."""
    box = Sandbox(api_key=KEY, clock=ManualClock())
    messages = [
        {"type": "lifespan.startup"},
        {"type": "lifespan.other"},
        {"type": "lifespan.shutdown"},
    ]
    sent: list[dict[str, str]] = []

    async def receive() -> dict[str, str]:
        return messages.pop(0)

    async def send(message: dict[str, str]) -> None:
        sent.append(message)

    await box({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    await box({"type": "websocket"}, receive, send)  # type: ignore[arg-type]
    assert len(sent) == 2


async def test_client_gone_before_the_body_arrived() -> None:
    """A disconnect while the body is read is handled as an empty body."""
    box = Sandbox(api_key=KEY, clock=ManualClock())
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, str]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/customer", "headers": []}
    await box(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 401  # no raw_path: the decoded path is used


SERVE_SCRIPT = """
import sys
from lean_async.sandbox import serve
serve(port=int(sys.argv[1]), api_key="sk_cli", log_level="warning", approval_delay=0.1)
"""


async def test_serve_runs_until_interrupted(tmp_path: Path) -> None:
    """serve() blocks serving a real port and exits cleanly on SIGINT."""
    script = tmp_path / "serve_sandbox.py"
    script.write_text(SERVE_SCRIPT)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(port), stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(auth=("sk_cli", ""), trust_env=False) as client:
            async with asyncio.timeout(30):
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        response = await client.get(f"http://127.0.0.1:{port}/api/gig")
                        break
                    await asyncio.sleep(0.05)
        assert response.status_code == 200
        assert response.json() == []
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()


async def test_a_server_with_a_client_ca_serves_only_clients_with_its_certificates(
    tmp_path: Path,
) -> None:
    """With TLSFiles.client_ca a client presenting a certificate of that CA is served; one
    presenting none is refused during the handshake."""
    trustme = pytest.importorskip("trustme")
    from lean_async import LeanClient
    from lean_async.errors import APIConnectionError

    ca = trustme.CA()
    ca_pem, server_pem, client_pem = (tmp_path / n for n in ("ca.pem", "srv.pem", "cli.pem"))
    ca.cert_pem.write_to_path(str(ca_pem))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca.issue_cert("payroll@client.test").private_key_and_cert_chain_pem.write_to_path(
        str(client_pem)
    )
    tls = TLSFiles(cert=str(server_pem), key=str(server_pem), client_ca=str(ca_pem))
    async with Sandbox(api_key=KEY) as sandbox, running_server(sandbox, tls=tls) as url:
        assert url.startswith("https://127.0.0.1:")
        async with LeanClient(
            api_key=KEY, base_url=url, verify=str(ca_pem), cert=str(client_pem)
        ) as lean:
            assert await lean.gigs.list() == []
        async with LeanClient(api_key=KEY, base_url=url, verify=str(ca_pem), max_retries=0) as lean:
            with pytest.raises(APIConnectionError):
                await lean.gigs.list()
