"""Every error path a service meets, each producing what an error tracker would capture.

A scenario is an async function taking the live `SentryCapture`: it provokes errors the
way a service would meet them and either captures them as an application's handler
does (``capture_exception``) or lets a served app's framework integration capture the
unhandled one. It returns the errors it saw, so that they can also be formatted with
``capture_locals=True``. `run_all` runs every scenario and counts the secrets in what
each one produced.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, Final

import httpx

from lean_async import LeanClient, LeanError
from lean_async.sandbox import Sandbox
from lean_async.sandbox._server import running_server
from lean_async.testing import set_testing, signed_delivery
from lean_async.webhooks import ClaimStatus, MemoryDedupStore, handle_delivery, parse, sign, verify
from lean_async.webhooks._signature import normalize_keys
from tests.frames.capture import (
    SentryCapture,
    count_secrets,
    locals_text,
    needles_for,
    reachable_in_frames,
)

__all__ = ["KEYS", "SCENARIOS", "ScenarioResult", "run_all", "run_scenario"]

KEY: Final = "sk_live_FRAMES_4d2c9e7a1b"
"""The API key; also the key Lean signs webhooks with."""
OLD_KEY: Final = "sk_live_ROTATED_OUT_77c1f0"
"""The key before a rotation: both verify during it."""
WRONG_KEY: Final = "sk_live_WRONG_19be3d2f"
"""A key the sandbox refuses (401)."""
KEYS: Final = (KEY, OLD_KEY, WRONG_KEY)
PROXY_USER: Final = "egress-frames"
PROXY_PASSWORD: Final = "pr0xy-S3cret-frames"
"""Proxy credentials: secrets like the key."""
PROXY: Final = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9"
_REMOTE: Final = "https://lean.example.com/api"  # never reached: the proxy is down

EVENT: Final = {"id": "evt_1", "event": "gig.completed", "data": {"gigId": "g"}}
START: Final = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

Scenario = Callable[[SentryCapture], Awaitable[list[BaseException]]]


def _caught(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("expected the call to raise")


async def _acaught(call: Callable[[], Awaitable[object]]) -> BaseException:
    try:
        await call()
    except BaseException as exc:  # CancelledError from a user's timeout included
        return exc
    raise AssertionError("expected the call to raise")


def _captured(capture: SentryCapture, errors: list[BaseException]) -> list[BaseException]:
    for error in errors:
        capture.capture(error)
    return errors


# --- webhooks ---------------------------------------------------------------------------

_BODY, _HEADERS = signed_delivery(EVENT, KEY)
_OLD_SIGNED = sign(_BODY, "sk_live_SOMEONE_ELSE_000")
_NOT_JSON = b"not json"
_NOT_OBJECT = b"[1, 2]"


async def verify_errors(capture: SentryCapture) -> list[BaseException]:
    """Forged, malformed, missing, oversized and mistyped deliveries through `verify`."""
    calls: list[Callable[[], object]] = [
        lambda: verify(_BODY, _OLD_SIGNED, KEY),  # forged
        lambda: verify(_BODY, _OLD_SIGNED, [OLD_KEY, KEY]),  # forged, during a rotation
        lambda: verify(_BODY, "not base64!!", KEY),  # malformed
        lambda: verify(_BODY, None, [OLD_KEY, KEY]),  # missing
        lambda: verify(_BODY * 100, _OLD_SIGNED, KEY, max_body_bytes=10),  # too large
        lambda: verify(_BODY.decode(), _OLD_SIGNED, KEY),  # type: ignore[arg-type]
        lambda: verify(_BODY, _OLD_SIGNED, [KEY, 3]),  # type: ignore[list-item]
        lambda: verify(_BODY, _OLD_SIGNED, [OLD_KEY, ""]),
        lambda: verify(_BODY, _OLD_SIGNED, KEY, max_body_bytes=-1),
        lambda: sign(_BODY.decode(), KEY),  # type: ignore[arg-type]
        lambda: normalize_keys([KEY, None]),  # type: ignore[list-item]
        lambda: signed_delivery({"amount": Decimal("1.00")}, KEY),  # not JSON-serialisable
    ]
    return _captured(capture, [_caught(call) for call in calls])


async def parse_errors(capture: SentryCapture) -> list[BaseException]:
    """The same refusals through `parse`, plus signed bodies that are not an event."""
    headers_for = {body: {"x-lean-signature": sign(body, KEY)} for body in (_NOT_JSON, _NOT_OBJECT)}
    calls: list[Callable[[], object]] = [
        lambda: parse(_BODY, {"x-lean-signature": _OLD_SIGNED}, KEY),
        lambda: parse(_BODY, {"x-lean-signature": _OLD_SIGNED}, [OLD_KEY, KEY]),
        lambda: parse(_BODY, {}, KEY),
        lambda: parse(_BODY, None, KEY),  # type: ignore[arg-type]
        lambda: parse(_NOT_JSON, headers_for[_NOT_JSON], [OLD_KEY, KEY]),
        lambda: parse(_NOT_OBJECT, headers_for[_NOT_OBJECT], KEY),
        lambda: parse(_BODY, _HEADERS, [KEY, b"bytes"]),  # type: ignore[list-item]
    ]
    return _captured(capture, [_caught(call) for call in calls])


class _DownStore(MemoryDedupStore):
    """A de-duplication store whose server is unreachable."""

    async def claim(self, event_id: str, token: str) -> ClaimStatus:
        raise ConnectionError("the de-duplication store is down")


async def _raising_handler(event: object) -> None:
    raise RuntimeError("the application's handler failed")


async def _quiet_handler(event: object) -> None:
    return None


async def delivery_errors(capture: SentryCapture) -> list[BaseException]:
    """`handle_delivery`: a handler raising (the returned error) and the store down."""
    errors: list[BaseException] = []
    result = await handle_delivery(
        _BODY, _HEADERS, api_key=[OLD_KEY, KEY], handler=_raising_handler, store=MemoryDedupStore()
    )
    assert result.error is not None
    errors.append(result.error)
    errors.append(
        await _acaught(
            lambda: handle_delivery(
                _BODY, _HEADERS, api_key=KEY, handler=_quiet_handler, store=_DownStore()
            )
        )
    )
    return _captured(capture, errors)


async def _post_asgi(app: Any, body: bytes, headers: dict[str, str]) -> int:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.post("/webhooks/lean", content=body, headers=headers)
        return response.status_code


async def fastapi_webhooks(capture: SentryCapture) -> list[BaseException]:
    """The FastAPI router served: store down (unhandled), handler raising, forged, refused."""
    from fastapi import Depends, FastAPI

    from lean_async.models import WebhookEvent
    from lean_async.webhooks.fastapi import verified_event, webhook_router

    statuses = []
    for store, handler in ((_DownStore(), _quiet_handler), (None, _raising_handler)):
        app = FastAPI()
        app.include_router(webhook_router(api_key=[OLD_KEY, KEY], handler=handler, store=store))
        statuses.append(await _post_asgi(app, _BODY, _HEADERS))
        statuses.append(await _post_asgi(app, _BODY, {"x-lean-signature": _OLD_SIGNED}))

    app = FastAPI()

    @app.post("/webhooks/lean")
    async def receive(event: WebhookEvent = Depends(verified_event(api_key=KEY))) -> None:  # noqa: B008
        raise RuntimeError(f"the route failed on {event.id}")

    statuses.append(await _post_asgi(app, _BODY, _HEADERS))
    statuses.append(await _post_asgi(app, _BODY, {"x-lean-signature": _OLD_SIGNED}))
    assert statuses == [500, 401, 500, 401, 500, 401], statuses
    errors = [
        _caught(lambda: webhook_router(api_key=[KEY, 1], handler=_quiet_handler)),  # type: ignore[list-item]
        _caught(lambda: webhook_router(api_key=KEY, handler=_quiet_handler, max_body_bytes=-1)),
        _caught(lambda: verified_event(api_key=[OLD_KEY, ""])),
    ]
    return _captured(capture, errors)


async def aiohttp_webhooks(capture: SentryCapture) -> list[BaseException]:
    """The aiohttp handler served on 127.0.0.1: store down, handler raising, forged."""
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer

    from lean_async.webhooks.aiohttp import webhook_handler

    statuses = []
    for store, handler in ((_DownStore(), _quiet_handler), (None, _raising_handler)):
        app = web.Application()
        app.router.add_post(
            "/webhooks/lean", webhook_handler(api_key=[OLD_KEY, KEY], handler=handler, store=store)
        )
        async with TestServer(app, host="127.0.0.1") as server, ClientSession() as session:
            for headers in (_HEADERS, {"x-lean-signature": _OLD_SIGNED}):
                async with session.post(
                    server.make_url("/webhooks/lean"), data=_BODY, headers=headers
                ) as response:
                    statuses.append(response.status)
    assert statuses == [500, 401, 500, 401], statuses
    errors = [
        _caught(lambda: webhook_handler(api_key=[KEY, 1], handler=_quiet_handler)),  # type: ignore[list-item]
        _caught(lambda: webhook_handler(api_key=KEY, handler=_quiet_handler, max_body_bytes=-1)),
    ]
    return _captured(capture, errors)


# --- the client -------------------------------------------------------------------------

_REFUSED_SETTINGS: Final[list[dict[str, Any]]] = [
    {"environment": "staging"},
    {"base_url": "http://lean.example.com/api"},
    {"base_url": "ftp://127.0.0.1/api"},
    {"max_response_bytes": 0},
    {"max_retries": -2},
    {"backend": "requests"},
    {"http_client": httpx.AsyncClient(), "transport": httpx.MockTransport(lambda r: None)},  # type: ignore[arg-type,return-value]
    {"max_connections": 0},
    {"max_keepalive_connections": -1},
    {"backoff_base": "soon"},
    {"proxy": f"ftp://{PROXY_USER}:{PROXY_PASSWORD}@proxy.internal:21"},
    {"proxy": f"http://{PROXY_USER}:{PROXY_PASSWORD}@"},
    {"proxy": PROXY, "transport": httpx.MockTransport(lambda r: None)},  # type: ignore[arg-type,return-value]
    {"proxy": PROXY, "max_response_bytes": 0},
    {"proxy": PROXY, "verify": "/nonexistent/ca.pem"},
]


async def constructor_refusals(capture: SentryCapture) -> list[BaseException]:
    """Every `LeanClient` argument it refuses, with a real key beside it."""
    # By index: a frame of this module holding the settings would hold the proxy URL
    # (the caller's frames are the caller's business; lean_async's are under test).
    errors = [
        _caught(lambda i=index: LeanClient(KEY, **_REFUSED_SETTINGS[i]))
        for index in range(len(_REFUSED_SETTINGS))
    ]
    errors.append(_caught(lambda: LeanClient(f"{KEY}\ud800")))  # not encodable
    return _captured(capture, errors)


def _gig(n: int) -> dict[str, Any]:
    return {
        "partner_user_id": "uid_1",
        "gig_id": f"gig_frames_{n}",
        "total_amount": "15.00",
        "tips": "0.00",
        "expenses": "0.00",
        "description": "a ride",
        "start_time": START,
        "end_time": START + dt.timedelta(minutes=40),
    }


async def status_errors(capture: SentryCapture) -> list[BaseException]:
    """404, 422 and 401 (a wrong key) from a served sandbox, on both backends."""
    errors: list[BaseException] = []
    sandbox = Sandbox(api_key=KEY)
    try:
        async with running_server(sandbox) as url:
            for backend in ("aiohttp", "httpx"):
                async with LeanClient(KEY, base_url=url, backend=backend) as lean:
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.get("nope")))
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.create(**_gig(1))))
                async with LeanClient(WRONG_KEY, base_url=url, backend=backend) as lean:
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.get("nope")))
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.create(**_gig(2))))
    finally:
        await sandbox.aclose()
    return _captured(capture, errors)


ECHOED_STATUSES: Final = (400, 401, 403, 404, 409, 422, 429, 500, 503)


@contextlib.asynccontextmanager
async def _echoing_server(status: int) -> AsyncIterator[str]:
    """A server answering *status* with the request's Authorization quoted in its body and
    in a header: the worst a misbehaving proxy or API could send back."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            quoted = b""
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
                elif name.lower() == b"authorization":
                    quoted = value.strip()
            await reader.readexactly(length)
            body = b'{"message": "refused ' + quoted + b'"}'
            writer.write(
                b"HTTP/1.1 %d Refused\r\nContent-Type: application/json\r\n"
                b"Retry-After: 0\r\nX-Seen: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (status, quoted, len(body), body)
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api"
    finally:
        server.close()
        await server.wait_closed()


async def echoed_status_errors(capture: SentryCapture) -> list[BaseException]:
    """Every status error class, from a server quoting the Authorization it was sent."""
    errors: list[BaseException] = []
    for status in ECHOED_STATUSES:
        async with _echoing_server(status) as url:
            for backend in ("aiohttp", "httpx"):
                async with LeanClient(KEY, base_url=url, backend=backend, max_retries=0) as lean:
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.get("g1")))
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.create(**_gig(6))))
    assert all(isinstance(error, LeanError) for error in errors), errors
    return _captured(capture, errors)


