"""`lean-async sandbox --forward-to`: webhooks to your app, and every attempt on the console."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from click.testing import CliRunner
from rich.console import Console

from lean_async import LeanClient, WebhookEvent
from lean_async._config import Backend
from lean_async.cli import _sandbox_command, main
from lean_async.cli._sandbox_command import delivery_line, serve_until
from lean_async.sandbox import Delivery, DeliveryAttemptOutcome, Sandbox, TLSFiles
from lean_async.webhooks.aiohttp import webhook_handler
from tests.test_cli import free_port

BIN = Path(sys.executable).parent
KEY = "sk_forward"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/hook",
        "127.0.0.1:3000/hook",
        "localhost",
        "http://",
        "file:///tmp/x",
        "http://xn--a-.test/hook",
    ],
)
def test_forward_to_must_be_http(url: str) -> None:
    """A --forward-to that is not an http(s) URL with a host is a usage error."""
    result = CliRunner().invoke(main, ["sandbox", "--port", "0", "--forward-to", url])
    assert result.exit_code == 2
    assert "is not an http(s) URL" in result.output


@pytest.fixture
def _restore_loggers() -> Iterator[None]:
    """Undo the console handlers the `sandbox` command attaches to its loggers."""
    names = ("lean_async.sandbox", "uvicorn.access", "uvicorn.error")
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    handlers = {log.name: list(log.handlers) for log, _ in saved}
    yield
    for log, level in saved:
        log.handlers[:] = handlers[log.name]
        log.setLevel(level)
        log.propagate = True


@pytest.mark.usefixtures("_restore_loggers")
def test_sandbox_command_registers_forward_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command registers each --forward-to URL before serving and exits with its status."""
    served: list[list[str]] = []

    async def fake_serve(
        stop: asyncio.Event,
        console: Console,
        sandbox: Sandbox,
        host: str,
        port: int,
        workers: Sequence[str] = (),
        tls: TLSFiles | None = None,
    ) -> int:
        served.append([host, str(port), *sandbox.webhook_urls, *workers])
        assert tls is None
        return 0

    monkeypatch.setattr(_sandbox_command, "serve_until", fake_serve)
    args = ["sandbox", "--port", "0", "--forward-to", "http://127.0.0.1:9/a"]
    result = CliRunner().invoke(main, [*args, "--forward-to", "https://app.test/b"])
    assert result.exit_code == 0, result.output
    assert served == [["127.0.0.1", "0", "http://127.0.0.1:9/a", "https://app.test/b"]]
    assert logging.getLogger("lean_async.sandbox").handlers[-1].level == logging.ERROR


@pytest.mark.usefixtures("_restore_loggers")
def test_sandbox_command_takes_tls_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--tls-cert/--tls-key (and --tls-client-ca) reach the server; halves are refused."""
    files = {name: tmp_path / f"{name}.pem" for name in ("cert", "key", "ca")}
    for path in files.values():
        path.write_text("PEM")
    seen: list[TLSFiles | None] = []

    async def fake_serve(*args: object) -> int:
        seen.append(args[6])  # type: ignore[arg-type]
        return 0

    monkeypatch.setattr(_sandbox_command, "serve_until", fake_serve)
    tls = ["--tls-cert", str(files["cert"]), "--tls-key", str(files["key"])]
    result = CliRunner().invoke(main, ["sandbox", *tls, "--tls-client-ca", str(files["ca"])])
    assert result.exit_code == 0, result.output
    assert seen == [TLSFiles(str(files["cert"]), str(files["key"]), str(files["ca"]))]
    half = CliRunner().invoke(main, ["sandbox", "--tls-cert", str(files["cert"])])
    assert half.exit_code == 2
    assert "go together" in half.output


def test_delivery_lines_say_what_happened() -> None:
    """Delivered, retrying and given-up attempts each read as one line that says so."""
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    base = {
        "event_id": "evt_1",
        "event_type": "gig.completed",
        "destination": "http://x/h",
        "at": at,
    }
    ok = Delivery(**base, attempt=1, status_code=200, outcome=DeliveryAttemptOutcome.DELIVERED)
    retry = Delivery(**base, attempt=2, status_code=503, outcome=DeliveryAttemptOutcome.RETRYING)
    gave_up = Delivery(
        **base,
        attempt=6,
        status_code=None,
        outcome=DeliveryAttemptOutcome.GAVE_UP,
        error="ConnectError",
    )
    assert delivery_line(ok).plain.endswith("-> http://x/h: 200 delivered (attempt 1)")
    assert delivery_line(retry).plain.endswith("attempt 2 FAILED (HTTP 503); will retry")
    assert delivery_line(gave_up).plain.endswith(
        "attempt 6 FAILED (ConnectError); gave up, no more retries"
    )


def _customer(partner_user_id: str) -> dict[str, object]:
    return {
        "partner_user_id": partner_user_id,
        "first_name": "Jane",
        "last_name": "Doe",
        "birthday": dt.date(1990, 5, 17),
        "phone_number": "4085550100",
        "email": f"{partner_user_id}@example.com",
        "street": "700 Treehouse Drive",
        "city": "San Jose",
        "state": "CA",
        "postal_code": "95101",
        "registration_date": dt.date(2024, 1, 1),
    }


class _Screen(io.StringIO):
    """A console's file that lets a test wait for a text to be printed."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.changed.set()
        return super().write(text)

    async def wait_for(self, text: str, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while text not in self.getvalue():
                self.changed.clear()
                await self.changed.wait()


async def test_serve_until_prints_every_attempt_then_stops() -> None:
    """In-process: the banner, a failed attempt, the retry and the give-up; stop ends it with 0."""
    out = _Screen()
    console = Console(file=out, width=200)
    dead = f"http://127.0.0.1:{free_port()}/hook"
    sandbox = Sandbox(api_key=KEY, webhook_retry_base=0.05, webhook_max_retries=1)
    sandbox.register_webhook(dead)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_until(stop, console, sandbox, "127.0.0.1", 0))
    await out.wait_for("Ctrl+C to stop.", 20)
    async with LeanClient(
        api_key=KEY, base_url=sandbox.base_url, transport=sandbox.transport()
    ) as lean:
        await lean.customers.create(**_customer("uid_in"))  # type: ignore[arg-type]
    sandbox.activate_customer("uid_in")
    await out.wait_for("gave up", 10)
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    text = out.getvalue()
    assert f"Forwarding webhooks to {dead}" in text
    assert f"-> {dead}: attempt 1 FAILED (ConnectError" in text
    assert "attempt 2 FAILED" in text
    assert "gave up, no more retries" in text


