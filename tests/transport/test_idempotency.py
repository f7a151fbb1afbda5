"""Tests for the idempotency layer."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lean_async.transport import IdempotencyTransport, RetryPolicy, RetryTransport
from lean_async.transport import extensions as ext
from lean_async.transport.idempotency import new_key
from tests.transport.helpers import Server, Sleep, build


@pytest.mark.parametrize("key", [None, ""])
async def test_a_post_without_a_key_is_refused(key: str | None) -> None:
    """The layer makes no key (LeanClient makes each call's): a keyless POST is not sent."""
    server = Server(200)
    request = build("POST")
    if key is not None:
        request.headers["Idempotency-Key"] = key
    with pytest.raises(ValueError, match="needs an Idempotency-Key"):
        await IdempotencyTransport(server.transport()).handle_async_request(request)
    assert server.attempts == 0
    assert ext.IDEMPOTENCY_KEY not in request.extensions


async def test_the_clients_key_is_sent_as_it_made_it() -> None:
    """A key already recorded (header and extension, as LeanClient sets them) is untouched."""
    server = Server(200)
    request = build("POST")
    request.headers["Idempotency-Key"] = "made-by-the-client"
    request.extensions[ext.IDEMPOTENCY_KEY] = "made-by-the-client"
    await IdempotencyTransport(server.transport()).handle_async_request(request)
    assert server.seen[0].headers["idempotency-key"] == "made-by-the-client"
    assert ext.get_idempotency_key(request) == "made-by-the-client"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_other_methods_get_no_key(method: str) -> None:
    """Only POSTs are given a key."""
    server = Server(200)
    request = build(method)
    await IdempotencyTransport(server.transport()).handle_async_request(request)
    assert "idempotency-key" not in server.seen[0].headers
    assert ext.IDEMPOTENCY_KEY not in request.extensions


async def test_callers_key_is_kept() -> None:
    """A key the caller set is sent unchanged and recorded."""
    server = Server(200)
    request = build("POST")
    request.headers["Idempotency-Key"] = "payout-2024-06-01-w42"
    await IdempotencyTransport(server.transport()).handle_async_request(request)
    assert server.seen[0].headers["idempotency-key"] == "payout-2024-06-01-w42"
    assert request.extensions[ext.IDEMPOTENCY_KEY] == "payout-2024-06-01-w42"


@pytest.mark.parametrize("failure", [503, httpx.ConnectError, httpx.ReadTimeout])
async def test_same_key_on_every_retry_attempt(failure: int | type[httpx.TransportError]) -> None:
    """Above the retry layer, every attempt of one call carries the same key."""
    server = Server(failure, failure, 201)
    transport = IdempotencyTransport(RetryTransport(server.transport(), RetryPolicy(sleep=Sleep())))
    async with httpx.AsyncClient(transport=transport) as client:
        request = client.build_request(
            "POST",
            "https://api.example/specialpayment",
            json={},
            headers={"Idempotency-Key": new_key()},
            extensions={ext.REPLAY_SAFE: True},
        )
        response = await client.send(request)
    assert response.status_code == 201
    keys = {seen.headers["idempotency-key"] for seen in server.seen}
    assert server.attempts == 3
    assert len(keys) == 1
    assert keys == {ext.get_idempotency_key(response.request)}


async def test_repr_and_aclose() -> None:
    """The repr names the layer and closing it closes the inner transport."""
    closed: list[bool] = []

    class Inner(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append(True)

    transport = IdempotencyTransport(Inner())
    assert repr(transport).startswith("IdempotencyTransport(")
    await transport.aclose()
    assert closed == [True]


def test_new_keys_are_random_version_4_uuids() -> None:
    """new_key() gives canonical uuid4 text (version 4, RFC variant), never repeating."""
    keys = [new_key() for _ in range(2000)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        parsed = uuid.UUID(key)
        assert str(parsed) == key
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
