"""Tests for the retry layer, alone on a MockTransport."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lean_async.transport import (
    DeadlineExceeded,
    ResponseLimitTransport,
    RetryBudget,
    RetryDetails,
    RetryPolicy,
    RetryTransport,
    is_testing,
    set_testing,
)
from lean_async.transport import extensions as ext
from tests.transport.helpers import BODY_READ_ERROR, Clock, Outcome, Server, Sleep, build

ALWAYS: list[Outcome] = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
ONLY_IF_SAFE: list[Outcome] = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    BODY_READ_ERROR,
    500,
    502,
    503,
    504,
    429,
    408,
]


def mode_id(mode: Outcome) -> str:
    """Name a failure mode for test ids."""
    return mode.__name__ if isinstance(mode, type) else str(mode)


def layer(
    server: Server, budget: RetryBudget | None = None, **policy: Any
) -> tuple[RetryTransport, Sleep]:
    """Return a retry layer over *server* with a recording sleep.

    As in the stack, the response-limit layer below it reads each body, so a body that
    breaks while read fails the attempt.
    """
    sleep = policy.pop("sleep", None) or Sleep(policy.get("clock"))
    inner = ResponseLimitTransport(server.transport())
    return RetryTransport(inner, RetryPolicy(sleep=sleep, **policy), budget), sleep


@pytest.fixture
def testing_mode() -> Iterator[None]:
    """Switch test mode on for one test."""
    set_testing(True)
    yield
    set_testing(False)


@pytest.mark.parametrize("safety", ["GET", "safe POST", "unsafe POST"])
@pytest.mark.parametrize("mode", ALWAYS + ONLY_IF_SAFE, ids=mode_id)
@pytest.mark.parametrize("failures_before_success", [1, 2, 3])
async def test_failure_matrix(failures_before_success: int, mode: Outcome, safety: str) -> None:
    """A failure is retried until success only when its phase and the request allow it."""
    server = Server(*[mode] * failures_before_success, 200)
    transport, sleep = layer(server)
    request = build("GET" if safety == "GET" else "POST", replay_safe=safety == "safe POST")
    retried = mode in ALWAYS or safety != "unsafe POST"
    if retried:
        response = await transport.handle_async_request(request)
        assert response.status_code == 200
        assert server.attempts == failures_before_success + 1
        assert len(sleep.delays) == failures_before_success
    elif isinstance(mode, int):
        response = await transport.handle_async_request(request)
        assert response.status_code == mode
        assert server.attempts == 1
    else:
        with pytest.raises(httpx.TransportError):
            await transport.handle_async_request(request)
        assert server.attempts == 1
    assert ext.get_attempts(request) == server.attempts


@pytest.mark.parametrize("mode", [httpx.ConnectError, httpx.ReadTimeout, 503], ids=mode_id)
async def test_gives_up_after_max_retries(mode: int | type[httpx.TransportError]) -> None:
    """A failure that persists ends after 1 + max_retries attempts with the last outcome."""
    server = Server(mode)
    transport, _ = layer(server)
    request = build()
    if isinstance(mode, int):
        response = await transport.handle_async_request(request)
        assert response.status_code == mode
        assert response.extensions[ext.ATTEMPTS] == 4
    else:
        with pytest.raises(mode):
            await transport.handle_async_request(request)
    assert server.attempts == 4
    assert request.extensions[ext.ATTEMPTS] == 4


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_conflict_is_never_retried(method: str) -> None:
    """A 409 is returned at once, even for a replay-safe request."""
    server = Server(409, 200)
    transport, sleep = layer(server)
    response = await transport.handle_async_request(build(method, replay_safe=True))
    assert response.status_code == 409
    assert server.attempts == 1
    assert sleep.delays == []


def test_conflict_cannot_be_made_retryable() -> None:
    """A policy that lists 409 among the retried statuses is refused."""
    with pytest.raises(ValueError, match="409"):
        RetryPolicy(retry_statuses=frozenset({409, 503}))


async def test_bad_request_is_not_retried() -> None:
    """A 400 is returned at once."""
    server = Server(400, 200)
    transport, _ = layer(server)
    response = await transport.handle_async_request(build())
    assert response.status_code == 400
    assert server.attempts == 1


async def test_clean_success_is_one_attempt() -> None:
    """A 2xx on the first try is returned read, marked as one attempt."""
    server = Server(200)
    transport, sleep = layer(server)
    response = await transport.handle_async_request(build())
    assert response.json() == {"status": 200}
    assert response.extensions[ext.ATTEMPTS] == 1
    assert sleep.delays == []


async def test_retry_after_seconds_is_honoured() -> None:
    """A Retry-After in seconds replaces the jittered wait."""
    server = Server(httpx.Response(503, headers={"Retry-After": "7"}), 200)
    transport, sleep = layer(server)
    response = await transport.handle_async_request(build())
    assert response.status_code == 200
    assert sleep.delays == [7.0]


async def test_retry_after_date_is_honoured() -> None:
    """A Retry-After HTTP-date waits until that time."""
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server = Server(httpx.Response(429, headers={"Retry-After": when}), 200)
    transport, sleep = layer(server)
    await transport.handle_async_request(build())
    assert len(sleep.delays) == 1
    assert 27.0 < sleep.delays[0] <= 30.0


async def test_retry_after_above_cap_stops() -> None:
    """A Retry-After longer than the cap returns the response instead of retrying early."""
    server = Server(httpx.Response(503, headers={"Retry-After": "120"}), 200)
    transport, sleep = layer(server, retry_after_cap=60.0)
    response = await transport.handle_async_request(build())
    assert response.status_code == 503
    assert server.attempts == 1
    assert sleep.delays == []


async def test_malformed_retry_after_falls_back_to_backoff() -> None:
    """An unreadable Retry-After is ignored in favour of the jittered backoff."""
    server = Server(httpx.Response(503, headers={"Retry-After": "soon"}), 200)
    transport, sleep = layer(server, uniform=lambda low, high: high)
    await transport.handle_async_request(build())
    assert sleep.delays == [0.5]


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    """Each wait is drawn from [0, min(cap, base * 2 ** (attempt - 1))]."""
    draws: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        draws.append((low, high))
        return high / 2

    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0, uniform=uniform)
    assert [policy.backoff(attempt) for attempt in (1, 2, 3, 4, 5, 6, 1000)] == [
        0.25,
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
        4.0,
    ]
    assert draws == [(0.0, c) for c in (0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0)]


def test_backoff_draws_spread_over_the_whole_range() -> None:
    """Seeded draws stay within bounds and cover the range, not just its top."""
    policy = RetryPolicy(uniform=random.Random(1234).uniform)
    draws = [policy.backoff(3) for _ in range(2000)]
    assert all(0.0 <= d <= 2.0 for d in draws)
    assert min(draws) < 0.1
    assert max(draws) > 1.9


async def test_transport_sleeps_the_drawn_jitter() -> None:
    """The layer waits exactly what the policy's jitter draws."""
    values = iter([0.1, 0.2, 0.3])
    server = Server(503, 503, 503, 200)
    transport, sleep = layer(server, uniform=lambda low, high: next(values))
    await transport.handle_async_request(build())
    assert sleep.delays == [0.1, 0.2, 0.3]


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (1, 2), (5, 6)])
async def test_max_retries_per_request(max_retries: int, attempts: int) -> None:
    """A request's own max_retries overrides the policy's."""
    server = Server(503)
    transport, _ = layer(server, max_retries=3)
    response = await transport.handle_async_request(build(max_retries=max_retries))
    assert response.status_code == 503
    assert server.attempts == attempts