@contextlib.asynccontextmanager
async def _broken_server(kind: str) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that breaks each exchange: ``refused``, ``reset``,
    ``disconnect`` (closes after reading the request) or ``silent`` (never answers)."""
    if kind == "refused":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        yield f"http://127.0.0.1:{port}/api"
        return
    hold = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            if kind == "silent":
                await hold.wait()
            if kind == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api"
    finally:
        hold.set()
        server.close()
        await server.wait_closed()


async def connection_errors(capture: SentryCapture) -> list[BaseException]:
    """Refused, reset, read timeout and disconnect, GET and POST, both backends; and a
    caller's own `asyncio.timeout` cancelling a call mid-flight."""
    errors: list[BaseException] = []
    for kind in ("refused", "reset", "disconnect", "silent"):
        async with _broken_server(kind) as url:
            for backend in ("aiohttp", "httpx"):
                settings: dict[str, Any] = {"max_retries": 0, "timeout": 0.3}
                async with LeanClient(KEY, base_url=url, backend=backend, **settings) as lean:
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.get("g1")))
                    errors.append(await _acaught(lambda lean=lean: lean.gigs.create(**_gig(3))))
                if kind == "silent":
                    async with LeanClient(KEY, base_url=url, backend=backend) as lean:

                        async def cancelled(lean: LeanClient = lean) -> None:
                            async with asyncio.timeout(0.2):
                                await lean.gigs.create(**_gig(4))

                        errors.append(await _acaught(cancelled))
    for backend in ("aiohttp", "httpx"):  # an unreachable proxy that has credentials
        settings: dict[str, Any] = {"max_retries": 0, "backend": backend}
        async with LeanClient(KEY, base_url=_REMOTE, proxy=PROXY, **settings) as lean:
            errors.append(await _acaught(lambda lean=lean: lean.gigs.get("g1")))
            errors.append(await _acaught(lambda lean=lean: lean.gigs.create(**_gig(7))))
    assert all(isinstance(error, LeanError | TimeoutError) for error in errors), errors
    return _captured(capture, errors)


