"""The sandbox paces like a service: a request rate limit, and bounded webhook dispatch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest

from lean_async.sandbox import DeliveryAttemptOutcome, ManualClock, RealClock, Sandbox
from tests.sandbox.conftest import KEY, add_active_customer, customer_body, gig_body


@contextlib.asynccontextmanager
async def limited(rate: float, burst: float) -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    """A ManualClock sandbox limited to *rate* requests/s, and a raw client of it."""
    sandbox = Sandbox(api_key=KEY, clock=ManualClock(), rate_limit=rate, rate_limit_burst=burst)
    async with sandbox, _client(sandbox) as api:
        yield sandbox, api


def _client(sandbox: Sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=sandbox.transport(), base_url=sandbox.base_url, auth=(KEY, "")
    )


async def test_rate_limit_answers_429_with_retry_after() -> None:
    """Above the burst, an API request gets 429 and Retry-After; the clock refills it."""
    async with limited(10, 3) as (sandbox, api):
        statuses = [(await api.get("/gig")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await api.get("/gig")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert "Too many requests" in refused.json()["message"]
        await sandbox.advance(0.1)  # one token back at 10/s
        assert (await api.get("/gig")).status_code == 200
        assert (await api.get("/gig")).status_code == 429


async def test_rate_limit_refuses_before_acting() -> None:
    """A refused POST creates nothing, so sending it again later is safe."""
    async with limited(1, 1) as (sandbox, api):
        assert (await api.post("/customer", json=customer_body(1))).status_code == 200
        refused = await api.post("/customer", json=customer_body(2))
        assert refused.status_code == 429
        assert "uid_2" not in sandbox.customers
        await sandbox.advance(1.0)
        assert (await api.post("/customer", json=customer_body(2))).status_code == 200


async def test_rate_limit_leaves_the_control_routes_alone() -> None:
    """The /_sandbox routes are not the API: they are never refused."""
    async with limited(1, 1) as (_, api):
        statuses = [
            (await api.get("http://127.0.0.1/_sandbox/deliveries")).status_code for _ in range(5)
        ]
        assert statuses == [200] * 5


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (float("inf"), None), (5, 0.5)])
def test_rate_limit_must_be_positive(rate: float, burst: float | None) -> None:
    """A rate that is not a positive number, or a burst below 1, is refused."""
    with pytest.raises(ValueError, match="rate_limit"):
        Sandbox(rate_limit=rate, rate_limit_burst=burst)


def test_webhook_limits_must_be_positive() -> None:
    """Zero deliveries in flight or a zero-length queue is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        Sandbox(webhook_max_in_flight=0)
    with pytest.raises(ValueError, match="at least 1"):
        Sandbox(webhook_max_queued=0)


async def test_deliveries_in_flight_are_bounded_per_destination() -> None:
    """A burst of 40 events reaches a slow listener at most 3 at a time, all of them."""
    in_flight = peak = 0
    got: list[bytes] = []

    async def slow(body: bytes, headers: Mapping[str, str]) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        got.append(body)
        return 200

    async with Sandbox(
        api_key=KEY, clock=RealClock(), webhook_max_in_flight=3, settle_delay=0.0
    ) as sandbox:
        sandbox.add_webhook_listener(slow)
        async with _client(sandbox) as api:
            await add_active_customer(api, sandbox)
            for n in range(39):
                assert (await api.post("/gig", json=gig_body(n))).status_code == 200
            for _ in range(500):  # at most 5 s
                if len(got) == 40:
                    break
                await asyncio.sleep(0.01)
        assert sandbox.pending_webhooks == 0
    assert len(got) == 40
    assert peak == 3


