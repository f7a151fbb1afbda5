"""`make bench`: raw httpx, lean on httpx, lean on aiohttp and raw aiohttp, side by side.

A canned Lean server (`canned_server.py`, a separate process on 127.0.0.1) answers
``GET /api/gig/<id>`` and ``POST /api/gig``. In this one process four clients send the same
requests (same path, same JSON body, same headers: Authorization, User-Agent, Accept, a fresh
Idempotency-Key on each POST) at each concurrency level:

- **raw httpx**: `httpx.AsyncClient` ``.get``/``.post(json=...)`` + ``.json()``;
- **lean httpx**: ``lean.gigs.get``/``lean.gigs.create`` with ``backend="httpx"``;
- **lean aiohttp**: the same with ``backend="aiohttp"``;
- **raw aiohttp**: `aiohttp.ClientSession` ``.get``/``.post(json=...)`` + ``json.loads``.

Each cell is several short time-boxed runs, the four clients alternating (the order turns
each round); it reports the median req/s and its spread (min-max over rounds), p50/p99
latency (all rounds' calls), this process's CPU µs per call and the server process's CPU µs
per call (``/proc/<pid>/stat`` before and after). Then ``create_many`` of 10,000 gigs on each
backend against raw aiohttp running a bounded-concurrency loop of POSTs at the same
concurrency. Writes ``benchmarks/results.md`` (with the machine's details) and
``benchmarks/results.png``, and prints the target checks.

    python benchmarks/bench_loopback.py [--seconds 0.4] [--rounds 5] [--concurrency 1 16 64 256]
    python benchmarks/bench_loopback.py --profile get   # cProfile of lean on aiohttp at c=64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import gc
import importlib.metadata
import itertools
import json
import os
import platform
import pstats
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from _server_process import free_port, start_server
from canned_server import GIG

from lean_async import LeanClient

HERE = Path(__file__).resolve().parent
API_KEY = "bench-key"
POOL = 256
# One generous timeout for every client: on a loaded machine, opening 256 connections at once
# can take longer than httpx's 5 s connect default.
TIMEOUT = 60.0
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
ITEM: dict[str, Any] = {
    "partner_user_id": "uid_847834395730535",
    "gig_id": "g-1",
    "total_amount": "15.00",
    "tips": "3.00",
    "expenses": "2.00",
    "description": "SFO Airport to 410 Market Street",
    "start_time": START,
    "end_time": START + dt.timedelta(minutes=27),
}
CLIENTS = ("raw httpx", "lean httpx", "lean aiohttp", "raw aiohttp")
BATCH_CLIENTS = ("lean httpx", "lean aiohttp", "raw aiohttp")
Call = Callable[[], Awaitable[object]]


# -- the server process ------------------------------------------------------------------------


TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def cpu_us(pid: int) -> float:
    """Return the user + system CPU microseconds process *pid* has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_US  # utime, stime: fields 14 and 15


# -- what one request is -------------------------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """The headers and JSON body lean-async puts on the wire, for the raw clients to copy."""

    headers: dict[str, str]
    body: dict[str, Any]


