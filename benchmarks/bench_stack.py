"""Requests per second of raw httpx vs lean-async over loopback, side by side.

Starts a tiny uvicorn server on loopback in a subprocess (it answers every request with
the same gig as canned JSON), then, in this one process, sends the same GET through

- **raw**: a plain `httpx.AsyncClient` ``.get(...)`` + ``.json()``;
- **stack**: an `httpx.AsyncClient` whose transport is
  `build_stack(httpx.AsyncHTTPTransport(...))` (the bare stack, as before);
- **lean**: ``lean.gigs.get(...)`` through a real `LeanClient` (validation, the request
  built by the client, the stack, the answer decoded into a `Gig`),

all with the same pool limits. Many short runs alternate between them (the order turns
each round) and each cell is the best run, which keeps the comparison fair on a machine
that other work also loads; the CPU microseconds per request of this process are shown
too, the steadiest view of what each adds. The target is lean/raw of at least 0.95.

    python benchmarks/bench_stack.py [--requests 256] [--rounds 24] [--concurrency 1 16 64]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import signal
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
from _server_process import free_port, start_server
from canned_server import GIG as BODY

from lean_async import LeanClient
from lean_async._config import Secret
from lean_async.transport import RetryBudget, RetryPolicy, build_stack

API_KEY = "bench-key"
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


def basic_auth(key: str) -> str:
    """Return the Authorization value the auth layer sends for *key*."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """A raw ASGI app answering every request with the same small JSON body."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def serve(port: int) -> None:
    """Run the ASGI app on loopback until killed."""
    import uvicorn  # imported here: only the server process needs it

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def run(
    call: Callable[[], Awaitable[object]], requests: int, concurrency: int
) -> tuple[float, float]:
    """Make *requests* calls from *concurrency* workers.

    Returns:
        Requests per second of wall time, and this process's CPU microseconds per request
        (steadier than wall time when other processes share the machine).
    """
    per_worker = requests // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    gc.collect()  # so that no run pays for garbage an earlier one left
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sent = per_worker * concurrency
    cpu = (time.process_time() - cpu_started) / sent * 1e6
    return sent / (time.perf_counter() - started), cpu


async def bench(port: int, requests: int, rounds: int, levels: list[int]) -> None:
    """Measure the three clients at each concurrency level and print the table."""
    base_url = f"http://127.0.0.1:{port}/api/"
    pool = max(levels)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    # Raw httpx sends the same Authorization header, so all put the same bytes on the wire.
    raw = httpx.AsyncClient(
        base_url=base_url, limits=limits, headers={"Authorization": basic_auth(API_KEY)}
    )
    stack = httpx.AsyncClient(
        base_url=base_url,
        transport=build_stack(
            httpx.AsyncHTTPTransport(limits=limits),
            api_key=Secret(API_KEY),
            policy=RetryPolicy(),
            budget=RetryBudget(),
        ),
    )
    lean = LeanClient(api_key=API_KEY, base_url=base_url, max_connections=pool)

    async def raw_get() -> object:
        response = await raw.get("gig/g-1")
        if response.status_code != 200:
            raise RuntimeError(f"unexpected status {response.status_code}")
        return response.json()

    async def stack_get() -> object:
        return (await stack.get("gig/g-1")).json()

    async def lean_get() -> object:
        return await lean.gigs.get("g-1")

    calls = {"raw": raw_get, "stack": stack_get, "lean": lean_get}
    async with raw, stack, lean:
        for call in calls.values():  # warm the pools and the code paths
            await run(call, pool * 20, pool)
        print(
            "| concurrency | raw req/s | stack req/s | lean req/s | stack/raw | lean/raw "
            "| raw CPU us/req | stack CPU us/req | lean CPU us/req |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for concurrency in levels:
            rps = dict.fromkeys(calls, 0.0)
            cpu = dict.fromkeys(calls, float("inf"))
            names = list(calls)
            for round_number in range(rounds):
                # Turn the order each round so none always gets the warmer machine.
                shift = round_number % len(names)
                for name in names[shift:] + names[:shift]:
                    run_rps, run_cpu = await run(calls[name], requests, concurrency)
                    rps[name] = max(rps[name], run_rps)
                    cpu[name] = min(cpu[name], run_cpu)
            print(
                f"| {concurrency} | {rps['raw']:.0f} | {rps['stack']:.0f} | {rps['lean']:.0f} "
                f"| {rps['stack'] / rps['raw']:.3f} | {rps['lean'] / rps['raw']:.3f} "
                f"| {cpu['raw']:.0f} | {cpu['stack']:.0f} | {cpu['lean']:.0f} |"
            )


def main() -> None:
    """Parse the arguments, run the server and the benchmark, and stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=256, help="requests per run")
    parser.add_argument("--rounds", type=int, default=24, help="runs per cell; the best counts")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    port = free_port()
    server = start_server(__file__, "--serve", str(port), port=port)
    try:
        asyncio.run(bench(port, args.requests, args.rounds, args.concurrency))
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