async def test_a_full_queue_gives_the_attempt_up_and_says_so() -> None:
    """Past webhook_max_queued waiting attempts, a new one is given up at once."""
    release = asyncio.Event()

    async def stuck(body: bytes, headers: Mapping[str, str]) -> int:
        await release.wait()
        return 200

    async with Sandbox(
        api_key=KEY, clock=RealClock(), webhook_max_in_flight=1, webhook_max_queued=2
    ) as sandbox:
        sandbox.add_webhook_listener(stuck)
        async with _client(sandbox) as api:
            for n in range(4):  # four customer.active events: 1 in flight, 2 queued, 1 over
                await add_active_customer(api, sandbox, n)
                await asyncio.sleep(0.01)  # the worker takes the first one into flight
            assert sandbox.pending_webhooks == 3
            (given_up,) = sandbox.deliveries
            assert given_up.outcome is DeliveryAttemptOutcome.GAVE_UP
            assert given_up.error is not None
            assert "queue full" in given_up.error
            release.set()
            for _ in range(500):
                if sandbox.pending_webhooks == 0:
                    break
                await asyncio.sleep(0.01)
    outcomes = [d.outcome for d in sandbox.deliveries]
    assert outcomes.count(DeliveryAttemptOutcome.DELIVERED) == 3


async def test_retries_wait_outside_the_queue_and_are_counted_pending() -> None:
    """A failed attempt waits its retry delay on the scheduler and counts as pending."""
    answers = iter([500, 200])

    async def flaky(body: bytes, headers: Mapping[str, str]) -> int:
        return next(answers)

    async with Sandbox(api_key=KEY, clock=RealClock(), webhook_retry_base=0.2) as sandbox:
        sandbox.add_webhook_listener(flaky)
        async with _client(sandbox) as api:
            await add_active_customer(api, sandbox)
            for _ in range(100):
                if sandbox.deliveries:
                    break
                await asyncio.sleep(0.005)
            assert sandbox.pending_webhooks == 1  # the retry, waiting its 0.2 s
            for _ in range(300):
                if len(sandbox.deliveries) == 2:
                    break
                await asyncio.sleep(0.01)
    assert [d.status_code for d in sandbox.deliveries] == [500, 200]
    assert sandbox.pending_webhooks == 0


@pytest.mark.parametrize(
    ("behaviour", "error"), [("close", "RemoteProtocolError"), ("hang", "ReadTimeout")]
)
async def test_a_receiver_that_closes_or_hangs_is_named_as_httpx_would(
    behaviour: str, error: str
) -> None:
    """A receiver closing without an answer, or never answering, fails with httpx's name."""

    done = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def receiver(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        await reader.readuntil(b"\r\n\r\n")
        if behaviour == "hang":
            await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Sandbox(
            api_key=KEY, clock=ManualClock(), webhook_timeout=0.3, webhook_max_retries=0
        ) as sandbox:
            sandbox.register_webhook(f"http://127.0.0.1:{port}/hook")
            async with _client(sandbox) as api:
                await add_active_customer(api, sandbox)
            await sandbox.advance(0)
            (attempt,) = sandbox.deliveries
    finally:
        done.set()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()
    assert attempt.outcome is DeliveryAttemptOutcome.GAVE_UP
    assert attempt.error is not None
    assert attempt.error.startswith(error)


async def test_deliveries_step_aside_while_the_api_is_busy() -> None:
    """While API requests pour in (>= 200/s), a queued delivery waits for them (<= 0.5 s)."""
    loop = asyncio.get_running_loop()
    delivered: list[float] = []

    async def listener(body: bytes, headers: Mapping[str, str]) -> int:
        delivered.append(loop.time())
        return 200

    async with Sandbox(api_key=KEY, clock=RealClock()) as sandbox, _client(sandbox) as api:
        sandbox.add_webhook_listener(listener)
        assert (await api.post("/customer", json=customer_body(1))).status_code == 200
        started = loop.time()
        activated = None
        for n in range(5000):  # bounded: about 0.3 s of back-to-back API calls
            if loop.time() - started > 0.3:
                break
            await api.get("/gig")
            await asyncio.sleep(0)  # let the delivery worker run if it wants to
            if n == 20:
                sandbox.activate_customer("uid_1")
                activated = loop.time()
        busy_until = loop.time()
        for _ in range(300):
            if delivered:
                break
            await asyncio.sleep(0.01)
    assert activated is not None
    assert delivered, "the delivery never came"
    assert delivered[0] >= min(busy_until, activated + 0.5) - 0.05
