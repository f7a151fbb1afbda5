"""Tests for the composed stack and the package's public surface."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

import lean_async.transport
from lean_async._config import Secret
from lean_async.errors import APIConnectionError, APITimeoutError, ServiceUnavailableError
from lean_async.transport import (
    ErrorsTransport,
    RetryBudget,
    RetryPolicy,
    build_stack,
)
from lean_async.transport import extensions as ext
from tests.transport.helpers import Clock, Server, Sleep

KEY = "sk_test_stack"
AUTH = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()


def client(server: Server, **policy: Any) -> httpx.AsyncClient:
    """Return an AsyncClient over the whole stack on *server*."""
    stack = build_stack(
        server.transport(),
        api_key=Secret(KEY),
        policy=RetryPolicy(sleep=Sleep(), **policy),
        budget=RetryBudget(),
    )
    return httpx.AsyncClient(transport=stack, base_url="https://api.example")


def test_public_surface() -> None:
    """The package exports exactly these names, sorted."""
    assert lean_async.transport.__all__ == [
        "IDEMPOTENCY_HEADER",
        "AuthTransport",
        "DeadlineExceeded",
        "ErrorsTransport",
        "IdempotencyTransport",
        "PacingTransport",
        "ResponseLimitTransport",
        "RetryBudget",
        "RetryDetails",
        "RetryPolicy",
        "RetryTransport",
        "build_stack",
        "extensions",
        "is_testing",
        "parse_retry_after",
        "set_testing",
    ]
    for name in lean_async.transport.__all__:
        assert getattr(lean_async.transport, name) is not None


def test_errors_is_outermost() -> None:
    """build_stack returns the errors layer, whose repr shows the order down to the base."""
    base = httpx.MockTransport(Server())
    stack = build_stack(base, api_key=Secret(KEY), policy=RetryPolicy(), budget=None)
    assert isinstance(stack, ErrorsTransport)
    text = repr(stack)
    order = [
        "ErrorsTransport",
        "IdempotencyTransport",
        "RetryTransport",
        "ResponseLimitTransport",
        "AuthTransport",
    ]
    assert [text.index(name) for name in order] == sorted(text.index(name) for name in order)
    assert KEY not in text


async def test_safe_post_retried_with_one_key_and_auth_on_every_attempt() -> None:
    """A replay-safe POST is retried with its one key, each attempt authorised."""
    server = Server(503, httpx.ReadError, 201)
    async with client(server) as http:
        request = http.build_request(
            "POST",
            "/specialpayment",
            json={"amount": "1.00"},
            headers={"Idempotency-Key": "k-1"},
            extensions={ext.REPLAY_SAFE: True},
        )
        response = await http.send(request)
    assert response.status_code == 201
    assert server.attempts == 3
    assert {seen.headers["authorization"] for seen in server.seen} == {AUTH}
    assert {seen.headers["idempotency-key"] for seen in server.seen} == {"k-1"}
    assert ext.get_idempotency_key(response.request) == "k-1"
    assert ext.get_attempts(response.request) == 3


async def test_unsafe_post_error_carries_key_and_attempts() -> None:
    """A 503 to an unprotected POST is not retried and the error says how to retry it."""
    server = Server(503, 201)
    async with client(server) as http:
        with pytest.raises(ServiceUnavailableError) as caught:
            await http.post(
                "/specialpayment", json={"amount": "1.00"}, headers={"Idempotency-Key": "k-2"}
            )
    assert server.attempts == 1
    assert caught.value.attempts == 1
    assert caught.value.idempotency_key == server.seen[0].headers["idempotency-key"] == "k-2"
    assert caught.value.url == "https://api.example/specialpayment"


async def test_connection_failure_after_all_retries() -> None:
    """A server that cannot be reached gives APIConnectionError after every attempt."""
    server = Server(httpx.ConnectError)
    async with client(server) as http:
        with pytest.raises(APIConnectionError) as caught:
            await http.get("/gig/1")
    assert type(caught.value) is APIConnectionError
    assert caught.value.attempts == 4
    assert server.attempts == 4


async def test_deadline_exceeded_is_a_timeout_error() -> None:
    """A call past its deadline raises APITimeoutError without reaching the server."""
    server = Server(200)
    async with client(server, clock=Clock(10.0)) as http:
        with pytest.raises(APITimeoutError) as caught:
            await http.get("/gig/1", extensions={ext.DEADLINE: 5.0})
    assert caught.value.attempts == 0
    assert server.attempts == 0


async def test_closing_the_stack_closes_the_base() -> None:
    """Closing the outermost layer closes the base transport."""
    closed: list[bool] = []

    class Base(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append(True)

    stack = build_stack(Base(), api_key=Secret(KEY), policy=RetryPolicy(), budget=None)
    await stack.aclose()
    assert closed == [True]
