"""Signed webhook deliveries: in-process listeners, a real HTTP receiver, retries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import shutil
import socket
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from lean_async.sandbox import WEBHOOK_LOGGER, DeliveryAttemptOutcome, Sandbox

from .conftest import Scope, add_active_customer, customer_body, gig_body, serve_asgi

NODE_HMAC = (
    "const c = require('crypto');"
    "const body = require('fs').readFileSync(0);"
    "process.stdout.write(c.createHmac('sha1', process.argv[1]).update(body).digest('base64'));"
)


def python_signature(body: bytes, key: str) -> str:
    """Return base64(HMAC-SHA1(key, body)) computed with the standard library."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha1).digest()).decode()


async def node_signature(body: bytes, key: str) -> str:
    """Return the signature Node's crypto module computes for *body*."""
    process = await asyncio.create_subprocess_exec(
        "node",
        "-e",
        NODE_HMAC,
        key,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, _ = await process.communicate(body)
    assert process.returncode == 0
    return out.decode()


class Recorder:
    """An in-process listener that records deliveries and fails the first *fail* ones."""

    def __init__(self, fail: int = 0, status: int = 500) -> None:
        self.fail = fail
        self.status = status
        self.calls: list[tuple[bytes, dict[str, str]]] = []

    async def __call__(self, body: bytes, headers: Mapping[str, str]) -> int | None:
        """Record one delivery; answer *status* while failures remain."""
        self.calls.append((body, dict(headers)))
        if len(self.calls) <= self.fail:
            return self.status
        return None


class Receiver:
    """A tiny ASGI webhook receiver that fails its first *fail* requests with 500."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests: list[tuple[bytes, dict[str, str]]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Record the request and answer 500 or 200."""
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((body, headers))
        status = 500 if len(self.requests) <= self.fail else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_listener_gets_a_signed_body(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """A listener receives the documented body, signed with HMAC-SHA1 of the key."""
    recorder = Recorder()
    sandbox.add_webhook_listener(recorder)
    await add_active_customer(api, sandbox)
    await sandbox.advance()
    [(body, headers)] = recorder.calls
    assert headers["Content-Type"] == "application/json"
    assert hmac.compare_digest(headers["x-lean-signature"], python_signature(body, sandbox.api_key))
    event = json.loads(body)
    assert set(event) == {"id", "event", "data", "createdAt"}
    assert event["id"].startswith("evt_")
    assert event["event"] == "customer.active"
    assert event["data"]["partnerUserId"] == "uid_1"
    assert event["data"]["status"] == "ACTIVE"
    assert event["createdAt"] == "2025-01-01T00:00:00.000Z"
    assert event == sandbox.events[0].raw
    [delivery] = sandbox.deliveries
    assert delivery.outcome == DeliveryAttemptOutcome.DELIVERED
    assert delivery.destination == "listener:Recorder"
    assert delivery.status_code == 200


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
async def test_node_computes_the_same_signature(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """Node's crypto.createHmac('sha1', key) over the raw body matches the header."""
    recorder = Recorder()
    sandbox.add_webhook_listener(recorder)
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1, description="Ride — café ☕"))
    await sandbox.advance(1)
    assert len(recorder.calls) == 2
    for body, headers in recorder.calls:
        assert await node_signature(body, sandbox.api_key) == headers["x-lean-signature"]


async def test_real_http_receiver(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """Deliveries reach a real HTTP server on 127.0.0.1, signed as Python and Node agree."""
    receiver = Receiver()
    async with serve_asgi(receiver) as url:
        sandbox.register_webhook(url + "/hook")
        sandbox.register_webhook(url + "/hook")  # twice is once
        assert sandbox.webhook_urls == [url + "/hook"]
        await add_active_customer(api, sandbox)
        await api.post("/gig", json=gig_body(1))
        await sandbox.advance(1)
    assert len(receiver.requests) == 2
    for body, headers in receiver.requests:
        assert headers["content-type"] == "application/json"
        assert headers["x-lean-signature"] == python_signature(body, sandbox.api_key)
        if shutil.which("node") is not None:
            assert headers["x-lean-signature"] == await node_signature(body, sandbox.api_key)
    assert [json.loads(b)["event"] for b, _ in receiver.requests] == [
        "customer.active",
        "gig.completed",
    ]
    assert all(d.destination == url + "/hook" for d in sandbox.deliveries)


async def test_receiver_failing_twice_gets_the_third(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A receiver failing the first 2 deliveries gets the same bytes on the 3rd."""
    receiver = Receiver(fail=2)
    async with serve_asgi(receiver) as url:
        sandbox.register_webhook(url)
        await add_active_customer(api, sandbox)
        await sandbox.advance(0)
        assert len(receiver.requests) == 1
        await sandbox.advance(0.5)
        assert len(receiver.requests) == 2
        await sandbox.advance(1.0)
        assert len(receiver.requests) == 3
        await sandbox.advance(60)
    assert len(receiver.requests) == 3
    assert len({body for body, _ in receiver.requests}) == 1
    outcomes = [(d.attempt, d.status_code, d.outcome) for d in sandbox.deliveries]
    assert outcomes == [
        (1, 500, DeliveryAttemptOutcome.RETRYING),
        (2, 500, DeliveryAttemptOutcome.RETRYING),
        (3, 200, DeliveryAttemptOutcome.DELIVERED),
    ]


async def test_always_failing_receiver_gets_exactly_six_attempts(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """1 attempt + 5 retries with exponential backoff, then the sandbox gives up."""
    recorder = Recorder(fail=100, status=503)
    receiver = Receiver(fail=100)
    sandbox.add_webhook_listener(recorder)
    async with serve_asgi(receiver) as url:
        sandbox.register_webhook(url)
        await add_active_customer(api, sandbox)
        await sandbox.advance(3600)
    assert len(recorder.calls) == len(receiver.requests) == 6
    for destination in (url, "listener:Recorder"):
        log = [d for d in sandbox.deliveries if d.destination == destination]
        attempts = [(d.attempt, d.outcome) for d in log]
        assert attempts == [(n, DeliveryAttemptOutcome.RETRYING) for n in range(1, 6)] + [
            (6, DeliveryAttemptOutcome.GAVE_UP)
        ]
        offsets = [(d.at - log[0].at).total_seconds() for d in log]
        assert offsets == [0, 0.5, 1.5, 3.5, 7.5, 15.5]
    assert sandbox.pending_jobs == 0


async def test_listener_exception_is_a_failed_attempt(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A listener that raises gets retried, and the error is logged in the delivery."""
    calls: list[int] = []

    async def flaky(body: bytes, headers: Mapping[str, str]) -> int | None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("receiver down")
        return 204

    sandbox.add_webhook_listener(flaky)
    await add_active_customer(api, sandbox)
    await sandbox.advance(1)
    first, second = sandbox.deliveries
    assert first.error == "ConnectionError: receiver down"
    assert first.status_code is None
    assert second.status_code == 204
    assert second.outcome == DeliveryAttemptOutcome.DELIVERED
    assert first.destination.endswith("flaky")


async def test_unreachable_url_is_retried_then_given_up(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """A URL nobody listens on fails each attempt with a connection error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sandbox.register_webhook(f"http://127.0.0.1:{port}/hook")
    await add_active_customer(api, sandbox)
    await sandbox.advance(3600)
    assert len(sandbox.deliveries) == 6
    assert all(d.status_code is None for d in sandbox.deliveries)
    assert sandbox.deliveries[0].error is not None
    assert sandbox.deliveries[0].error.startswith("ConnectError")


async def test_unregistered_destinations_get_nothing_new(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """Removing a listener or URL stops deliveries of later events."""
    recorder = Recorder()
    sandbox.add_webhook_listener(recorder)
    sandbox.register_webhook("http://127.0.0.1:9/never")
    sandbox.remove_webhook_listener(recorder)
    sandbox.remove_webhook_listener(recorder)
    sandbox.unregister_webhook("http://127.0.0.1:9/never")
    sandbox.unregister_webhook("http://127.0.0.1:9/never")
    await api.post("/customer", json=customer_body())
    sandbox.activate_customer("uid_1")
    await sandbox.advance(60)
    assert recorder.calls == []
    assert sandbox.deliveries == ()
    assert len(sandbox.events) == 1


async def test_every_event_type_is_delivered(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """All six documented event types come out of the lifecycle."""
    recorder = Recorder()
    sandbox.add_webhook_listener(recorder)
    await add_active_customer(api, sandbox)
    await api.post("/gig", json=gig_body(1))
    await api.post(
        "/specialpayment", json={"partnerUserId": "uid_1", "amount": "1", "type": "bonus"}
    )
    sandbox.fail_next_payments(2)
    await api.post("/gig", json=gig_body(2))
    await api.post(
        "/specialpayment", json={"partnerUserId": "uid_1", "amount": "1", "type": "bonus"}
    )
    await sandbox.advance(1)
    sandbox.deactivate_customer("uid_1")
    await sandbox.advance()
    types = [json.loads(body)["event"] for body, _ in recorder.calls]
    assert sorted(types) == sorted(
        [
            "customer.active",
            "gig.completed",
            "specialpayment.completed",
            "gig.failed",
            "specialpayment.failed",
            "customer.inactive",
        ]
    )


@pytest.mark.parametrize(
    "url", ["/webhooks/lean", "localhost:8000/hook", "mailto:a@b.c", "", "http://[::1"]
)
def test_register_webhook_refuses_what_is_not_an_http_url(sandbox: Sandbox, url: str) -> None:
    """register_webhook raises ValueError, with an example, for a URL it could never POST to."""
    with pytest.raises(ValueError, match=r"e\.g\. http://127\.0\.0\.1:8000/webhooks/lean"):
        sandbox.register_webhook(url)
    assert sandbox.webhook_urls == []


async def test_each_attempt_is_logged_with_what_happened(
    api: httpx.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Failed attempts log at WARNING (status or error, retry or give-up); delivered at INFO."""
    caplog.set_level(logging.INFO, logger=WEBHOOK_LOGGER)
    sandbox.add_webhook_listener(Recorder(fail=1, status=503))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sandbox.register_webhook(f"http://user:secret@127.0.0.1:{port}/hook")
    await add_active_customer(api, sandbox)
    await sandbox.advance(3600)
    records = [r for r in caplog.records if r.name == WEBHOOK_LOGGER]
    listener = [r for r in records if r.lean_destination == "listener:Recorder"]
    assert [(r.levelno, r.lean_outcome) for r in listener] == [
        (logging.WARNING, "retrying"),
        (logging.INFO, "delivered"),
    ]
    assert (
        listener[0]
        .getMessage()
        .endswith("-> listener:Recorder: attempt 1/6 failed (status 503); retrying in 0.5 s")
    )
    assert listener[0].getMessage().startswith("webhook customer.active evt_")
    assert listener[1].getMessage().endswith("delivered (attempt 2/6, status 200)")
    url = [r for r in records if r not in listener]
    assert len(url) == 6
    assert all(r.levelno == logging.WARNING for r in url)
    assert "failed (ConnectError" in url[0].getMessage()
    assert url[-1].getMessage().endswith("gave up")
    assert url[-1].lean_retry_in is None
    assert all("secret" not in r.getMessage() for r in records)


def test_webhook_logger_is_under_the_sandbox_logger() -> None:
    """The delivery logger's name is stable and a child of lean_async.sandbox."""
    assert WEBHOOK_LOGGER == "lean_async.sandbox.webhooks"


async def test_forward_to_an_app_that_raises_is_a_failed_attempt(
    api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """An exception inside the forwarded-to app is recorded as the attempt's error and retried."""
    calls: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        if len(calls) == 1:
            raise RuntimeError("database down")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    listener = sandbox.forward_webhooks_to(app, path="/hooks/lean")
    assert repr(listener) == "<ASGIForwarder asgi:/hooks/lean>"
    await add_active_customer(api, sandbox)
    await sandbox.advance(1)
    first, second = sandbox.deliveries
    assert (first.error, second.status_code) == ("RuntimeError: database down", 204)
    assert calls == ["/hooks/lean", "/hooks/lean"]
    sandbox.remove_webhook_listener(listener)
    sandbox.deactivate_customer("uid_1")
    await sandbox.advance(1)
    assert len(calls) == 2


def test_forward_path_must_be_absolute(sandbox: Sandbox) -> None:
    """forward_webhooks_to needs a path starting with '/'."""
    with pytest.raises(ValueError, match="must start with '/'"):
        sandbox.forward_webhooks_to(Receiver(), path="webhooks/lean")