async def served_app_errors(capture: SentryCapture) -> list[BaseException]:
    """A connection error left unhandled in a FastAPI and an aiohttp app's route."""
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer
    from fastapi import FastAPI

    async with _broken_server("reset") as url:
        lean = LeanClient(KEY, base_url=url, max_retries=0)
        fastapi_app = FastAPI()

        @fastapi_app.post("/webhooks/lean")
        async def pay() -> None:
            await lean.gigs.create(**_gig(5))

        assert await _post_asgi(fastapi_app, b"", {}) == 500

        async def aiohttp_pay(request: web.Request) -> web.Response:
            await lean.gigs.get("g2")
            return web.Response()

        app = web.Application()
        app.router.add_post("/pay", aiohttp_pay)
        async with (
            TestServer(app, host="127.0.0.1") as server,
            ClientSession() as session,
            session.post(server.make_url("/pay")) as response,
        ):
            assert response.status == 500
        await lean.aclose()
    return []


def _leaky(api_key: str) -> None:
    headers = {"Authorization": api_key}
    raise RuntimeError(f"failed with {len(headers)} header")


async def planted_leak(capture: SentryCapture) -> list[BaseException]:
    """The control: a frame that does hold the key, which every count must find."""
    return _captured(capture, [_caught(lambda: _leaky(KEY))])


