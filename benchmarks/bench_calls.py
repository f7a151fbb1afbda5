"""Per-call cost of lean-async against raw httpx, with no network: a no-op base transport.

Both clients send through the same base, a transport that answers every request with a
canned JSON body at once, so what is measured is only what each client does per call:

- **raw GET**: ``httpx.AsyncClient.get(url)`` + ``.json()``;
- **raw POST**: ``httpx.AsyncClient.post(url, json=body)`` + ``.json()``;
- **customers.get** / **gigs.create**: the whole lean-async call (validation, request,
  the transport stack, decoding into the model);
- **list decode**: a 1,000-gig ``GET /gig`` body decoded into `Gig` models by the SDK's
  converter, against ``json.loads`` of the same bytes.

Runs alternate between the two sides of each pair (interleaved repeats) and each cell is
the median of the per-call times; the ratio is lean / raw. Budgets: ``customers.get``
<= 0.4x, ``gigs.create`` <= 0.6x the raw httpx call, list decoding <= 3x ``json.loads``.

    python benchmarks/bench_calls.py [--calls 2000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx

from lean_async import Gig, LeanClient
from lean_async._convert import structure_list

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


async def per_call(call: Callable[[], Awaitable[object]], calls: int) -> float:
    """Return the mean microseconds of *calls* sequential awaits of *call*."""
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls * 1e6


def per_decode(decode: Callable[[], object], calls: int) -> float:
    """Return the mean microseconds of *calls* runs of *decode*."""
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        decode()
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int, rounds: int) -> None:
    """Measure each pair with interleaved repeats and print the table."""
    transport = CannedTransport()
    raw = httpx.AsyncClient(base_url=BASE_URL, transport=transport)
    lean = LeanClient(api_key="bench-key", base_url=BASE_URL, transport=transport)
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

    async def raw_get() -> object:
        return (await raw.get("customer/uid_847834395730535")).json()

    async def raw_post() -> object:
        return (await raw.post("gig", json=body)).json()

    async def lean_get() -> object:
        return await lean.customers.get("uid_847834395730535")

    async def lean_create() -> object:
        return await lean.gigs.create(
            partner_user_id="uid_847834395730535",
            gig_id="gigId_1",
            total_amount=Decimal("15.00"),
            tips="3.00",
            expenses="2.00",
            description="SFO Airport to 410 Market Street",
            start_time=START,
            end_time=START + dt.timedelta(minutes=27),
        )

    pairs: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in ("customers.get", "gigs.create", "list decode")
    }
    decode_calls = max(calls // 100, 10)
    for _ in range(rounds):
        for name, lean_call, raw_call in (
            ("customers.get", lean_get, raw_get),
            ("gigs.create", lean_create, raw_post),
        ):
            pairs[name][0].append(await per_call(lean_call, calls))
            pairs[name][1].append(await per_call(raw_call, calls))
        pairs["list decode"][0].append(
            per_decode(lambda: structure_list(json.loads(LIST_BODY), Gig), decode_calls)
        )
        pairs["list decode"][1].append(per_decode(lambda: json.loads(LIST_BODY), decode_calls))
    await lean.aclose()
    await raw.aclose()

    budgets = {"customers.get": 0.4, "gigs.create": 0.6, "list decode": 3.0}
    against = {
        "customers.get": "raw GET + .json()",
        "gigs.create": "raw POST + .json()",
        "list decode": "json.loads",
    }
    print(f"{calls} calls a run, {rounds} interleaved rounds, median us per call\n")
    print("| call | lean us | against | raw us | ratio | budget | spread of ratio |")
    print("|---|---:|---|---:|---:|---:|---|")
    for name, (lean_times, raw_times) in pairs.items():
        ratios = [a / b for a, b in zip(lean_times, raw_times, strict=True)]
        lean_median, raw_median = statistics.median(lean_times), statistics.median(raw_times)
        ratio = lean_median / raw_median
        verdict = "ok" if ratio <= budgets[name] else "OVER"
        print(
            f"| {name} | {lean_median:.0f} | {against[name]} | {raw_median:.0f} | "
            f"{ratio:.2f} | <= {budgets[name]} {verdict} | {min(ratios):.2f}-{max(ratios):.2f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, arguments.rounds))
