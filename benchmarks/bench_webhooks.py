"""Signed webhook deliveries per second through the SDK's receivers, measured on loopback.

Each receiver runs in its own process on 127.0.0.1 (``_webhook_receiver.py``):
`webhook_router` (FastAPI, served by uvicorn) and `webhook_handler` (aiohttp), each with
the in-memory and with the Redis de-duplication store (a throwaway ``redis-server``).
This process sends *deliveries* signed deliveries at concurrency 64 through one aiohttp
session, as Lean would: 80% distinct events and 20% re-sends of events already sent
(Lean retries). It reports deliveries/s, the latency p50/p99, what was answered, and
checks that none was lost (every distinct event handled) and none handled twice.
Each receiver is run once.

    python benchmarks/bench_webhooks.py [--deliveries 5000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from _server_process import free_port, start_server

from lean_async.webhooks import SIGNATURE_HEADER, sign

HERE = Path(__file__).resolve().parent
API_KEY = "bench_webhook_key"
DUPLICATES = 0.2


def deliveries(count: int, seed: int = 7) -> list[bytes]:
    """Return *count* signed-to-be bodies: 80% distinct events, 20% re-sends, shuffled."""
    rng = random.Random(seed)
    distinct = count - int(count * DUPLICATES)
    bodies = [
        json.dumps(
            {
                "id": f"evt_{n:08d}",
                "event": "gig.completed",
                "data": {
                    "id": f"gig_{n}",
                    "partnerUserId": "uid_847834395730535",
                    "gigId": f"gigId_{n}",
                    "description": "SFO Airport to 410 Market Street",
                    "totalAmount": "15.00",
                    "tips": "3.00",
                    "expenses": "2.00",
                    "startTime": "2026-12-07T09:00:00.000Z",
                    "endTime": "2026-12-07T09:40:00.000Z",
                    "status": "SUCCESS",
                    "createdAt": "2026-12-07T09:41:00.000Z",
                    "updatedAt": "2026-12-07T09:42:00.000Z",
                },
                "createdAt": "2026-12-07T12:00:00.000Z",
            },
            separators=(",", ":"),
        ).encode()
        for n in range(distinct)
    ]
    resent = [bodies[rng.randrange(distinct)] for _ in range(count - distinct)]
    everything = bodies + resent
    rng.shuffle(everything)
    return everything


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway redis-server on a free loopback port; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - the system's redis-server
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(10)


@contextlib.contextmanager
def receiver(kind: str, redis_url: str | None) -> Iterator[str]:
    """Run one receiver process; yield its base URL; end it by pid."""
    port = free_port()
    args = [kind, str(port), API_KEY, *([redis_url] if redis_url else [])]
    process = start_server(str(HERE / "_webhook_receiver.py"), *args, port=port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


async def send_all(base_url: str, bodies: list[bytes], concurrency: int) -> dict[str, object]:
    """Send every body, *concurrency* at a time; return the timings and the answers."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in queue:
                headers = {
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(body, API_KEY),
                }
                started = time.perf_counter()
                async with session.post(base_url + "/hook", data=body, headers=headers) as answer:
                    await answer.read()
                    statuses[answer.status] += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        async with session.get(base_url + "/stats") as answer:
            counts = await answer.json()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "per_second": len(bodies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "statuses": dict(statuses),
        "handled": counts["handled"],
        "distinct_handled": counts["distinct"],
    }


def main(count: int, concurrency: int) -> None:
    """Run each receiver once and print the table."""
    bodies = deliveries(count)
    distinct = len(set(bodies))
    print(
        f"{count} signed deliveries ({distinct} distinct events, {count - distinct} re-sent), "
        f"concurrency {concurrency}, one run per receiver\n"
    )
    print("| receiver | store | deliveries/s | p50 ms | p99 ms | answers | lost | twice |")
    print("|---|---|---:|---:|---:|---|---:|---:|")
    with redis_server() as redis_url:
        for kind in ("fastapi", "aiohttp"):
            for store, url in (("memory", None), ("redis", redis_url)):
                with receiver(kind, url) as base_url:
                    result = asyncio.run(send_all(base_url, bodies, concurrency))
                lost = distinct - int(result["distinct_handled"])  # type: ignore[call-overload]
                twice = int(result["handled"]) - int(result["distinct_handled"])  # type: ignore[call-overload]
                answers = ", ".join(
                    f"{n} x {status}"
                    for status, n in sorted(result["statuses"].items())  # type: ignore[attr-defined]
                )
                name = "webhook_router (uvicorn)" if kind == "fastapi" else "webhook_handler"
                print(
                    f"| {name} | {store} | {result['per_second']:.0f} | "
                    f"{result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {answers} | "
                    f"{lost} | {twice} |"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    arguments = parser.parse_args()
    main(arguments.deliveries, arguments.concurrency)
