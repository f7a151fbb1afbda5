"""Tests for the response-limit layer, alone and in the stack."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest

from lean_async._config import DEFAULT_MAX_RESPONSE_BYTES, Secret
from lean_async.errors import APIResponseValidationError
from lean_async.transport import ResponseLimitTransport, RetryPolicy, build_stack
from lean_async.transport import extensions as ext
from tests.transport.helpers import BODY_READ_ERROR, Server, Sleep, build


class Chunks(httpx.AsyncByteStream):
    """A body of *count* chunks of *size* bytes that records how many were read."""

    def __init__(self, count: int, size: int = 1024) -> None:
        self.count = count
        self.size = size
        self.read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.read += 1
            yield b"x" * self.size

    async def aclose(self) -> None:
        self.closed = True


def streamed(stream: httpx.AsyncByteStream, **headers: str) -> httpx.MockTransport:
    """A transport answering 200 with *stream* as its body."""
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, stream=stream))


def test_default_fits_a_large_list() -> None:
    """The default limit is 64 MiB: room for 100,000 gigs (about 40 MB of JSON)."""
    assert DEFAULT_MAX_RESPONSE_BYTES == 64 * 1024 * 1024
    assert ResponseLimitTransport(Server().transport()).max_bytes == DEFAULT_MAX_RESPONSE_BYTES


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_limit_must_be_a_positive_integer(bad: object) -> None:
    """A limit that is not a positive integer is refused."""
    with pytest.raises(ValueError, match="positive integer"):
        ResponseLimitTransport(Server().transport(), bad)  # type: ignore[arg-type]


async def test_body_within_the_limit_is_read() -> None:
    """A body of exactly the limit is returned read, its stream released."""
    stream = Chunks(4, 256)
    transport = ResponseLimitTransport(streamed(stream), max_bytes=1024)
    response = await transport.handle_async_request(build())
    assert response.content == b"x" * 1024
    assert stream.read == 4
    assert stream.closed
    assert response.stream is not stream


async def test_declared_length_above_the_limit_is_refused_unread() -> None:
    """A Content-Length above the limit is refused before a byte of the body is read."""
    stream = Chunks(100)
    transport = ResponseLimitTransport(
        streamed(stream, **{"Content-Length": "102400"}), max_bytes=1000
    )
    request = build("POST", "https://api.example/specialpayment")
    request.extensions[ext.IDEMPOTENCY_KEY] = "k-7"
    request.extensions[ext.ATTEMPTS] = 2
    with pytest.raises(APIResponseValidationError) as caught:
        await transport.handle_async_request(request)
    assert stream.read == 0
    assert stream.closed
    error = caught.value
    assert (error.status_code, error.path, error.attempts, error.idempotency_key) == (
        200,
        "$",
        2,
        "k-7",
    )
    assert "max_response_bytes (1000 bytes)" in error.message


async def test_undeclared_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    """A body without Content-Length stops being read at the first chunk past the limit."""
    stream = Chunks(10_000)
    transport = ResponseLimitTransport(streamed(stream), max_bytes=4096)
    with pytest.raises(APIResponseValidationError):
        await transport.handle_async_request(build())
    assert stream.read == 5
    assert stream.closed


async def test_limit_counts_decoded_bytes() -> None:
    """A small gzip body that inflates past the limit is refused."""
    packed = gzip.compress(b"[" + b"0," * 50_000 + b"0]")
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(packed)
        )
    )
    assert len(packed) < 10_000
    with pytest.raises(APIResponseValidationError):
        await ResponseLimitTransport(transport, max_bytes=10_000).handle_async_request(build())


async def test_already_read_response_is_checked_too() -> None:
    """A response that arrives read (as from MockTransport) is held to the limit."""
    transport = ResponseLimitTransport(
        Server(httpx.Response(404, content=b"y" * 50)).transport(), 49
    )
    with pytest.raises(APIResponseValidationError) as caught:
        await transport.handle_async_request(build())
    assert caught.value.status_code == 404


async def test_oversized_answer_is_not_retried_in_the_stack() -> None:
    """The server answered: a replay-safe call refused for size is not sent again."""
    big = httpx.Response(503, content=b"z" * 100)
    server = Server(big, 200)
    stack = build_stack(
        server.transport(),
        api_key=Secret("k"),
        policy=RetryPolicy(sleep=Sleep()),
        budget=None,
        max_response_bytes=50,
    )
    async with httpx.AsyncClient(transport=stack) as client:
        request = client.build_request(
            "POST",
            "https://api.example/specialpayment",
            json={},
            headers={"Idempotency-Key": "k-oversized"},
            extensions={ext.REPLAY_SAFE: True},
        )
        with pytest.raises(APIResponseValidationError) as caught:
            await client.send(request)
    assert server.attempts == 1
    assert caught.value.status_code == 503
    assert caught.value.attempts == 1
    assert (
        caught.value.idempotency_key == server.seen[0].headers["idempotency-key"] == "k-oversized"
    )


async def test_body_read_failure_is_still_retried() -> None:
    """A body that breaks while read is a transport failure the retry layer retries."""
    server = Server(BODY_READ_ERROR, 200)
    stack = build_stack(
        server.transport(), api_key=Secret("k"), policy=RetryPolicy(sleep=Sleep()), budget=None
    )
    async with httpx.AsyncClient(transport=stack) as client:
        response = await client.get("https://api.example/gig")
    assert response.status_code == 200
    assert server.attempts == 2
    assert server.streams[0].closed


async def test_repr_and_aclose() -> None:
    """The repr shows the limit and closing the layer closes the inner transport."""
    closed: list[bool] = []

    class Inner(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append(True)

    transport = ResponseLimitTransport(Inner(), 10)
    assert repr(transport).endswith("max_bytes=10)")
    await transport.aclose()
    assert closed == [True]


async def test_unencoded_stream_is_read_whole_and_closed() -> None:
    """An identity body streamed in chunks is joined, its stream closed, the response read."""
    closed: list[bool] = []

    class Parts(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for part in (b'{"a":', b" 1", b"}"):
                yield part

        async def aclose(self) -> None:
            closed.append(True)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Parts(), headers={"Content-Length": "8"})

    limited = ResponseLimitTransport(httpx.MockTransport(handler), max_bytes=8)
    response = await limited.handle_async_request(httpx.Request("GET", "https://h/x"))
    assert response.content == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert closed == [True]
    assert response.is_closed
