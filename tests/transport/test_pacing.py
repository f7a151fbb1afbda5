"""The pacing layer: every attempt, retries included, waits its turn in one limiter."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from lean_async import APITimeoutError, LeanClient, LeanError, RateLimitError
from lean_async._config import Secret
from lean_async.ratelimit import SUCCESS, AdaptiveRateLimiter, Feedback
from lean_async.transport import PacingTransport, RetryBudget, RetryPolicy, build_stack
from tests.transport.helpers import Server, Sleep, build

KEY = "sk_test_pacing"


class Spy:
    """A limiter that records what the layer asks and tells it."""

    rate = None

    def __init__(self, *, free: bool = True) -> None:
        self.free = free
        self.waited = 0
        self.feedback: list[tuple[int, Feedback]] = []

    def try_acquire(self) -> int | None:
        return 7 if self.free else None

    async def acquire(self) -> int:
        self.waited += 1
        return 8

    def record(self, epoch: int, feedback: Feedback) -> None:
        self.feedback.append((epoch, feedback))


async def test_a_free_turn_is_taken_without_waiting() -> None:
    """With a turn free, the attempt goes at once and its success is reported."""
    spy = Spy()
    layer = PacingTransport(Server(200).transport(), spy)
    response = await layer.handle_async_request(build())
    assert response.status_code == 200
    assert spy.waited == 0
    assert spy.feedback == [(7, SUCCESS)]


async def test_without_a_free_turn_the_attempt_waits() -> None:
    """No turn free: the layer awaits acquire and reports with its epoch."""
    spy = Spy(free=False)
    layer = PacingTransport(Server(429).transport(), spy)
    await layer.handle_async_request(build())
    assert spy.waited == 1
    assert spy.feedback == [(8, Feedback(throttled=True))]


async def test_rate_limit_headers_are_read_on_every_answer_once_seen() -> None:
    """After an answer announced a limit, plain 200s are read for headers too."""
    announced = httpx.Response(429, headers={"RateLimit-Policy": "10;w=1"})
    remaining = httpx.Response(200, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "2"})
    spy = Spy()
    layer = PacingTransport(Server(200, announced, remaining).transport(), spy)
    for _ in range(3):
        await layer.handle_async_request(build())
    assert [feedback for _, feedback in spy.feedback] == [
        SUCCESS,
        Feedback(throttled=True, limit=10.0),
        Feedback(reset=2.0),
    ]


async def test_retries_take_their_turn_in_the_same_bucket() -> None:
    """A 429 retried twice makes three attempts, each of which took a turn."""
    spy = Spy()
    server = Server(429, 429, 200)
    stack = build_stack(
        server.transport(),
        api_key=Secret(KEY),
        policy=RetryPolicy(sleep=Sleep()),
        budget=RetryBudget(),
        limiter=spy,
    )
    response = await stack.handle_async_request(build())
    assert response.status_code == 200
    assert [feedback.throttled for _, feedback in spy.feedback] == [True, True, False]


def test_the_layer_sits_between_retry_and_the_attempt() -> None:
    """build_stack puts pacing below retry and above the response limit and auth."""
    stack = build_stack(
        Server().transport(),
        api_key=Secret(KEY),
        policy=RetryPolicy(),
        budget=None,
        limiter=Spy(),
    )
    text = repr(stack)
    order = ["RetryTransport", "PacingTransport", "ResponseLimitTransport", "AuthTransport"]
    assert [text.index(name) for name in order] == sorted(text.index(name) for name in order)


def _client(handler: Server, **kwargs: Any) -> LeanClient:
    return LeanClient(
        api_key=KEY,
        base_url="https://app.staging.withlean.com/api",
        transport=handler.transport(),
        backoff_base=0.0,
        **kwargs,
    )


async def test_a_client_paces_itself_by_default_after_a_429() -> None:
    """A default client has an adaptive limiter, which a 429 switches on."""
    server = Server(429, 200)
    async with _client(server) as lean:
        assert isinstance(lean.rate_limiter, AdaptiveRateLimiter)
        assert lean.rate_limiter.rate is None
        await lean.request("GET", "gig")
        assert lean.rate_limiter.rate is not None
        assert lean.with_options(timeout=5).rate_limiter is lean.rate_limiter


async def test_rate_limit_is_a_ceiling_for_every_call() -> None:
    """LeanClient(rate_limit=20): 11 calls take about half a second."""
    async with _client(Server(200), rate_limit=20) as lean:
        assert lean.rate_limiter.rate == 20
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(lean.request("GET", "gig") for _ in range(11)))
        elapsed = asyncio.get_running_loop().time() - started
    assert 0.4 <= elapsed < 2.0


async def test_a_429_past_the_retries_is_still_a_rate_limit_error() -> None:
    """Pacing does not hide throttling: 429 on every attempt raises RateLimitError."""
    async with _client(Server(429), max_retries=1) as lean:
        with pytest.raises(RateLimitError):
            await lean.request("GET", "gig")


async def test_waiting_past_the_deadline_is_a_timeout() -> None:
    """A turn that would come after the call's deadline ends the call as a timeout."""
    async with _client(Server(200), rate_limit=1, deadline=0.2) as lean:
        await lean.request("GET", "gig")  # the one turn
        with pytest.raises(APITimeoutError):
            await lean.request("GET", "gig")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_limit": 0},
        {"rate_limit": -5},
        {"rate_limit": 5, "rate_limiter": AdaptiveRateLimiter()},
    ],
)
def test_bad_rate_limits_are_lean_errors(kwargs: dict[str, Any]) -> None:
    """A non-positive ceiling, or both arguments, is refused at construction."""
    with pytest.raises(LeanError, match="rate_limit"):
        _client(Server(), **kwargs)


async def test_a_given_limiter_is_the_one_used() -> None:
    """rate_limiter= replaces the default limiter."""
    spy = Spy()
    async with _client(Server(200), rate_limiter=spy) as lean:
        await lean.request("GET", "gig")
        assert lean.rate_limiter is spy
    assert spy.feedback == [(7, SUCCESS)]


def test_repr_and_limiter_show_what_it_waits_in() -> None:
    """The layer names its limiter and hands it out."""
    spy = Spy()
    layer = PacingTransport(Server().transport(), spy)
    assert layer.limiter is spy
    assert "PacingTransport" in repr(layer)


def test_an_unknown_name_is_an_attribute_error() -> None:
    """lean_async.ratelimit resolves RedisRateLimiter lazily and nothing else."""
    import lean_async.ratelimit

    assert lean_async.ratelimit.RedisRateLimiter.__name__ == "RedisRateLimiter"
    with pytest.raises(AttributeError):
        lean_async.ratelimit.NoSuchLimiter  # noqa: B018