async def test_policy_with_no_retries() -> None:
    """A policy of max_retries=0 makes one attempt, even when nothing was sent."""
    server = Server(httpx.ConnectError)
    transport, _ = layer(server, max_retries=0)
    with pytest.raises(httpx.ConnectError):
        await transport.handle_async_request(build())
    assert server.attempts == 1


async def test_deadline_stops_before_a_backoff_that_would_overrun() -> None:
    """No wait starts that would end past the deadline; the last error is raised."""
    clock = Clock(0.0)
    server = Server(httpx.ConnectError)
    transport, sleep = layer(server, clock=clock, backoff_base=4.0, uniform=lambda a, b: b)
    with pytest.raises(httpx.ConnectError):
        await transport.handle_async_request(build(deadline=10.0))
    assert sleep.delays == [4.0]
    assert server.attempts == 2


async def test_deadline_returns_last_response_when_it_stops() -> None:
    """When the deadline stops retrying a status, the last response is returned."""
    clock = Clock(0.0)
    server = Server(httpx.Response(503, headers={"Retry-After": "5"}))
    transport, sleep = layer(server, clock=clock)
    response = await transport.handle_async_request(build(deadline=8.0))
    assert response.status_code == 503
    assert sleep.delays == [5.0]
    assert server.attempts == 2


async def test_deadline_clips_each_attempts_timeouts() -> None:
    """Every attempt's httpx timeouts are clipped to the time left before the deadline."""
    clock = Clock(0.0)
    server = Server(503, 200)
    transport, _ = layer(server, clock=clock, uniform=lambda a, b: 0.25)
    request = build(deadline=3.0)
    request.extensions["timeout"] = {"connect": 1.0, "read": 30.0, "write": None, "pool": 30.0}
    await transport.handle_async_request(request)
    assert server.seen[0].timeout == {"connect": 1.0, "read": 3.0, "write": 3.0, "pool": 3.0}
    assert server.seen[1].timeout == {"connect": 1.0, "read": 2.75, "write": 2.75, "pool": 2.75}