async def test_serve_until_reports_a_taken_port() -> None:
    """A port already in use ends the command with status 1 and says why."""
    out = io.StringIO()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        status = await serve_until(asyncio.Event(), Console(file=out), Sandbox(), "127.0.0.1", port)
    assert status == 1
    assert "could not start" in out.getvalue()


async def _read_until(stream: asyncio.StreamReader, needles: list[str], seconds: float) -> str:
    """Read lines until every needle was seen (at most *seconds*); return what was read."""
    seen = ""
    async with asyncio.timeout(seconds):
        while not all(n in seen for n in needles):
            line = await stream.readline()
            if not line:
                break
            seen += line.decode()
    return seen


async def test_forward_to_delivers_signed_webhooks_and_prints_failures(backend: Backend) -> None:
    """The sandbox POSTs a verified webhook to the app; a dead receiver's retries are printed."""
    received: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)

    app = web.Application()
    app.router.add_post("/hook", webhook_handler(api_key=KEY, handler=on_event))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    live = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "lean-async"),
        "sandbox",
        "--port",
        str(port),
        "--api-key",
        KEY,
        "--forward-to",
        live,
        "--forward-to",
        dead,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        banner = await _read_until(proc.stdout, ["Ctrl+C to stop."], 20)
        assert f"Forwarding webhooks to {live}" in banner
        assert f"Forwarding webhooks to {dead}" in banner
        base_url = f"http://127.0.0.1:{port}/api"
        async with LeanClient(api_key=KEY, base_url=base_url, backend=backend) as lean:
            await lean.customers.create(**_customer("uid_fwd"))  # type: ignore[arg-type]
        async with httpx.AsyncClient(auth=(KEY, ""), trust_env=False) as http:
            activated = await http.post(
                f"http://127.0.0.1:{port}/_sandbox/customers/uid_fwd/activate"
            )
        assert activated.status_code == 200
        console = await _read_until(
            proc.stdout, [f"{live}: 200 delivered", f"{dead}: attempt 2 FAILED"], 15
        )
    finally:
        proc.terminate()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        await runner.cleanup()
    assert proc.returncode == 0  # SIGTERM stops it cleanly
    assert [(e.type, e.data.partner_user_id) for e in received] == [("customer.active", "uid_fwd")]
    assert f"webhook customer.active {received[0].id} -> {live}: 200 delivered" in console
    assert f"-> {dead}: attempt 1 FAILED (ConnectError" in console
    assert "will retry" in console
    assert "POST /api/customer" in console


def test_a_burst_of_attempts_is_summed_up_in_one_line() -> None:
    """Past the lines printed per look, the rest is one line counting each outcome."""
    from lean_async.cli._sandbox_command import _more_line

    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def attempt(outcome: DeliveryAttemptOutcome) -> Delivery:
        return Delivery(
            event_id="evt_1",
            event_type="gig.completed",
            destination="http://x/h",
            at=at,
            attempt=1,
            status_code=200,
            outcome=outcome,
        )

    rest = [attempt(DeliveryAttemptOutcome.DELIVERED)] * 5 + [
        attempt(DeliveryAttemptOutcome.RETRYING)
    ] * 2
    assert _more_line(rest).plain == (
        "... and 7 more webhook attempts: 5 delivered, 2 failed, will retry"
    )
    gave_up = _more_line([attempt(DeliveryAttemptOutcome.GAVE_UP)])
    assert gave_up.plain.endswith("1 gave up")
    assert gave_up.style == "bold red"


def test_a_client_ca_without_a_server_certificate_is_a_usage_error(tmp_path: Path) -> None:
    """--tls-client-ca alone cannot serve HTTPS: refused before anything starts."""
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    result = CliRunner().invoke(main, ["sandbox", "--tls-client-ca", str(ca)])
    assert result.exit_code == 2
    assert "--tls-client-ca needs --tls-cert and --tls-key" in result.output


def test_a_workers_file_that_cannot_be_read_is_a_bad_parameter(tmp_path: Path) -> None:
    """--workers-for a file that is not UTF-8 text names the file and the option."""
    path = tmp_path / "payroll.csv"
    path.write_bytes("partnerUserId\nuid_caf\u00e9\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["sandbox", "--workers-for", str(path)])
    assert result.exit_code == 2
    assert f"cannot read {path}" in result.output
    assert "--workers-for" in result.output
