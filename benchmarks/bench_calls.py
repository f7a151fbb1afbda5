"""Per-call cost of lean-async against raw httpx, with no network: a no-op base transport.

Both clients send through the same base, a transport that answers every request with a
canned JSON body at once, so what is measured is only what each client does per call:

- **raw GET**: ``httpx.AsyncClient.get(url)`` + ``.json()``;
- **raw POST**: ``httpx.AsyncClient.post(url, json=body)`` + ``.json()``;
- **customers.get** / **gigs.create**: the whole lean-async call (validation, request,
  the transport stack, decoding into the model);
- **list decode**: a 1,000-gig ``GET /gig`` body decoded into `Gig` models by the SDK's
  converter, against ``json.loads`` of the same bytes.

- **pacing on / off**: the same two calls through a default client (its adaptive rate
  limiter never throttled, as against an API that does not answer 429) against a client
  whose stack has no pacing layer: what pacing costs when nothing is throttled.

Runs alternate between the two sides of each pair (interleaved repeats); each time is
the median of the runs, and the ratio is the median of each round's lean / raw, shown
with its range and middle half. Times are this process's CPU time (``--wall`` for wall
time): on a shared machine, CPU time leaves out the time other work holds the CPU.
``gigs.create`` is also split into the client's one hop (the call with a body already
checked) and the argument validation (``_validate.gig_body``), each against the raw
POST. Budgets: ``customers.get`` <= 0.4x, ``gigs.create`` <= 0.6x the raw httpx call,
list decoding <= 3x ``json.loads``, pacing on <= 1.03x off.

    python benchmarks/bench_calls.py [--calls 500] [--rounds 21] [--wall]

``--shortcuts`` measures instead what each shortcut of `lean_async.transport._private_state`
is worth: per call, with every shortcut on against the same call with that one off (its
public path), interleaved in one run, on the calls that use it: ``gigs.create`` and
``customers.get`` (a new id each call, so the URL is joined each time) on the no-op base,
and ``gigs.create`` on the aiohttp base against the canned server on loopback (this
process's CPU only). It also measures the telemetry check through OpenTelemetry's public
getters (the API installed, no SDK) against a client without telemetry.

    python benchmarks/bench_calls.py --shortcuts [--calls 300] [--rounds 11]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import signal
import statistics
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import httpx

import lean_async._client as client_module
from lean_async import Gig, LeanClient
from lean_async._codec.convert import structure_list
from lean_async._endpoints import validate as _validate
from lean_async.ratelimit import AdaptiveRateLimiter
from lean_async.transport import PacingTransport

BASE_URL = "https://app.staging.withlean.com/api/"
CUSTOMER = {
    "partnerUserId": "uid_847834395730535",
    "firstName": "Jane",
    "middleName": None,
    "lastName": "Doe",
    "birthday": "1980-12-31",
    "phoneNumber": "4085008000",
    "email": "janedoe@example.com",
    "street": "700 Treehouse Drive",
    "street2": None,
    "city": "San Jose",
    "state": "CA",
    "postalCode": "95101",
    "registrationDate": "2020-01-01",
    "status": "ACTIVE",
    "createdAt": "2021-04-01T19:53:36.869Z",
    "updatedAt": "2021-04-01T19:53:36.869Z",
}


def gig(index: int) -> dict[str, object]:
    """Return the JSON of one gig as the API sends it."""
    return {
        "id": f"gig_{index}",
        "partnerUserId": "uid_847834395730535",
        "gigId": f"gigId_{index}",
        "description": "SFO Airport to 410 Market Street",
        "totalAmount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "startTime": "2021-03-01T21:04:04.000Z",
        "endTime": "2021-03-01T21:31:05.000Z",
        "status": "PENDING",
        "invoiceId": f"invoice_{index}",
        "createdAt": "2021-04-01T19:58:11.651Z",
        "updatedAt": "2021-04-01T19:58:11.651Z",
    }


CUSTOMER_BODY = json.dumps(CUSTOMER).encode()
GIG_BODY = json.dumps(gig(1)).encode()
LIST_BODY = json.dumps([gig(i) for i in range(1000)]).encode()
START = dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=dt.UTC)


class CannedTransport(httpx.AsyncBaseTransport):
    """Answers every request at once: the gig for /gig paths, else the customer."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Return the canned body for *request*'s path."""
        body = GIG_BODY if "/gig" in request.url.path else CUSTOMER_BODY
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})