SCENARIOS: Final[dict[str, Scenario]] = {
    "planted_leak": planted_leak,
    "verify": verify_errors,
    "parse": parse_errors,
    "handle_delivery": delivery_errors,
    "fastapi": fastapi_webhooks,
    "aiohttp": aiohttp_webhooks,
    "constructor": constructor_refusals,
    "status": status_errors,
    "echoed_status": echoed_status_errors,
    "connection": connection_errors,
    "served_app": served_app_errors,
}


class ScenarioResult(dict[str, int]):
    """Counts for one scenario: ``events`` with an exception, ``errors`` formatted, and
    the secrets ``in_events`` (as sent), ``in_locals`` (``capture_locals=True``) and
    ``reachable`` (from the errors' chains and their frames' variables)."""


async def run_scenario(name: str) -> ScenarioResult:
    """Run one scenario under a fresh Sentry and count the secrets it let out."""
    proxy_token = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    needles = (*needles_for(KEYS), PROXY_PASSWORD, proxy_token)
    capture = SentryCapture()
    set_testing(True)
    try:
        with capture.installed():
            errors = await SCENARIOS[name](capture)
    finally:
        set_testing(False)
    return ScenarioResult(
        events=capture.exception_events(),
        errors=len(errors),
        in_events=count_secrets(capture.text(), needles),
        in_locals=sum(count_secrets(locals_text(error), needles) for error in errors),
        reachable=sum(reachable_in_frames(error, needles) for error in errors),
    )


def run_all() -> dict[str, ScenarioResult]:
    """Run every scenario, each in its own event loop."""
    return {name: asyncio.run(run_scenario(name)) for name in SCENARIOS}
