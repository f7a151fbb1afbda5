"""Throughput and memory of `gigs.create_many` with no network: a no-op base transport.

The base transport answers every request at once with a canned gig, so what is measured
is lean-async's own work per item (validation, the transport stack, decoding) plus the
batching: items/s of ``create_many`` at the given concurrency, against a plain loop of
``await gigs.create(...)``, and the tracemalloc peak of a ``create_many`` run (which
must not grow with the number of items).

    python benchmarks/bench_create_many.py [--items 20000] [--concurrency 16] [--memory]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx

from lean_async import LeanClient

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
GIG = json.dumps(
    {
        "id": "gig_1",
        "gigId": "gig_1",
        "description": "A ride",
        "totalAmount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "startTime": "2026-11-24T09:00:00.000Z",
        "endTime": "2026-11-24T09:40:00.000Z",
        "status": "PENDING",
    }
).encode()


class CannedGig(httpx.AsyncBaseTransport):
    """Answers every request at once with the same gig."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=GIG, headers={"Content-Type": "application/json"})


def items(count: int) -> Iterator[dict[str, Any]]:
    """Yield *count* gig items, made one at a time."""
    for n in range(count):
        yield {
            "partner_user_id": "uid_1",
            "gig_id": f"gig_{n}",
            "total_amount": "15.00",
            "tips": "3.00",
            "expenses": "2.00",
            "description": "A ride",
            "start_time": START,
            "end_time": START + dt.timedelta(minutes=40),
        }


async def batch(count: int, concurrency: int) -> float:
    """Return the seconds create_many takes over *count* items."""
    async with LeanClient(api_key="k", transport=CannedGig()) as lean:
        began = time.perf_counter()
        async for result in lean.gigs.create_many(items(count), concurrency=concurrency):
            if not result.ok:
                raise RuntimeError(f"item {result.index} failed: {result.error}")
        return time.perf_counter() - began


async def loop(count: int) -> float:
    """Return the seconds a plain loop of awaited creates takes over *count* items."""
    async with LeanClient(api_key="k", transport=CannedGig()) as lean:
        began = time.perf_counter()
        for item in items(count):
            await lean.gigs.create(**item)
        return time.perf_counter() - began


async def peak(count: int, concurrency: int) -> int:
    """Return the tracemalloc peak (bytes) of a create_many run over *count* items."""
    async with LeanClient(api_key="k", transport=CannedGig()) as lean:
        tracemalloc.start()
        try:
            async for _result in lean.gigs.create_many(items(count), concurrency=concurrency):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--memory", action="store_true", help="also measure tracemalloc peaks")
    args = parser.parse_args()
    seconds = asyncio.run(batch(args.items, args.concurrency))
    plain = asyncio.run(loop(args.items))
    print(
        f"create_many, concurrency {args.concurrency}: {args.items / seconds:,.0f} items/s "
        f"({seconds * 1e6 / args.items:.0f} us/item)"
    )
    print(f"plain loop of gigs.create:   {args.items / plain:,.0f} items/s")
    if args.memory:
        for count in (args.items, args.items * 5):
            mib = asyncio.run(peak(count, args.concurrency)) / 2**20
            print(f"tracemalloc peak over {count:,} items: {mib:.2f} MiB")


if __name__ == "__main__":
    main()