async def test_deadline_without_a_timeout_extension() -> None:
    """A request with no httpx timeouts gets the time left as every timeout."""
    server = Server(200)
    transport, _ = layer(server, clock=Clock(0.0))
    request = httpx.Request("GET", "https://api.example/", extensions={ext.DEADLINE: 2.0})
    await transport.handle_async_request(request)
    assert server.seen[0].timeout == dict.fromkeys(("connect", "read", "write", "pool"), 2.0)


async def test_deadline_already_passed_sends_nothing() -> None:
    """A call whose deadline has passed raises DeadlineExceeded without an attempt."""
    server = Server(200)
    transport, _ = layer(server, clock=Clock(50.0))
    request = build(deadline=50.0)
    with pytest.raises(DeadlineExceeded) as caught:
        await transport.handle_async_request(request)
    assert isinstance(caught.value, httpx.TimeoutException)
    assert server.attempts == 0
    assert ext.get_attempts(request) == 0


async def test_deadline_passed_during_a_wait() -> None:
    """If the clock jumps past the deadline during a wait, the next attempt is not sent."""
    clock = Clock(0.0)
    server = Server(httpx.ConnectError, 200)
    sleep = Sleep(clock, overshoot=100.0)
    transport, _ = layer(server, clock=clock, sleep=sleep)
    request = build(deadline=10.0)
    with pytest.raises(DeadlineExceeded):
        await transport.handle_async_request(request)
    assert server.attempts == 1
    assert ext.get_attempts(request) == 1


async def test_budget_stops_a_retry_storm() -> None:
    """Against an always-503 server, attempts fall to one per call once the budget drains."""
    server = Server(503)
    budget = RetryBudget()
    transport, _ = layer(server, budget)
    for _ in range(200):
        await transport.handle_async_request(build())
    assert server.attempts == 200 + 500 // 5
    assert budget.tokens == 0
    for _ in range(200):
        await transport.handle_async_request(build())
    assert server.attempts == 200 + 500 // 5 + 200


async def test_budget_under_concurrent_outage() -> None:
    """Concurrent calls share one budget and stay close to one attempt each."""
    server = Server(503)
    budget = RetryBudget()
    transport, _ = layer(server, budget)
    await asyncio.gather(*(transport.handle_async_request(build()) for _ in range(200)))
    assert server.attempts == 300


async def test_budget_refunds_on_success() -> None:
    """Each successful call puts tokens back, which pay for later retries."""
    server = Server(200)
    budget = RetryBudget(capacity=500)
    transport, _ = layer(server, budget)
    budget.try_acquire()  # 495 left
    for _ in range(10):
        await transport.handle_async_request(build())
    assert budget.tokens == 500
    server.script = [503, 503, 200]
    await transport.handle_async_request(build())
    assert budget.tokens == 500 - 2 * 5 + 1


async def test_budget_charges_more_for_timeouts() -> None:
    """A retry after a timeout costs timeout_cost; a failed call refunds nothing."""
    server = Server(httpx.ReadTimeout, 400)
    budget = RetryBudget(capacity=100, retry_cost=5, timeout_cost=10)
    transport, _ = layer(server, budget)
    response = await transport.handle_async_request(build())
    assert response.status_code == 400
    assert budget.tokens == 90


async def test_budget_lets_a_drained_call_retry_after_refills() -> None:
    """With a drained budget one retry is possible again after enough successes."""
    server = Server(200)
    budget = RetryBudget(capacity=500, retry_cost=5, success_refund=1)
    drained = sum(1 for _ in iter(budget.try_acquire, False))
    assert drained == 100  # 500 tokens at 5 per retry
    transport, _ = layer(server, budget)
    for _ in range(5):
        await transport.handle_async_request(build())
    server.script = [503]
    await transport.handle_async_request(build())
    assert server.attempts == 5 + 2


def test_budget_rejects_negative_amounts() -> None:
    """A budget with a negative amount is refused."""
    with pytest.raises(ValueError, match="negative"):
        RetryBudget(retry_cost=-1)


def test_budget_repr_shows_the_balance() -> None:
    """The budget's repr shows its balance and capacity."""
    assert repr(RetryBudget(capacity=10)) == "RetryBudget(tokens=10, capacity=10)"


async def test_cancellation_during_backoff_propagates() -> None:
    """Cancelling the caller during a wait raises CancelledError and sends nothing more."""
    server = Server(503, 200)
    entered = asyncio.Event()

    async def sleep(delay: float) -> None:
        entered.set()
        await asyncio.Event().wait()

    transport, _ = layer(server, sleep=sleep)
    task = asyncio.create_task(transport.handle_async_request(build()))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.attempts == 1


