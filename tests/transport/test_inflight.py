"""The pacing layer's cap on attempts in flight while its limiter limits."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from lean_async.ratelimit import Feedback
from lean_async.transport import PacingTransport
from lean_async.transport._inflight import MIN_IN_FLIGHT, WINDOW, InFlightCap, LatencyFloor
from lean_async.transport._policy import DeadlineExceeded
from tests.transport.helpers import build


class Limiter:
    """Every turn free at once; *rate* is what the layer reads as the pace."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.recorded = 0

    def try_acquire(self) -> int:
        return 1

    async def acquire(self) -> int:
        return 1

    def record(self, epoch: int, feedback: Feedback) -> None:
        self.recorded += 1


class StalledServer:
    """Holds every request until released (a server starved of CPU); counts them."""

    def __init__(self, delay: float = 0.0) -> None:
        self.released = asyncio.Event()
        self.delay = delay
        self.in_flight = 0
        self.most = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                await self.released.wait()
        finally:
            self.in_flight -= 1
        return httpx.Response(200, json={})


async def _send_all(layer: PacingTransport, count: int) -> list[httpx.Response]:
    return await asyncio.gather(*(layer.handle_async_request(build()) for _ in range(count)))


async def test_while_limiting_a_stalled_server_holds_a_tenth_of_a_second_of_the_pace() -> None:
    """Pace 100/s, 30 attempts with free turns, a server that answers nothing yet: 10 reach
    it (0.1 s of the pace); the others go as answers come back, all 30 answered."""
    server = StalledServer()
    layer = PacingTransport(httpx.MockTransport(server), Limiter(100.0))
    sending = asyncio.ensure_future(_send_all(layer, 30))
    await asyncio.sleep(0.05)
    assert server.in_flight == 100 * WINDOW == 10
    assert layer.in_flight == 10
    server.released.set()
    responses = await asyncio.wait_for(sending, 5)
    assert [response.status_code for response in responses] == [200] * 30
    assert server.most == 10
    assert layer.in_flight == 0


async def test_not_limiting_nothing_is_capped() -> None:
    """No pace (the default client before any 429): all 30 are in flight at once."""
    server = StalledServer()
    layer = PacingTransport(httpx.MockTransport(server), Limiter(None))
    sending = asyncio.ensure_future(_send_all(layer, 30))
    await asyncio.sleep(0.05)
    assert server.in_flight == 30
    assert layer.in_flight == 0  # not even counted
    server.released.set()
    await asyncio.wait_for(sending, 5)


async def test_a_slow_pace_still_has_a_few_in_flight() -> None:
    """Pace 2/s: a tenth of a second of it is a fifth of a request; MIN_IN_FLIGHT go."""
    server = StalledServer()
    layer = PacingTransport(httpx.MockTransport(server), Limiter(2.0))
    sending = asyncio.ensure_future(_send_all(layer, 10))
    await asyncio.sleep(0.05)
    assert server.in_flight == MIN_IN_FLIGHT
    server.released.set()
    await asyncio.wait_for(sending, 5)


async def test_a_server_far_away_gets_three_round_trips_of_the_pace() -> None:
    """Round trips of 0.2 s at pace 40/s: 3 x 0.2 s of the pace (24) may be in flight, so
    a distant server is still sent its pace (a tenth of a second would allow 4: 20/s)."""
    server = StalledServer(delay=0.2)
    layer = PacingTransport(httpx.MockTransport(server), Limiter(40.0))
    await _send_all(layer, 10)  # learn the round trip
    await _send_all(layer, 60)
    assert 24 <= server.most <= 25  # the round trip measured is a little over 0.2 s


async def test_the_cap_follows_the_pace() -> None:
    """The pace rising from 8/s to 100/s lets more in as earlier attempts come back."""
    server = StalledServer(delay=0.02)
    limiter = Limiter(8.0)
    layer = PacingTransport(httpx.MockTransport(server), limiter)
    first = asyncio.ensure_future(_send_all(layer, 20))
    await asyncio.sleep(0.01)
    assert server.in_flight == MIN_IN_FLIGHT
    limiter.rate = 100.0
    await first
    assert server.most == 10


async def test_waiting_for_a_place_past_the_deadline_is_a_timeout() -> None:
    """A place that would come after the request's deadline ends it as DeadlineExceeded,
    and gives nothing away: the places are all back once the server answers."""
    server = StalledServer()
    layer = PacingTransport(httpx.MockTransport(server), Limiter(4.0))
    held = asyncio.ensure_future(_send_all(layer, MIN_IN_FLIGHT))
    await asyncio.sleep(0.02)
    request = build(deadline=time.monotonic() + 0.05)
    with pytest.raises(DeadlineExceeded):
        await asyncio.wait_for(layer.handle_async_request(request), 2)
    server.released.set()
    await held
    assert layer.in_flight == 0
    await asyncio.wait_for(_send_all(layer, MIN_IN_FLIGHT), 5)


async def test_a_cancelled_waiter_gives_its_place_on() -> None:
    """Cancelled while waiting, or just as it was let in: no place is lost."""
    cap = InFlightCap(lambda: 1)
    await cap.enter()
    waiter = asyncio.ensure_future(cap.enter())
    behind = asyncio.ensure_future(cap.enter())
    await asyncio.sleep(0)
    cap.leave()  # lets *waiter* in...
    waiter.cancel()  # ...which is cancelled before it runs: *behind* gets the place
    await asyncio.wait_for(behind, 1)
    assert cap.in_flight == 1
    cap.leave()
    assert cap.in_flight == 0


def test_a_place_freed_in_another_thread_wakes_a_waiter_in_its_own_loop() -> None:
    """One cap serves several event loops: a leave() in one wakes a waiter in another."""
    cap = InFlightCap(lambda: 1)
    entered = threading.Event()
    done: list[bool] = []

    async def holder() -> None:
        await cap.enter()
        entered.set()
        await asyncio.sleep(0.1)
        cap.leave()

    async def waiter() -> None:
        await cap.enter()
        done.append(True)
        cap.leave()

    thread = threading.Thread(target=asyncio.run, args=(holder(),))
    thread.start()
    assert entered.wait(5)
    asyncio.run(asyncio.wait_for(waiter(), 5))
    thread.join(5)
    assert done == [True]
    assert cap.in_flight == 0


def test_the_quickest_round_trip_is_kept_for_5_to_10_seconds() -> None:
    """LatencyFloor: the minimum over the current and the previous 5 s period."""
    floor = LatencyFloor()
    assert floor.seconds() == 0.0
    floor.add(100.0, 0.2)
    floor.add(101.0, 0.5)
    assert floor.seconds() == 0.2
    floor.add(106.0, 0.4)  # a new period: the previous one still counts
    assert floor.seconds() == 0.2
    floor.add(111.0, 0.3)  # two periods on: 0.2 is forgotten
    assert floor.seconds() == 0.3
    floor.add(130.0, 0.9)  # after a long quiet spell, only what is new
    assert floor.seconds() == 0.9