def clock() -> float:
    """The clock of a measurement: this process's CPU time, or wall time with --wall.

    CPU time leaves out the time other processes hold the CPU, which on a shared machine
    is most of the noise of wall time; everything measured here is CPU-bound.
    """
    return time.perf_counter() if WALL else time.process_time()


WALL = False


async def per_call(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """Return the mean microseconds of *calls* sequential awaits of *call*."""
    gc.collect()
    started = clock()
    for _ in range(calls):
        await call()
    return (clock() - started) / calls * 1e6


def per_decode(decode: Callable[[], object], calls: int) -> float:
    """Return the mean microseconds of *calls* runs of *decode*."""
    gc.collect()
    started = clock()
    for _ in range(calls):
        decode()
    return (clock() - started) / calls * 1e6


async def main(calls: int, rounds: int) -> None:
    """Measure each pair with interleaved repeats and print the table."""
    transport = CannedTransport()
    raw = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
    lean = LeanClient(api_key="bench-key", base_url=BASE_URL, transport=transport)
    # The same client without the pacing layer: build_stack is given no limiter.
    build_stack = client_module.build_stack
    client_module.build_stack = lambda base, **kw: build_stack(base, **{**kw, "limiter": None})
    try:
        unpaced = LeanClient(api_key="bench-key", base_url=BASE_URL, transport=transport)
    finally:
        client_module.build_stack = build_stack
    body = {
        "partnerUserId": "uid_847834395730535",
        "gigId": "gigId_1",
        "totalAmount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": "SFO Airport to 410 Market Street",
        "startTime": "2021-03-01T21:04:04.000Z",
        "endTime": "2021-03-01T21:31:05.000Z",
    }
    arguments = {
        "partner_user_id": "uid_847834395730535",
        "gig_id": "gigId_1",
        "total_amount": Decimal("15.00"),
        "tips": "3.00",
        "expenses": "2.00",
        "description": "SFO Airport to 410 Market Street",
        "start_time": START,
        "end_time": START + dt.timedelta(minutes=27),
    }

    async def raw_get() -> object:
        return (await raw.get("customer/uid_847834395730535")).json()

    async def raw_post() -> object:
        return (await raw.post("gig", json=body)).json()

    async def lean_get() -> object:
        return await lean.customers.get("uid_847834395730535")

    async def lean_create() -> object:
        return await lean.gigs.create(**arguments)  # type: ignore[arg-type]

    async def lean_create_unvalidated() -> object:
        # What gigs.create costs once its arguments are checked: the client's one hop.
        return await lean._create("gig", body, lookup_path="gig/gigId_1", cast_to=Gig)

    async def unpaced_get() -> object:
        return await unpaced.customers.get("uid_847834395730535")

    async def unpaced_create() -> object:
        return await unpaced.gigs.create(**arguments)  # type: ignore[arg-type]

    async def validation() -> object:
        return _validate.gig_body(**arguments)  # type: ignore[arg-type]

    cases: dict[str, tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[object]]]] = {
        "customers.get": (lean_get, raw_get),
        "gigs.create": (lean_create, raw_post),
        "  of which the hop": (lean_create_unvalidated, raw_post),
        "  of which gig_body": (validation, raw_post),
        "pacing: customers.get": (lean_get, unpaced_get),
        "pacing: gigs.create": (lean_create, unpaced_create),
    }
    pairs: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in [*cases, "list decode"]
    }
    decode_calls = max(calls // 100, 10)
    for _ in range(rounds):
        for name, (lean_call, raw_call) in cases.items():
            pairs[name][0].append(await per_call(lean_call, calls))
            pairs[name][1].append(await per_call(raw_call, calls))
        pairs["list decode"][0].append(
            per_decode(lambda: structure_list(json.loads(LIST_BODY), Gig), decode_calls)
        )
        pairs["list decode"][1].append(per_decode(lambda: json.loads(LIST_BODY), decode_calls))
    await lean.aclose()
    await unpaced.aclose()
    await raw.aclose()

    budgets = {
        "customers.get": 0.4,
        "gigs.create": 0.6,
        "list decode": 3.0,
        "pacing: customers.get": 1.03,
        "pacing: gigs.create": 1.03,
    }
    against = {
        "customers.get": "raw GET + .json()",
        "list decode": "json.loads",
        "pacing: customers.get": "no pacing layer",
        "pacing: gigs.create": "no pacing layer",
    }
    kind = "wall" if WALL else "CPU"
    print(f"{calls} calls a run, {rounds} interleaved rounds, median {kind} us per call\n")
    print("| call | lean us | against | raw us | ratio | budget | ratio of each round |")
    print("|---|---:|---|---:|---:|---:|---|")
    for name, (lean_times, raw_times) in pairs.items():
        ratios = sorted(a / b for a, b in zip(lean_times, raw_times, strict=True))
        lean_median, raw_median = statistics.median(lean_times), statistics.median(raw_times)
        ratio = statistics.median(ratios)
        budget = budgets.get(name)
        verdict = "" if budget is None else f"<= {budget} {'ok' if ratio <= budget else 'OVER'}"
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        print(
            f"| {name} | {lean_median:.0f} | {against.get(name, 'raw POST + .json()')} | "
            f"{raw_median:.0f} | {ratio:.2f} | {verdict} | "
            f"{ratios[0]:.2f}-{ratios[-1]:.2f} "
            f"(middle half {quartiles[0]:.2f}-{quartiles[2]:.2f}) |"
        )


# Which calls each shortcut is on the path of. Measured and removed for issue 18 (under
# 5 % of a call each): new_response, headers_plus, put_entry+swap_entry, header_entries,
# json_string (see lean_async/transport/_private_state.py).
SHORTCUT_CASES: dict[str, tuple[str, ...]] = {
    "new_request": ("gigs.create", "customers.get new id", "aiohttp gigs.create"),
    "read_response": ("gigs.create", "aiohttp gigs.create"),
    "join_path": ("customers.get new id",),
}


async def shortcuts(calls: int, rounds: int) -> None:
    """Measure each shortcut on against off, and the public telemetry check; print a table."""
    import itertools

    from _server_process import free_port, start_server

    from lean_async._telemetry import _guard
    from lean_async.transport import _private_state

    port = free_port()
    server = start_server(str(Path(__file__).with_name("canned_server.py")), str(port), port=port)
    try:
        canned = LeanClient(api_key="bench-key", base_url=BASE_URL, transport=CannedTransport())
        loopback = LeanClient(api_key="bench-key", base_url=f"http://127.0.0.1:{port}/api/")
        _guard.ENABLED = False  # a client built as if opentelemetry-api were not installed
        try:
            untraced = LeanClient(
                api_key="bench-key", base_url=BASE_URL, transport=CannedTransport()
            )
        finally:
            _guard.ENABLED = True
        ids = itertools.count()
        arguments = {
            "partner_user_id": "uid_847834395730535",
            "gig_id": "g-1",
            "total_amount": "15.00",
            "tips": "3.00",
            "expenses": "2.00",
            "description": "SFO Airport to 410 Market Street",
            "start_time": START,
            "end_time": START + dt.timedelta(minutes=27),
        }

        calls_by_case: dict[str, Callable[[], Awaitable[object]]] = {
            "gigs.create": lambda: canned.gigs.create(**arguments),  # type: ignore[arg-type]
            "customers.get new id": lambda: canned.customers.get(f"uid_{next(ids)}"),
            "aiohttp gigs.create": lambda: loopback.gigs.create(**arguments),  # type: ignore[arg-type]
        }
        for call in calls_by_case.values():  # warm up: pools, compiled bodies
            for _ in range(50):
                await call()

        def switch(name: str, on: bool) -> None:
            for part in name.split("+"):
                public = _private_state.PUBLIC[part]
                setattr(_private_state, part, originals[part] if on else public)

        originals = {name: getattr(_private_state, name) for name in _private_state.PUBLIC}
        times: dict[tuple[str, str], tuple[list[float], list[float]]] = {
            (name, case): ([], []) for name, cases in SHORTCUT_CASES.items() for case in cases
        }
        otel: tuple[list[float], list[float]] = ([], [])
        for _ in range(rounds):
            for (name, case), (on_times, off_times) in times.items():
                on_times.append(await per_call(calls_by_case[case], calls))
                switch(name, False)
                try:
                    off_times.append(await per_call(calls_by_case[case], calls))
                finally:
                    switch(name, True)
            otel[0].append(await per_call(calls_by_case["gigs.create"], calls))
            otel[1].append(await per_call(lambda: untraced.gigs.create(**arguments), calls))  # type: ignore[arg-type]
        await canned.aclose()
        await loopback.aclose()
        await untraced.aclose()
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait()

    operations = _operations(canned, loopback, arguments)
    micro: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in operations}
    for _ in range(rounds):
        for name, (times_used, operation) in operations.items():
            micro[name][0].append(per_decode(operation, calls * 10) * times_used)
            switch(name, False)
            try:
                micro[name][1].append(per_decode(operation, calls * 10) * times_used)
            finally:
                switch(name, True)

    kind = "wall" if WALL else "CPU"
    print(f"{calls} calls a run, {rounds} interleaved rounds, median {kind} us\n")
    call_us = {
        case: statistics.median(next(on for (_, used), (on, _) in times.items() if used == case))
        for case in calls_by_case
    }
    print("What each shortcut's own operation costs per call, on and off (its uses per call):\n")
    print(
        "| shortcut | on us | off us | saves us | of gigs.create | of customers.get "
        "| of aiohttp gigs.create |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (on_times, off_times) in micro.items():
        saved = statistics.median(b - a for a, b in zip(on_times, off_times, strict=True))
        shares = [
            f"{saved / call_us[case] * 100:.1f} %" if case in SHORTCUT_CASES[name] else "-"
            for case in calls_by_case
        ]
        print(
            f"| {name} | {statistics.median(on_times):.2f} | {statistics.median(off_times):.2f} | "
            f"{saved:.2f} | {' | '.join(shares)} |"
        )
    print("\nWhole calls with every shortcut on, and with that one off:\n")
    print("| shortcut | call | on us | off us | saves | share of the call |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, case), (on_times, off_times) in times.items():
        saved = statistics.median(b - a for a, b in zip(on_times, off_times, strict=True))
        on = statistics.median(on_times)
        print(
            f"| {name} | {case} | {on:.1f} | {statistics.median(off_times):.1f} | "
            f"{saved:.1f} | {saved / on * 100:.1f} % |"
        )
    cost = statistics.median(a - b for a, b in zip(otel[0], otel[1], strict=True))
    traced = statistics.median(otel[0])
    print(
        f"| (OpenTelemetry public getters, no SDK) | gigs.create | {traced:.1f} | "
        f"{statistics.median(otel[1]):.1f} (no API) | costs {cost:.1f} | "
        f"{cost / traced * 100:.1f} % |"
    )


def _operations(
    canned: LeanClient, loopback: LeanClient, arguments: dict[str, object]
) -> dict[str, tuple[int, Callable[[], object]]]:
    """Each shortcut's own operation as a call does it: (uses per call, operation)."""
    from lean_async.transport import _private_state

    factory = canned._shared.requests
    request = factory.build(
        "POST", "gig", json={"a": "b"}, idempotency_key="k", extensions={"timeout": None}
    )
    raw = (
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(GIG_BODY)).encode()),
        (b"Date", b"Mon, 07 Dec 2026 14:00:00 GMT"),
        (b"Connection", b"keep-alive"),
    )
    ids = iter(range(10**9))
    stream = httpx.ByteStream(b"")

    def read() -> object:
        response = httpx.Response(200, headers=raw, stream=stream, request=request)
        return _private_state.read_response(response, GIG_BODY, request)

    def join() -> object:
        return _private_state.join_path(factory.base.url, BASE_URL, f"customer/u{next(ids)}")

    def build() -> object:
        return _private_state.new_request("POST", url, headers, b"{}", {"timeout": None})

    url, headers = request.url, request.headers
    # read_response: once in the response-limit layer (on aiohttp also in the base).
    return {"new_request": (1, build), "read_response": (1, read), "join_path": (1, join)}


async def pacing_alone(calls: int, rounds: int) -> None:
    """Print what the unthrottled pacing layer adds to one attempt, timed alone."""
    transport = CannedTransport()
    layer = PacingTransport(transport, AdaptiveRateLimiter())
    request = httpx.Request("GET", BASE_URL + "customer/uid_1")
    added: list[float] = []
    for _ in range(rounds):
        paced = await per_call(lambda: layer.handle_async_request(request), calls * 10)
        bare = await per_call(lambda: transport.handle_async_request(request), calls * 10)
        added.append(paced - bare)
    print(f"\npacing layer alone, unthrottled: {statistics.median(added):.2f} us per attempt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--wall", action="store_true", help="time with the wall clock")
    parser.add_argument("--shortcuts", action="store_true", help="what each shortcut is worth")
    arguments = parser.parse_args()
    WALL = arguments.wall
    if arguments.shortcuts:
        asyncio.run(shortcuts(arguments.calls, arguments.rounds))
    else:
        asyncio.run(main(arguments.calls, arguments.rounds))
    asyncio.run(pacing_alone(arguments.calls, arguments.rounds))
