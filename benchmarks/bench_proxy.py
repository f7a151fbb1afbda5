"""Behind a proxy: does the aiohttp base keep its lead? Raw aiohttp vs lean on each backend.

The canned server (`canned_server.py`) and ``proxy.py`` (a real forward proxy, from the dev
group) run as processes on 127.0.0.1. In this one process three clients send
``GET /api/gig/<id>`` through the proxy at each concurrency, alternating in rounds (the
order turns each round):

- **raw aiohttp**: `aiohttp.ClientSession` with ``proxy=`` + ``json.loads``;
- **lean aiohttp**: ``lean.gigs.get`` with ``LeanClient(proxy=...)`` (the default backend);
- **lean httpx**: the same with ``backend="httpx"``.

The proxy (Python, one worker) bounds every client's rate, so the figure that matters is
the ratio to raw aiohttp through the same proxy: it prints the median requests/s of each
and lean aiohttp / raw aiohttp per round.

    python benchmarks/bench_proxy.py [--seconds 1.0] [--rounds 3] [--concurrency 1 16 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from _server_process import free_port, start_server, wait_until_listening

from lean_async import LeanClient

HERE = Path(__file__).resolve().parent
API_KEY = "bench-key"
Call = Callable[[], Awaitable[object]]


def start_proxy(port: int, log: Path) -> subprocess.Popen[bytes]:
    """Run proxy.py on *port*; wait until it accepts."""
    proxy = Path(sys.executable).with_name("proxy")
    command = [str(proxy), "--hostname", "127.0.0.1", "--port", str(port)]
    command += ["--num-workers", "1", "--num-acceptors", "1", "--log-level", "WARNING"]
    process = subprocess.Popen(  # noqa: S603 - the venv's own proxy.py
        [*command, "--log-file", str(log)]
    )
    return wait_until_listening(process, port, "proxy.py")


async def rate(call: Call, concurrency: int, seconds: float) -> float:
    """Requests per second of *call* kept *concurrency* at a time for *seconds*."""
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def main_async(args: argparse.Namespace, api: str, proxy: str) -> None:
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=256),
        headers={"Authorization": aiohttp.encode_basic_auth(API_KEY, "")},
    )
    url = api + "/gig/g-1"

    async def raw_get() -> object:
        async with session.get(url, proxy=proxy) as response:
            return json.loads(await response.read())

    lean_aiohttp = LeanClient(api_key=API_KEY, base_url=api, proxy=proxy, max_connections=256)
    lean_httpx = LeanClient(
        api_key=API_KEY, base_url=api, proxy=proxy, max_connections=256, backend="httpx"
    )
    clients: dict[str, Call] = {
        "raw aiohttp": raw_get,
        "lean aiohttp": lambda: lean_aiohttp.gigs.get("g-1"),
        "lean httpx": lambda: lean_httpx.gigs.get("g-1"),
    }
    try:
        for call in clients.values():  # warm up: connections, imports
            await rate(call, 4, 0.2)
        print(f"{'concurrency':>11} " + " ".join(f"{name:>14}" for name in clients) + "  ratio")
        for concurrency in args.concurrency:
            rates: dict[str, list[float]] = {name: [] for name in clients}
            names = list(clients)
            for round_ in range(args.rounds):
                order = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in order:
                    rates[name].append(await rate(clients[name], concurrency, args.seconds))
            ratios = [
                lean / raw
                for lean, raw in zip(rates["lean aiohttp"], rates["raw aiohttp"], strict=True)
            ]
            medians = " ".join(f"{statistics.median(r):>14,.0f}" for r in rates.values())
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{concurrency:>11} {medians}  {statistics.median(ratios):.2f} ({spread})")
    finally:
        await session.close()
        await lean_aiohttp.aclose()
        await lean_httpx.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    server_port, proxy_port = free_port(), free_port()
    server = start_server(str(HERE / "canned_server.py"), str(server_port), port=server_port)
    with tempfile.TemporaryDirectory() as folder:
        proxy = start_proxy(proxy_port, Path(folder) / "proxy.log")
        try:
            asyncio.run(
                main_async(
                    args, f"http://127.0.0.1:{server_port}/api", f"http://127.0.0.1:{proxy_port}"
                )
            )
        finally:
            for process in (proxy, server):
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
