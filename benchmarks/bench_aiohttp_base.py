"""Requests per second of raw aiohttp vs `AiohttpTransport` alone vs the stack on it.

Uses `bench_stack.py`'s loopback server (a uvicorn subprocess). In this one process the
same GET goes through:

- **raw**: `aiohttp.ClientSession.get` with the same headers, body read;
- **base**: an `httpx.Request` built per call from a pre-parsed `httpx.URL`, handed to
  `AiohttpTransport.handle_async_request`, body read (``aread``);
- **stack**: the same request handed to ``build_stack(AiohttpTransport())``, as
  `LeanClient` does when it builds each request itself.

Runs are short and interleaved; each cell is the best run. ``--profile`` prints where a
stack call spends its time instead (cProfile, concurrency 1).

    python benchmarks/bench_aiohttp_base.py [--requests 300] [--rounds 12] [--concurrency 1 8 64]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
from _server_process import free_port, start_server
from bench_stack import API_KEY, basic_auth

from lean_async._config import Secret
from lean_async.transport import RetryBudget, RetryPolicy, build_stack
from lean_async.transport._aiohttp import AiohttpTransport

HEADERS = {"User-Agent": "lean-async/bench", "Accept": "application/json"}
TIMEOUT = httpx.Timeout(10.0).as_dict()

Call = Callable[[], Awaitable[None]]


def raw_call(session: aiohttp.ClientSession, url: str) -> Call:
    """Return a call that GETs *url* with plain aiohttp."""
    headers = {**HEADERS, "Authorization": basic_auth(API_KEY)}

    async def call() -> None:
        async with session.get(url, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"unexpected status {response.status}")

    return call


def transport_call(transport: httpx.AsyncBaseTransport, url: str, *, auth: bool) -> Call:
    """Return a call that builds an httpx.Request and sends it through *transport*."""
    parsed = httpx.URL(url)
    headers = {**HEADERS, "Authorization": basic_auth(API_KEY)} if auth else HEADERS

    async def call() -> None:
        request = httpx.Request("GET", parsed, headers=headers, extensions={"timeout": TIMEOUT})
        response = await transport.handle_async_request(request)
        await response.aread()
        if response.status_code != 200:
            raise RuntimeError(f"unexpected status {response.status_code}")

    return call


async def run(call: Call, requests: int, concurrency: int) -> tuple[float, float]:
    """Make *requests* calls from *concurrency* workers; return req/s and CPU us/req."""
    per_worker = requests // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    gc.collect()
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sent = per_worker * concurrency
    return sent / (time.perf_counter() - started), (time.process_time() - cpu_started) / sent * 1e6


async def bench(port: int, requests: int, rounds: int, levels: list[int], profile: bool) -> None:
    """Measure the three paths at each concurrency level and print the table."""
    url = f"http://127.0.0.1:{port}/gig/g-1"
    pool = max(levels)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=pool))
    base = AiohttpTransport(max_connections=pool)
    stack = build_stack(
        AiohttpTransport(max_connections=pool),
        api_key=Secret(API_KEY),
        policy=RetryPolicy(),
        budget=RetryBudget(),
    )
    calls = {
        "raw": raw_call(session, url),
        "base": transport_call(base, url, auth=True),
        "stack": transport_call(stack, url, auth=False),
    }
    try:
        for call in calls.values():  # warm the pools and the code paths
            await run(call, pool * 10, pool)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await run(calls["stack"], requests * 10, 1)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            return
        print(
            f"{'concurrency':>11} {'raw req/s':>10} {'base req/s':>11} {'stack req/s':>12}"
            f" {'base/raw':>9} {'stack/raw':>10}   CPU us/req raw/base/stack"
        )
        for concurrency in levels:
            rps = dict.fromkeys(calls, 0.0)
            cpu = dict.fromkeys(calls, float("inf"))
            for round_number in range(rounds):
                order = list(calls) if round_number % 2 == 0 else list(reversed(calls))
                for name in order:
                    run_rps, run_cpu = await run(calls[name], requests, concurrency)
                    rps[name] = max(rps[name], run_rps)
                    cpu[name] = min(cpu[name], run_cpu)
            print(
                f"{concurrency:>11} {rps['raw']:>10.0f} {rps['base']:>11.0f} {rps['stack']:>12.0f}"
                f" {rps['base'] / rps['raw']:>9.3f} {rps['stack'] / rps['raw']:>10.3f}"
                f"   {cpu['raw']:.0f}/{cpu['base']:.0f}/{cpu['stack']:.0f}"
            )
    finally:
        await session.close()
        await base.aclose()
        await stack.aclose()


def main() -> None:
    """Parse the arguments, run the server and the benchmark, and stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per run")
    parser.add_argument("--rounds", type=int, default=12, help="runs per cell; the best counts")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--profile", action="store_true", help="profile the stack path")
    args = parser.parse_args()
    port = free_port()
    server = start_server(
        str(Path(__file__).with_name("bench_stack.py")), "--serve", str(port), port=port
    )
    try:
        asyncio.run(bench(port, args.requests, args.rounds, args.concurrency, args.profile))
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