async def test_no_retry_once_the_task_is_being_cancelled() -> None:
    """A failure seen after the caller's task was cancelled is not retried."""
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        raise httpx.ConnectError("refused", request=request)

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(sleep=Sleep()))

    async def call() -> None:
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(build())

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(call())
    assert attempts == [1]


async def test_cancellation_inside_an_attempt_is_not_retried() -> None:
    """A CancelledError raised by a later attempt propagates instead of being retried."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503)
        raise asyncio.CancelledError

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(sleep=Sleep()))
    with pytest.raises(asyncio.CancelledError):
        await transport.handle_async_request(build())
    assert len(calls) == 2


async def test_body_read_error_is_an_attempt_failure() -> None:
    """A 200 whose body breaks counts as a failed attempt and its stream is closed."""
    server = Server(BODY_READ_ERROR, 200)
    transport, _ = layer(server)
    response = await transport.handle_async_request(build())
    assert response.status_code == 200
    assert server.attempts == 2
    assert server.streams[0].closed


async def test_body_read_error_on_unsafe_post_is_raised() -> None:
    """A body that breaks on an unsafe POST raises the read error after one attempt."""
    server = Server(BODY_READ_ERROR, 200)
    transport, _ = layer(server)
    request = build("POST")
    with pytest.raises(httpx.ReadError):
        await transport.handle_async_request(request)
    assert server.attempts == 1
    assert ext.get_attempts(request) == 1


async def test_every_retry_is_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    """Each retry logs one INFO line and calls on_retry with metadata only."""
    caplog.set_level(logging.INFO, logger="lean_async")
    seen: list[RetryDetails] = []
    server = Server(httpx.ReadTimeout, 502, 200)
    transport, _ = layer(server, on_retry=seen.append, uniform=lambda a, b: b)
    await transport.handle_async_request(build("GET", "https://api.example/gig/g-1?x=1"))
    assert seen == [
        RetryDetails(method="GET", path="/gig/g-1", attempt=1, delay=0.5, cause="ReadTimeout"),
        RetryDetails(method="GET", path="/gig/g-1", attempt=2, delay=1.0, cause="HTTP 502"),
    ]
    messages = [r.getMessage() for r in caplog.records if r.name == "lean_async"]
    assert messages == [
        "retrying GET /gig/g-1 in 0.500 s: attempt 1 failed (ReadTimeout)",
        "retrying GET /gig/g-1 in 1.000 s: attempt 2 failed (HTTP 502)",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "lean_async")


@pytest.mark.usefixtures("testing_mode")
async def test_set_testing_zeroes_every_wait() -> None:
    """In test mode retries still happen but every wait, Retry-After included, is zero."""
    assert is_testing()
    server = Server(503, httpx.Response(429, headers={"Retry-After": "30"}), 200)
    transport, sleep = layer(server)
    response = await transport.handle_async_request(build())
    assert response.status_code == 200
    assert sleep.delays == [0.0, 0.0]


@pytest.mark.usefixtures("testing_mode")
async def test_set_testing_keeps_the_retry_after_cap() -> None:
    """In test mode a Retry-After above the cap still stops retrying."""
    server = Server(httpx.Response(503, headers={"Retry-After": "600"}), 200)
    transport, _ = layer(server)
    response = await transport.handle_async_request(build())
    assert response.status_code == 503


def test_set_testing_switches_back_off() -> None:
    """Test mode is off by default and can be switched on and off."""
    assert not is_testing()
    set_testing(True)
    try:
        assert is_testing()
    finally:
        set_testing(False)
    assert not is_testing()


async def test_default_policy_and_async_sleep() -> None:
    """Without a policy the layer uses the defaults and really sleeps (briefly)."""
    server = Server(503, 200)
    transport = RetryTransport(server.transport(), RetryPolicy(backoff_base=0.001))
    response = await transport.handle_async_request(build())
    assert response.status_code == 200
    assert repr(RetryTransport(server.transport())).startswith("RetryTransport(")


def test_policy_rejects_negative_values() -> None:
    """A negative retry count or wait is refused."""
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="backoff_base"):
        RetryPolicy(backoff_base=-0.1)


async def test_aclose_closes_the_inner_transport() -> None:
    """Closing the layer closes the transport it wraps."""
    closed: list[bool] = []

    class Inner(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append(True)

    await RetryTransport(Inner()).aclose()
    assert closed == [True]


async def test_through_an_async_client() -> None:
    """Driven by httpx.AsyncClient, the response reports its attempts."""
    server = Server(httpx.ConnectError, 200)
    transport, _ = layer(server)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post("https://api.example/specialpayment", json={})
    assert response.status_code == 200
    assert response.extensions[ext.ATTEMPTS] == 2
    assert ext.get_attempts(response.request) == 2