async def capture_wire() -> Wire:
    """Record what `LeanClient` sends for a ``gigs.create`` (through a mock base)."""
    seen: list[tuple[dict[str, str], bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((dict(request.headers), request.content))  # copied: auth redacts after
        return httpx.Response(200, content=GIG, headers={"Content-Type": "application/json"})

    async with LeanClient(
        api_key=API_KEY, base_url="http://127.0.0.1:1/api/", transport=httpx.MockTransport(handler)
    ) as lean:
        await lean.gigs.create(**ITEM)
    sent_headers, content = seen[0]
    keep = {"authorization", "user-agent", "accept", "content-type"}
    headers = {name: value for name, value in sent_headers.items() if name.lower() in keep}
    return Wire(headers=headers, body=json.loads(content))


# -- the four clients ------------------------------------------------------------------------


@dataclass
class Client:
    """One client under test: its get and create calls and how to close it."""

    get: Call
    create: Call
    close: Callable[[], Awaitable[object]]
    lean: LeanClient | None = None
    session: aiohttp.ClientSession | None = None


def raw_httpx(base_url: str, wire: Wire) -> Client:
    """Plain `httpx.AsyncClient`, pool as large as the largest concurrency."""
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    client = httpx.AsyncClient(
        base_url=base_url, limits=limits, headers=wire.headers, timeout=TIMEOUT
    )

    async def get() -> object:
        response = await client.get("gig/g-1")
        if response.status_code != 200:
            raise RuntimeError(f"unexpected status {response.status_code}")
        return response.json()

    async def create() -> object:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        response = await client.post("gig", json=wire.body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"unexpected status {response.status_code}")
        return response.json()

    return Client(get, create, client.aclose)


def lean_client(base_url: str, backend: str) -> Client:
    """A real `LeanClient` on *backend*: validation, the stack, a decoded `Gig`."""
    lean = LeanClient(
        api_key=API_KEY,
        base_url=base_url,
        max_connections=POOL,
        timeout=TIMEOUT,
        backend=backend,  # type: ignore[arg-type]
    )

    async def get() -> object:
        return await lean.gigs.get("g-1")

    async def create() -> object:
        return await lean.gigs.create(**ITEM)

    return Client(get, create, lean.aclose, lean=lean)


def raw_aiohttp(base_url: str, wire: Wire) -> Client:
    """Plain `aiohttp.ClientSession`, connector limit as large as the largest concurrency."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=POOL),
        headers=wire.headers,
        timeout=aiohttp.ClientTimeout(total=TIMEOUT),
    )
    get_url, post_url = base_url + "gig/g-1", base_url + "gig"

    async def get() -> object:
        async with session.get(get_url) as response:
            content = await response.read()
            if response.status != 200:
                raise RuntimeError(f"unexpected status {response.status}")
        return json.loads(content)

    async def create() -> object:
        return await raw_post(session, post_url, wire.body)

    return Client(get, create, session.close, session=session)


async def raw_post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> object:
    """POST *body* as JSON with a fresh Idempotency-Key and decode the answer."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    async with session.post(url, json=body, headers=headers) as response:
        content = await response.read()
        if response.status != 200:
            raise RuntimeError(f"unexpected status {response.status}")
    return json.loads(content)


def make_clients(base_url: str, wire: Wire) -> dict[str, Client]:
    """Build the four clients, named as in `CLIENTS`."""
    return {
        "raw httpx": raw_httpx(base_url, wire),
        "lean httpx": lean_client(base_url, "httpx"),
        "lean aiohttp": lean_client(base_url, "aiohttp"),
        "raw aiohttp": raw_aiohttp(base_url, wire),
    }


# -- one run and one cell -----------------------------------------------------------------------


@dataclass
class Run:
    """One time-boxed run of one client."""

    calls: int
    wall: float
    cpu_us: float
    server_us: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        """Requests per second of wall time."""
        return self.calls / self.wall


async def timed_run(call: Call, concurrency: int, seconds: float, server_pid: int) -> Run:
    """Have *concurrency* workers call *call* back to back until *seconds* have passed."""
    latencies: list[float] = []
    clock = time.perf_counter
    stop_at = 0.0

    async def worker() -> None:
        while True:  # at least one call each, however late the worker starts
            began = clock()
            await call()
            latencies.append(clock() - began)
            if began >= stop_at:
                return

    gc.collect()  # so that no run pays for garbage an earlier one left
    server_before, cpu_before, started = cpu_us(server_pid), time.process_time(), clock()
    stop_at = started + seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = clock() - started
    cpu = (time.process_time() - cpu_before) * 1e6
    return Run(len(latencies), wall, cpu, cpu_us(server_pid) - server_before, latencies)


@dataclass
class Cell:
    """All rounds of one client at one operation and concurrency."""

    runs: list[Run] = field(default_factory=list)

    def rps(self) -> list[float]:
        """Requests per second of each round."""
        return [run.rps for run in self.runs]

    def median_rps(self) -> float:
        """The median round's requests per second."""
        return statistics.median(self.rps())

    def latency_ms(self, q: float) -> float:
        """The *q* quantile (0-1) of every call's latency over all rounds, in ms."""
        pooled = sorted(itertools.chain.from_iterable(run.latencies for run in self.runs))
        return pooled[min(len(pooled) - 1, int(q * len(pooled)))] * 1e3

    def cpu_per_call(self) -> float:
        """The median round's client CPU µs per call."""
        return statistics.median(run.cpu_us / run.calls for run in self.runs)

    def server_per_call(self) -> float:
        """Server CPU µs per call over all rounds (summed: /proc ticks are 10 ms)."""
        return sum(run.server_us for run in self.runs) / sum(run.calls for run in self.runs)


Results = dict[tuple[str, int], dict[str, Cell]]


async def bench_calls(
    clients: dict[str, Client], ops: list[str], levels: list[int], args: argparse.Namespace
) -> Results:
    """Run every (operation, concurrency) cell, the clients alternating in short rounds.

    Rounds are trimmed (never below ``--min-rounds``) so that the whole run keeps to
    ``--budget`` seconds: on a loaded machine httpx at concurrency 256 needs seconds a round.
    """
    results: Results = {}
    began = time.perf_counter()
    budget = args.budget - args.batch_rounds * len(BATCH_CLIENTS) * args.batch_seconds
    cells_left = len(ops) * len(levels)
    for concurrency in levels:
        for client in clients.values():  # open the connections and warm the code paths
            for op in ops:
                await timed_run(getattr(client, op), concurrency, 0.05, args.server_pid)
        for op in ops:
            share = (budget - (time.perf_counter() - began)) / cells_left
            cells_left -= 1
            cell_began = time.perf_counter()
            cells = {name: Cell() for name in CLIENTS}
            for round_number in range(args.rounds):
                spent = time.perf_counter() - cell_began
                if round_number >= args.min_rounds and spent * (1 + 1 / round_number) > share:
                    break
                shift = round_number % len(CLIENTS)
                for name in CLIENTS[shift:] + CLIENTS[:shift]:
                    call = getattr(clients[name], op)
                    run = await timed_run(call, concurrency, args.seconds, args.server_pid)
                    cells[name].runs.append(run)
            results[op, concurrency] = cells
            print_cell(op, concurrency, cells)
    return results


def print_cell(op: str, concurrency: int, cells: dict[str, Cell]) -> None:
    """Print one line per client for a finished cell."""
    for name, cell in cells.items():
        rps = cell.rps()
        print(
            f"{op:6} c={concurrency:<3} {name:12} {cell.median_rps():7.0f} req/s "
            f"({min(rps):.0f}-{max(rps):.0f})  p50 {cell.latency_ms(0.5):6.2f} ms  "
            f"p99 {cell.latency_ms(0.99):6.2f} ms  client {cell.cpu_per_call():5.0f} µs/call  "
            f"server {cell.server_per_call():4.0f} µs/call",
            flush=True,
        )


# -- create_many ---------------------------------------------------------------------------------


def gig_items(count: int) -> Iterator[dict[str, Any]]:
    """Yield *count* distinct gigs as `create` keyword arguments, one at a time."""
    for n in range(count):
        yield {**ITEM, "gig_id": f"gig_{n}"}


async def raw_batch(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    count: int,
    concurrency: int,
    stop_at: float,
) -> int:
    """POST up to *count* gigs, *concurrency* workers sharing one iterator; return how many."""
    numbers = iter(range(count))
    done = 0

    async def worker() -> None:
        nonlocal done
        for n in numbers:
            await raw_post(session, url, {**body, "gigId": f"gig_{n}"})
            done += 1
            if time.perf_counter() >= stop_at:
                return

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def lean_batch(lean: LeanClient, count: int, concurrency: int, stop_at: float) -> int:
    """Pay up to *count* gigs through ``create_many``; return how many were paid.

    Leaving the ``async for`` at *stop_at* cancels the calls in flight (aclosing).
    """
    done = 0
    batch = lean.gigs.create_many(gig_items(count), concurrency=concurrency)
    async with contextlib.aclosing(batch):
        async for result in batch:
            if not result.ok:
                raise RuntimeError(f"item {result.index} failed: {result.error}")
            done += 1
            if time.perf_counter() >= stop_at:
                break
    return done


@dataclass
class Batch:
    """One create_many (or raw loop) run: items paid and the seconds it took."""

    items: int
    seconds: float

    @property
    def rate(self) -> float:
        """Items per second."""
        return self.items / self.seconds


async def bench_batches(
    clients: dict[str, Client], base_url: str, wire: Wire, args: argparse.Namespace
) -> dict[str, list[Batch]]:
    """Items per second of each batch client, alternating over ``--batch-rounds`` rounds.

    A run stops at ``--batch-seconds`` even if the batch is not done (httpx under load can
    take minutes for 10,000 gigs); its rate is then over the items paid so far.
    """
    runs: dict[str, list[Batch]] = {name: [] for name in BATCH_CLIENTS}
    count, concurrency = args.batch_items, args.batch_concurrency
    for round_number in range(args.batch_rounds):
        shift = round_number % len(BATCH_CLIENTS)
        for name in BATCH_CLIENTS[shift:] + BATCH_CLIENTS[:shift]:
            client = clients[name]
            gc.collect()
            started = time.perf_counter()
            stop_at = started + args.batch_seconds
            if client.lean is not None:
                done = await lean_batch(client.lean, count, concurrency, stop_at)
            else:
                assert client.session is not None  # noqa: S101 - raw aiohttp has its session
                done = await raw_batch(
                    client.session, base_url + "gig", wire.body, count, concurrency, stop_at
                )
            run = Batch(done, time.perf_counter() - started)
            runs[name].append(run)
            print(
                f"create_many c={concurrency} {name:12} {run.rate:7.0f} items/s "
                f"({done:,} of {count:,} in {run.seconds:.1f} s)",
                flush=True,
            )
    return runs


# -- the report ----------------------------------------------------------------------------------


def ratio(results: Results, op: str, concurrency: int, top: str, bottom: str) -> list[float]:
    """Per-round ratios of *top*'s req/s to *bottom*'s (same round, so same machine load)."""
    cells = results[op, concurrency]
    return [a / b for a, b in zip(cells[top].rps(), cells[bottom].rps(), strict=True)]


def spread(values: list[float], digits: int = 2) -> str:
    """``median (min-max)`` of *values*."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def machine() -> list[str]:
    """Lines describing the machine, the interpreter and the library versions."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    versions = []
    for name in ("lean-async", "httpx", "httpcore", "aiohttp", "yarl", "multidict", "matplotlib"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores "
        f"({len(os.sched_getaffinity(0))} usable by this process)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.platform()}",
        f"- {', '.join(versions)}",
    ]


def checks(results: Results, rates: dict[str, list[float]], levels: list[int]) -> list[str]:
    """The issue's targets, one line each, with PASS/MISS and the margin."""
    lines = []

    def check(label: str, values: list[float], target: float) -> None:
        value = statistics.median(values)
        verdict = "PASS" if value >= target else f"MISS by {(1 - value / target) * 100:.0f}%"
        lines.append(f"- {label}: {spread(values)} (target >= {target}) **{verdict}**")

    ops = sorted({op for op, _ in results})
    for op in ops:
        for c in levels:
            check(
                f"`{op}` c={c}: lean aiohttp / raw aiohttp",
                ratio(results, op, c, "lean aiohttp", "raw aiohttp"),
                0.6,
            )
        if 64 in levels:
            check(
                f"`{op}` c=64: lean aiohttp / raw httpx",
                ratio(results, op, 64, "lean aiohttp", "raw httpx"),
                5.0,
            )
    if rates and rates["raw aiohttp"]:
        per_round = [
            a / b for a, b in zip(rates["lean aiohttp"], rates["raw aiohttp"], strict=True)
        ]
        check("`create_many` on aiohttp / raw aiohttp loop", per_round, 0.5)
    worst = max(
        cell.server_per_call() / cell.cpu_per_call()
        for cells in results.values()
        for cell in cells.values()
    )
    verdict = "PASS" if worst < 1 else "MISS"
    lines.append(
        f"- server CPU per call / client CPU per call, worst cell: {worst:.2f} "
        f"(must stay < 1: the server is not the bottleneck) **{verdict}**"
    )
    return lines


def report(
    results: Results,
    batches: dict[str, list[Batch]],
    levels: list[int],
    args: argparse.Namespace,
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    elapsed: float,
) -> str:
    """The Markdown report: machine, settings, the tables and the target checks."""
    begin, end = loads
    rates = {name: [run.rate for run in runs] for name, runs in batches.items()}
    out = [
        "# Loopback benchmark",
        "",
        f"`make bench` ({' '.join(sys.argv[1:]) or 'defaults'}), "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all.",
        "",
        *machine(),
        f"- Load average at start {begin[0]:.2f} / {begin[1]:.2f} / {begin[2]:.2f}, at end "
        f"{end[0]:.2f} / {end[1]:.2f} / {end[2]:.2f} (1/5/15 min). The machine is shared: "
        "other work competes with client and server for the cores.",
        f"- Server: `benchmarks/canned_server.py` (asyncio Protocol, canned keep-alive "
        f"answers), its own process. Each cell: up to {args.rounds} rounds (at least "
        f"{args.min_rounds}; fewer when the {args.budget:.0f} s budget runs short) of "
        f"{args.seconds} s per client, the four clients alternating, order turning each "
        f"round; pool/connector limit {POOL} and a {TIMEOUT:.0f} s timeout for all.",
        "",
        "## Calls",
        "",
        "req/s: median of the rounds (min-max). Latency: all calls of all rounds. CPU: "
        "µs per call of the client process (median round) and of the server process.",
        "",
        "| call | concurrency | client | req/s | spread | rounds | p50 ms | p99 ms "
        "| client CPU µs/call | server CPU µs/call |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (op, c), cells in results.items():
        for name, cell in cells.items():
            rps = cell.rps()
            out.append(
                f"| `gigs.{op}` | {c} | {name} | {cell.median_rps():.0f} "
                f"| {min(rps):.0f}-{max(rps):.0f} | {len(rps)} | {cell.latency_ms(0.5):.2f} "
                f"| {cell.latency_ms(0.99):.2f} | {cell.cpu_per_call():.0f} "
                f"| {cell.server_per_call():.0f} |"
            )
    out += [
        "",
        "## Ratios (per round, then median and min-max over rounds)",
        "",
        "| call | concurrency | lean aiohttp / raw aiohttp | lean aiohttp / raw httpx "
        "| lean httpx / raw httpx |",
        "|---|---:|---:|---:|---:|",
    ]
    for op, c in results:
        out.append(
            f"| `gigs.{op}` | {c} "
            f"| {spread(ratio(results, op, c, 'lean aiohttp', 'raw aiohttp'))} "
            f"| {spread(ratio(results, op, c, 'lean aiohttp', 'raw httpx'))} "
            f"| {spread(ratio(results, op, c, 'lean httpx', 'raw httpx'))} |"
        )
    if rates and rates["raw aiohttp"]:
        out += [
            "",
            f"## `create_many`: {args.batch_items:,} gigs at concurrency {args.batch_concurrency}",
            "",
            f"Items per second, median (min-max) of {args.batch_rounds} alternating rounds; "
            "raw aiohttp is a bounded-concurrency loop of POSTs (same body and headers). "
            f"A run stops after {args.batch_seconds:.0f} s; the rate is then over the items "
            "paid so far (the items column: per round).",
            "",
            "| client | items/s | items paid per round |",
            "|---|---:|---|",
        ]
        out += [
            f"| {name} | {spread(rates[name], 0)} "
            f"| {', '.join(f'{run.items:,} in {run.seconds:.1f} s' for run in runs)} |"
            for name, runs in batches.items()
        ]
    out += ["", "## Targets", "", *checks(results, rates, levels), ""]
    return "\n".join(out)


def plot(
    results: Results,
    rates: dict[str, list[float]],
    levels: list[int],
    concurrency: int,
    path: Path,
) -> None:
    """Req/s against concurrency per call (median, min-max bars) and create_many, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = sorted({op for op, _ in results})
    panels = len(ops) + (1 if rates and rates["raw aiohttp"] else 0)
    figure, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.5), squeeze=False)
    for axis, op in zip(axes[0], ops, strict=False):
        for name in CLIENTS:
            cells = [results[op, c][name] for c in levels]
            medians = [cell.median_rps() for cell in cells]
            low = [m - min(cell.rps()) for m, cell in zip(medians, cells, strict=True)]
            high = [max(cell.rps()) - m for m, cell in zip(medians, cells, strict=True)]
            axis.errorbar(levels, medians, yerr=[low, high], marker="o", capsize=3, label=name)
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_xlabel("concurrency")
        axis.set_ylabel("requests per second")
        axis.set_title(f"gigs.{op}")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend()
    if panels > len(ops):
        axis = axes[0][-1]
        names = list(rates)
        medians = [statistics.median(rates[name]) for name in names]
        low = [m - min(rates[name]) for m, name in zip(medians, names, strict=True)]
        high = [max(rates[name]) - m for m, name in zip(medians, names, strict=True)]
        axis.bar(names, medians, yerr=[low, high], capsize=4, color=["C1", "C2", "C3"])
        axis.set_ylabel("gigs per second")
        axis.set_title(f"create_many (concurrency {concurrency})")
        axis.grid(alpha=0.3, axis="y")
    figure.suptitle("lean-async loopback benchmark (median, bars: min-max of rounds)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# -- profile -------------------------------------------------------------------------------------


async def profile(base_url: str, op: str, concurrency: int, calls: int) -> None:
    """Print where lean on aiohttp spends its time at *concurrency* (cProfile, per call)."""
    client = lean_client(base_url, "aiohttp")
    call = getattr(client, op)
    try:
        await asyncio.gather(*(call() for _ in range(concurrency)))  # warm
        per_worker = calls // concurrency

        async def worker() -> None:
            for _ in range(per_worker):
                await call()

        profiler = cProfile.Profile()
        profiler.enable()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        profiler.disable()
    finally:
        await client.close()
    total = per_worker * concurrency
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    print(f"lean aiohttp gigs.{op}, c={concurrency}, {total} calls (cProfile inflates times)")

    def table(title: str, chosen: list[Any]) -> None:
        print(f"\n{title}")
        print(f"{'tottime µs/call':>15} {'cumtime µs/call':>15} {'calls/call':>10}  function")
        for (filename, line, name), (_, ncalls, tottime, cumtime, _) in chosen:
            where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}:{name}"
            print(
                f"{tottime / total * 1e6:15.1f} {cumtime / total * 1e6:15.1f} "
                f"{ncalls / total:10.2f}  {where}"
            )

    table("all functions, by own time", rows[:25])
    ours = [row for row in rows if "lean_async" in row[0][0] or "httpx" in row[0][0]]
    table("lean_async and httpx only, by own time", ours[:25])
    print(
        f"\nown time of lean_async + httpx: "
        f"{sum(row[1][2] for row in ours) / total * 1e6:.1f} µs/call"
    )


# -- main ----------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace, port: int) -> None:
    """Run the benchmark (or the profile) against the server on *port* and write the report."""
    base_url = f"http://127.0.0.1:{port}/api/"
    if args.profile:
        await profile(base_url, args.profile, 64, args.profile_calls)
        return
    load_begin, began = os.getloadavg(), time.perf_counter()
    wire = await capture_wire()
    clients = make_clients(base_url, wire)
    try:
        results = await bench_calls(clients, args.ops, args.concurrency, args)
        batches = await bench_batches(clients, base_url, wire, args) if args.batch_rounds else {}
    finally:
        for client in clients.values():
            await client.close()
    rates = {name: [run.rate for run in runs] for name, runs in batches.items()}
    markdown = report(
        results,
        batches,
        args.concurrency,
        args,
        (load_begin, os.getloadavg()),
        time.perf_counter() - began,
    )
    await asyncio.to_thread(Path(args.markdown).write_text, markdown)
    await asyncio.to_thread(
        plot, results, rates, args.concurrency, args.batch_concurrency, Path(args.png)
    )
    print()
    print(
        "\n".join(
            line
            for line in markdown.splitlines()
            if line.startswith("- ") and ("target" in line or "server CPU" in line)
        )
    )
    print(f"\nwrote {args.markdown} and {args.png} in {time.perf_counter() - began:.0f} s")


def main() -> None:
    """Parse the arguments, start the server, run, and stop the server."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.4, help="length of one run")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per cell")
    parser.add_argument("--min-rounds", type=int, default=3, help="rounds kept under --budget")
    parser.add_argument("--budget", type=float, default=270.0, help="seconds for the whole run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--ops", nargs="+", default=["get", "create"], choices=["get", "create"])
    parser.add_argument("--batch-items", type=int, default=10_000)
    parser.add_argument("--batch-concurrency", type=int, default=16)
    parser.add_argument("--batch-rounds", type=int, default=3, help="0 skips create_many")
    parser.add_argument("--batch-seconds", type=float, default=6.0, help="cap on one batch run")
    parser.add_argument("--markdown", default=str(HERE / "results.md"))
    parser.add_argument("--png", default=str(HERE / "results.png"))
    parser.add_argument(
        "--profile",
        choices=["get", "create"],
        help="profile lean on aiohttp at c=64 instead of benchmarking",
    )
    parser.add_argument("--profile-calls", type=int, default=6400)
    args = parser.parse_args()
    port = free_port()
    server = start_server(str(HERE / "canned_server.py"), str(port), port=port)
    args.server_pid = server.pid
    try:
        asyncio.run(main_async(args, port))
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
