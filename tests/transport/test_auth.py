"""Tests for the auth layer, and that the API key never leaks."""

from __future__ import annotations

import asyncio
import base64
import logging

import httpx
import pytest

from lean_async._config import Secret
from lean_async.errors import APIConnectionError, APIStatusError
from lean_async.transport import AuthTransport, RetryPolicy, build_stack
from lean_async.transport import extensions as ext
from tests.transport.helpers import Seen, Server, Sleep

KEY = "sk_live_SUPERSECRET_1234"
ENCODED = base64.b64encode(f"{KEY}:".encode()).decode()


async def test_sets_exact_basic_header() -> None:
    """The header is Basic base64(key + ':'), the key as username and no password."""
    server = Server(200)
    async with httpx.AsyncClient(transport=AuthTransport(server.transport(), Secret(KEY))) as c:
        await c.get("https://api.example/gig")
    assert server.seen[0].headers["authorization"] == f"Basic {ENCODED}"
    assert base64.b64decode(ENCODED) == b"sk_live_SUPERSECRET_1234:"


async def test_replaces_a_callers_authorization_header() -> None:
    """A caller's Authorization header is replaced by the client's key."""
    server = Server(200)
    transport = AuthTransport(server.transport(), Secret(KEY))
    request = httpx.Request("GET", "https://api.example/", headers={"Authorization": "Bearer x"})
    await transport.handle_async_request(request)
    assert server.seen[0].headers["authorization"] == f"Basic {ENCODED}"


async def test_non_ascii_key_is_utf8_encoded() -> None:
    """A key outside ASCII is encoded as UTF-8 before base64."""
    server = Server(200)
    transport = AuthTransport(server.transport(), Secret("clé"))
    await transport.handle_async_request(httpx.Request("GET", "https://api.example/"))
    token = server.seen[0].headers["authorization"].removeprefix("Basic ")
    assert base64.b64decode(token) == "clé:".encode()


async def test_request_is_redacted_once_sent() -> None:
    """The server gets the key; the request object the caller keeps holds a marker."""
    server = Server(200)
    request = httpx.Request("GET", "https://api.example/gig")
    response = await AuthTransport(server.transport(), Secret(KEY)).handle_async_request(request)
    assert server.seen[0].headers["authorization"] == f"Basic {ENCODED}"
    assert request.headers["authorization"] == "Basic [REDACTED]"
    assert response.status_code == 200


async def test_request_is_redacted_when_the_send_fails() -> None:
    """A send that raises leaves the request, and the exception's request, redacted."""
    request = httpx.Request("GET", "https://api.example/gig")
    transport = AuthTransport(Server(httpx.ReadError).transport(), Secret(KEY))
    with pytest.raises(httpx.ReadError) as caught:
        await transport.handle_async_request(request)
    assert caught.value.request.headers["authorization"] == "Basic [REDACTED]"


async def test_request_is_redacted_when_the_send_is_cancelled() -> None:
    """A cancelled send leaves the request redacted."""
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()  # never set: only the cancellation ends it
        raise AssertionError("not reached")

    request = httpx.Request("GET", "https://api.example/gig")
    transport = AuthTransport(httpx.MockTransport(handler), Secret(KEY))
    task = asyncio.create_task(transport.handle_async_request(request))
    await started.wait()
    assert request.headers["authorization"] == f"Basic {ENCODED}"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert request.headers["authorization"] == "Basic [REDACTED]"


def test_repr_hides_the_key() -> None:
    """Neither the key nor the encoded header appear in the layer's repr."""
    text = repr(AuthTransport(httpx.MockTransport(Server(200)), Secret(KEY)))
    assert text.startswith("AuthTransport(")
    assert KEY not in text
    assert ENCODED not in text


async def test_aclose_closes_the_inner_transport() -> None:
    """Closing the layer closes the transport it wraps."""
    closed: list[bool] = []

    class Inner(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append(True)

    await AuthTransport(Inner(), Secret(KEY)).aclose()
    assert closed == [True]


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
async def test_key_never_in_logs_reprs_or_errors(
    caplog: pytest.LogCaptureFixture, level: int
) -> None:
    """Through retries, failures and errors, no log line, repr or message holds the key."""
    caplog.set_level(level)
    server = Server(503, 200, httpx.ConnectError, 401)
    stack = build_stack(
        server.transport(), api_key=Secret(KEY), policy=RetryPolicy(sleep=Sleep()), budget=None
    )
    texts = [repr(stack)]
    async with httpx.AsyncClient(transport=stack) as client:
        texts.append(repr(await client.get("https://api.example/gig")))
        request = client.build_request(
            "POST",
            "https://api.example/specialpayment",
            json={},
            headers={"Idempotency-Key": "k-auth"},
            extensions={ext.MAX_RETRIES: 0},
        )
        with pytest.raises(APIConnectionError) as connect_failure:
            await client.send(request)
        with pytest.raises(APIStatusError) as unauthorised:
            await client.get("https://api.example/customer/1")
    for exc in (connect_failure.value, unauthorised.value):
        texts += [str(exc), repr(exc), str(exc.__cause__), repr(exc.__dict__)]
    texts.append(repr(unauthorised.value.response.request.headers))
    texts.append(repr(dict(unauthorised.value.response.request.headers)))
    texts.append(repr(dict(connect_failure.value.__cause__.request.headers)))
    texts.append(caplog.text)
    assert caplog.records
    for text in texts:
        assert KEY not in text
        assert ENCODED not in text


async def test_one_authorization_header_on_every_attempt() -> None:
    """A retried request (already holding the redacted marker) is sent with one header."""
    server = Server(200)
    transport = AuthTransport(server.transport(), Secret(KEY))
    request = httpx.Request("GET", "https://api.example/gig", headers={"Accept": "x"})
    for _ in range(3):
        await transport.handle_async_request(request)
    assert [_authorizations(seen) for seen in server.seen] == [[f"Basic {ENCODED}"]] * 3
    assert request.headers.get_list("authorization") == ["Basic [REDACTED]"]
    assert request.headers["accept"] == "x"


async def test_a_repeated_authorization_header_is_replaced_whole() -> None:
    """Two caller Authorization headers become the one credential, then one marker."""
    server = Server(200)
    transport = AuthTransport(server.transport(), Secret(KEY))
    headers = [("Authorization", "Bearer a"), ("Authorization", "Bearer b")]
    request = httpx.Request("GET", "https://api.example/", headers=headers)
    await transport.handle_async_request(request)
    assert _authorizations(server.seen[0]) == [f"Basic {ENCODED}"]
    assert request.headers.get_list("authorization") == ["Basic [REDACTED]"]


async def test_an_inner_transport_that_rewrites_headers_still_leaves_a_marker() -> None:
    """If the sender reorders the headers, the credential is still redacted afterwards."""

    class Reordering(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            request.headers = httpx.Headers(list(reversed(request.headers.raw)))
            return httpx.Response(200)

    request = httpx.Request("GET", "https://api.example/", headers={"Accept": "x", "B": "y"})
    await AuthTransport(Reordering(), Secret(KEY)).handle_async_request(request)
    assert request.headers.get_list("authorization") == ["Basic [REDACTED]"]
    assert KEY not in repr(request.headers.raw)
    assert ENCODED not in repr(request.headers.raw)


def _authorizations(seen: Seen) -> list[str]:
    """The Authorization values one attempt carried, each repeated header on its own."""
    return [value for name, value in seen.header_items if name == "authorization"]
