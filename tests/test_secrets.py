"""The API key reaches no object a user can hold: responses, errors, causes, pickles."""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from lean_async import (
    APIConnectionError,
    APIStatusError,
    LeanClient,
    NotFoundError,
    PermissionDeniedError,
)
from lean_async._config import Backend
from lean_async.testing import set_testing
from tests.transport.helpers import reachable_secrets

KEY = "sk_live_AUDIT_7f3a9b2c"
TOKEN = base64.b64encode(f"{KEY}:".encode()).decode()
SECRETS = (KEY, TOKEN)


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Retry without waiting."""
    set_testing(True)
    yield
    set_testing(False)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one HTTP/1.1 request: GET /api/gig 200, /api/gig/<id> 404, else a 403 echo."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line = head.split(b"\r\n", 1)[0].decode()
    path = request_line.split(" ")[1]
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    if length:
        await reader.readexactly(length)
    if path == "/api/gig":
        status, body = "200 OK", b"[]"
    elif path.startswith("/api/gig/"):
        status, body = "404 Not Found", b'{"message": "no such gig"}'
    else:
        auth = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"authorization:")
        )
        key = base64.b64decode(auth.removeprefix("Basic ")).decode().rstrip(":")
        message = f"key {key} is not allowed from this IP ({auth})"
        status, body = "403 Forbidden", json.dumps({"message": message}).encode()
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()


@pytest.fixture
async def lean(backend: Backend) -> AsyncIterator[LeanClient]:
    """A client on each socket backend, talking to a local echoing server."""
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with LeanClient(
            api_key=KEY, base_url=f"http://127.0.0.1:{port}/api", max_retries=0, backend=backend
        ) as client:
            yield client
    finally:
        server.close()
        await server.wait_closed()


def assert_no_secret(*objects: object) -> None:
    """Nothing reachable from *objects*, nor their str/repr/pickle, holds the key."""
    for obj in objects:
        assert reachable_secrets(obj, SECRETS) == []
        for text in (str(obj), repr(obj)):
            assert KEY not in text
            assert TOKEN not in text


async def test_responses_returned_hold_no_key(lean: LeanClient) -> None:
    """A 2xx response handed to the caller holds the redacted marker, not the key."""
    response = await lean.request("GET", "gig")
    assert response.request.headers["authorization"] == "Basic [REDACTED]"
    assert_no_secret(response)


async def test_status_error_holds_no_key(lean: LeanClient) -> None:
    """An APIStatusError, its response, request, cause and pickle hold no key."""
    with pytest.raises(NotFoundError) as caught:
        await lean.gigs.get("g1")
    error = caught.value
    assert dict(error.response.request.headers)["authorization"] == "Basic [REDACTED]"
    assert_no_secret(error)
    assert KEY.encode() not in pickle.dumps(error)
    assert TOKEN.encode() not in pickle.dumps(error)


async def test_echoed_key_is_redacted_everywhere(lean: LeanClient) -> None:
    """A 403 quoting the key and its Basic token shows [REDACTED] in every field."""
    with pytest.raises(PermissionDeniedError) as caught:
        await lean.request("POST", "specialpayment", json={})
    error = caught.value
    assert error.message == "key [REDACTED] is not allowed from this IP (Basic [REDACTED])"
    assert error.body == {"message": error.message}
    assert "[REDACTED]" in error.response.text
    assert error.response.json() == error.body
    assert_no_secret(error, error.response.text, error.body, pickle.dumps(error))


async def test_connection_error_and_its_cause_hold_no_key() -> None:
    """A transport failure quoting the header is redacted, and its chained cause too."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(
            f"illegal header value {request.headers['authorization']!r}", request=request
        )

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        with pytest.raises(APIConnectionError) as caught:
            await lean.gigs.list()
    error = caught.value
    assert "[REDACTED]" in error.message
    assert isinstance(error.__cause__, httpx.LocalProtocolError)
    assert "[REDACTED]" in str(error.__cause__)
    assert_no_secret(error, error.__cause__)
    assert error.__cause__.request.headers["authorization"] == "Basic [REDACTED]"


async def test_cancelled_request_holds_no_key() -> None:
    """A request whose send was cancelled is left with the redacted header."""
    sent: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        await asyncio.Event().wait()  # until the caller's timeout cancels it
        raise AssertionError("not reached")

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await lean.gigs.list()
    assert sent[0].headers["authorization"] == "Basic [REDACTED]"


async def test_raw_stack_users_get_redacted_requests() -> None:
    """Through the raw stack, every attempt is authorised and what comes back is not."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(503 if len(seen) < 3 else 200, json=[])

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        response = await lean.request("GET", "gig")
    assert seen == [f"Basic {TOKEN}"] * 3
    assert_no_secret(response)


def test_status_error_pickle_has_no_request_headers() -> None:
    """A pickled APIStatusError keeps the response but none of the request's headers."""
    request = httpx.Request(
        "GET", "https://h/api/gig/1", headers={"Authorization": f"Basic {TOKEN}"}
    )
    response = httpx.Response(404, json={"message": "gone"}, request=request)
    error = NotFoundError("gone", response=response, method="GET", url="https://h/api/gig/1")
    data = pickle.dumps(error)
    assert TOKEN.encode() not in data
    copy = pickle.loads(data)  # noqa: S301 - our own bytes
    assert isinstance(copy, APIStatusError)
    assert copy.response.json() == {"message": "gone"}
    assert copy.response.request.url == "https://h/api/gig/1"
    assert "authorization" not in copy.response.request.headers
