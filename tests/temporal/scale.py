"""``make scale``: one process's ``create_many`` against Temporal batches, one sandbox.

In one run against one ``lean-async sandbox`` process and one Temporal dev server:

1. in-process ``create_many`` of *items* gigs at *concurrency* (the yardstick);
2. the same payroll as a Temporal batch (``start_batch``, the same concurrency) paid by
   1, 2 and 4 ``lean-async worker`` processes: items/s and the ratio to (1), from
   interleaved repeats (the median of each);
3. the batch on 4 workers, the busiest SIGKILLed at 30%: duplicates and missing gigs in
   the sandbox (both must be 0) and the longest stall in progress (no item finished);
4. memory: each worker's RSS and this starter's, sampled through every batch: the
   growth from a quarter of the way to the end (flat: a few MB, not per item).

Prints a table, writes ``docs/scale.md`` and ``docs/scale.png`` (items/s by setup, and
progress over time around the kill). Everything runs on 127.0.0.1 and is ended by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client

from lean_async import LeanClient
from lean_async._payroll import GIGS
from lean_async.temporal import batch_progress, row_of, slice_plan, start_batch
from tests.chaos.sandbox_process import SandboxProcess, sandbox_process
from tests.temporal.cluster import (
    WorkerProcess,
    admin,
    dev_server,
    longest_stall,
    slices_in_flight,
    temporal_binary,
    worker_process,
)
from tests.temporal.conftest import API_KEY, WORKERS, _customers
from tests.temporal.test_batches import gig_items

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Seconds between progress samples: often around the kill (the stall), seldom otherwise
# (each sample is three describe calls: the Temporal server shares the 2 cores).
_SAMPLE_KILL = 0.1
_SAMPLE = 0.5


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def rss_mb(pid: int) -> float:
    """Return the resident memory of process *pid* in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Run:
    """One measured batch."""

    label: str
    items: int
    seconds: float
    duplicates: int = 0
    missing: int = 0
    failed: int = 0
    stall: float = 0.0
    in_flight_at_kill: int = 0
    progress: list[tuple[float, int]] = field(default_factory=list)
    killed_at: float | None = None
    worker_growth: float = 0.0  # MB, the largest over the workers
    worker_peak: float = 0.0
    starter_growth: float = 0.0

    @property
    def rate(self) -> float:
        """Items per second."""
        return self.items / self.seconds


async def _in_process(
    sandbox: SandboxProcess, items: list[dict[str, str]], concurrency: int
) -> Run:
    arguments = [row_of(GIGS, n, cells).arguments for n, cells in enumerate(items)]
    async with LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as lean:
        started = time.monotonic()
        failed = 0
        async for result in lean.gigs.create_many(arguments, concurrency=concurrency):
            failed += result.error is not None
        seconds = time.monotonic() - started
    return Run("in-process create_many", len(items), seconds, failed=failed)


async def _busiest(client: Client, batch: str, workers: list[WorkerProcess]) -> tuple[Any, int]:
    """Return the worker with the most slices in flight, and how many that is."""
    count = await slices_in_flight(client, [batch])
    host = socket.gethostname()
    doomed = max(workers, key=lambda w: count[f"{w.pid}@{host}"])
    return doomed, count[f"{doomed.pid}@{host}"]


async def _temporal(
    client: Client,
    sandbox: SandboxProcess,
    workers: list[WorkerProcess],
    items: list[dict[str, str]],
    prefix: str,
    args: argparse.Namespace,
    *,
    kill_at: float | None = None,
    slice_size: int | None = None,
) -> Run:
    label = f"Temporal, {len(workers)} worker{'s' * (len(workers) > 1)}"
    if slice_size is not None:
        label += f", slices of {slice_size}"
    if kill_at is not None:
        label += f", 1 SIGKILLed at {kill_at:.0%}"
    run = Run(label, len(items), 0.0)
    me = os.getpid()
    rss: dict[int, list[float]] = {w.pid: [] for w in workers}
    rss[me] = []
    started = time.monotonic()
    handle = await start_batch(
        client,
        batch_id=prefix,
        kind="gigs",
        items=items,
        concurrency=args.concurrency,
        slice_size=slice_size or args.slice_size,
        heartbeat_timeout=args.heartbeat_timeout,
    )
    result = asyncio.ensure_future(handle.result())
    last_rss = 0.0
    quarter = len(items) / 4
    while not result.done():
        now = time.monotonic() - started
        with contextlib.suppress(Exception):
            done = (await batch_progress(client, handle.id)).done
            run.progress.append((time.monotonic() - started, done))
            if done >= quarter and now - last_rss >= 0.5:
                last_rss = now
                for pid in rss:
                    rss[pid].append(rss_mb(pid))
            if kill_at is not None and run.killed_at is None and done >= len(items) * kill_at:
                doomed, run.in_flight_at_kill = await _busiest(client, handle.id, workers)
                doomed.kill()
                run.killed_at = time.monotonic() - started
                del rss[doomed.pid]
        await asyncio.wait({result}, timeout=_SAMPLE if kill_at is None else _SAMPLE_KILL)
    summary = result.result()
    run.seconds = time.monotonic() - started
    run.progress.append((run.seconds, len(items)))
    for pid in rss:
        rss[pid].append(rss_mb(pid))
    growth = {pid: samples[-1] - samples[0] for pid, samples in rss.items() if samples}
    run.starter_growth = growth.pop(me, 0.0)
    run.worker_growth = max(growth.values(), default=0.0)
    run.worker_peak = max((max(s) for p, s in rss.items() if p != me and s), default=0.0)
    run.failed = summary.failed_count
    run.stall = longest_stall(run.progress)
    gigs = await _gigs(sandbox, prefix)
    run.duplicates = sum(n - 1 for n in gigs.values())
    run.missing = sum(1 for item in items if item["gigId"] not in gigs)
    return run


async def _gigs(sandbox: SandboxProcess, prefix: str) -> Counter[str]:
    async with LeanClient(api_key=sandbox.api_key, base_url=sandbox.url) as lean:
        gigs = await lean.gigs.list()
    return Counter(g.gig_id for g in gigs if g.gig_id.startswith(prefix))


@contextlib.contextmanager
def _workers(address: str, sandbox: SandboxProcess, logs: Path, count: int) -> Any:
    with contextlib.ExitStack() as stack:
        workers = [
            stack.enter_context(
                worker_process(address, sandbox, logs / f"w{n}-{uuid.uuid4().hex[:6]}.log")
            )
            for n in range(count)
        ]
        deadline = time.monotonic() + 60
        for worker in workers:
            while b"polling" not in worker.log.read_bytes():
                if time.monotonic() > deadline or worker.process.poll() is not None:
                    raise RuntimeError(f"a worker did not start: see {worker.log}")
                time.sleep(0.05)
        yield workers


async def _measure(
    address: str, sandbox: SandboxProcess, logs: Path, args: argparse.Namespace
) -> int:
    client = await Client.connect(address)
    slots, calls = slice_plan(args.concurrency)
    _say(
        f"{args.items} gigs, concurrency {args.concurrency} ({slots} slices x {calls} calls), "
        f"slices of {args.slice_size}, heartbeat timeout {args.heartbeat_timeout} s, "
        f"{os.cpu_count()} cores"
    )
    runs: dict[str, list[Run]] = {}
    fleet = [int(n) for n in args.fleet.split(",")]
    setups: list[tuple[int, int | None]] = [(0, None)] + [(n, None) for n in fleet]
    setups += [(max(fleet), int(n)) for n in args.compare_slices.split(",") if n]
    for repeat in range(args.repeats):
        for count, slice_size in setups:
            prefix = f"s{repeat}-{count}-{slice_size}-{uuid.uuid4().hex[:6]}"
            items = gig_items(prefix, args.items)
            if count == 0:
                run = await _in_process(sandbox, items, args.concurrency)
            else:
                with _workers(address, sandbox, logs, count) as workers:
                    run = await _temporal(
                        client, sandbox, workers, items, prefix, args, slice_size=slice_size
                    )
            runs.setdefault(run.label, []).append(run)
            _say(f"  {run.label:<40} {run.rate:7.0f} items/s  (repeat {repeat + 1})")
    prefix = f"kill-{uuid.uuid4().hex[:6]}"
    with _workers(address, sandbox, logs, max(fleet)) as workers:
        kill = await _temporal(
            client, sandbox, workers, gig_items(prefix, args.items), prefix, args, kill_at=0.3
        )
    _say(f"  {kill.label:<40} {kill.rate:7.0f} items/s")
    base = statistics.median(r.rate for r in runs["in-process create_many"])
    lines = [
        "| setup | items/s | vs in-process | worker RSS growth / peak | starter RSS growth |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, repeats in runs.items():
        rate = statistics.median(r.rate for r in repeats)
        memory = (
            f"{max(r.worker_growth for r in repeats):+.1f} / "
            f"{max(r.worker_peak for r in repeats):.0f} MB"
            if "Temporal" in label
            else ""
        )
        starter = f"{max(r.starter_growth for r in repeats):+.1f} MB" if "Temporal" in label else ""
        lines.append(f"| {label} | {rate:.0f} | {rate / base:.2f}x | {memory} | {starter} |")
    lines.append(
        f"| {kill.label} | {kill.rate:.0f} | {kill.rate / base:.2f}x | "
        f"{kill.worker_growth:+.1f} / {kill.worker_peak:.0f} MB | {kill.starter_growth:+.1f} MB |"
    )
    kill_lines = [
        f"- SIGKILL at 30%: the busiest worker, {kill.in_flight_at_kill} slice(s) in flight",
        f"- duplicates: {kill.duplicates}, missing: {kill.missing}, failed: {kill.failed}",
        f"- longest stall in progress: {kill.stall:.2f} s (sampled every {_SAMPLE_KILL} s)",
    ]
    _say()
    for line in [*lines, "", *kill_lines]:
        _say(line)
    if args.write:
        DOCS.joinpath("scale.md").write_text(
            "# `make scale`\n\nWritten by `make scale` (tests/temporal/scale.py): "
            f"{args.items} gigs per batch, concurrency {args.concurrency} "
            f"({slots} slices x {calls} calls), slices of {args.slice_size}, heartbeat timeout "
            f"{args.heartbeat_timeout} s, one sandbox, {os.cpu_count()} cores, median of "
            f"{args.repeats} interleaved repeats.\n\n" + "\n".join([*lines, "", *kill_lines]) + "\n"
        )
        _plot(runs, kill, base)
    temporal_rates = {label: statistics.median(r.rate for r in rs) for label, rs in runs.items()}
    widest = temporal_rates.get(f"Temporal, {max(fleet)} workers", 0.0)
    _say()
    _say(f"goal 4 workers >= 0.5x in-process: {widest / base:.2f}x")
    _say(f"goal 0 duplicates, 0 missing:       {kill.duplicates}, {kill.missing}")
    _say(f"goal longest stall <= 3 s:          {kill.stall:.2f} s")
    ok = kill.duplicates == kill.missing == kill.failed == 0
    return 0 if ok else 1


def _plot(runs: dict[str, list[Run]], kill: Run, base: float) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _say("(no matplotlib: docs/scale.png not written; `make scale` installs it)")
        return
    figure, (bars, line) = plt.subplots(1, 2, figsize=(11, 4))
    labels = list(runs)
    rates = [statistics.median(r.rate for r in runs[label]) for label in labels]
    short = [
        label.replace("in-process create_many", "in-process")
        .replace("Temporal, ", "")
        .replace(" workers", "w")
        .replace(" worker", "w")
        .replace(", slices of ", "\nslices ")
        for label in labels
    ]
    bars.bar(short, rates, color=["#888"] + ["#3a7"] * (len(labels) - 1))
    bars.axhline(base * 0.5, color="#c33", linestyle="--", linewidth=1, label="0.5x in-process")
    bars.set_ylabel("items/s (w: worker processes)")
    bars.tick_params(axis="x", labelsize=8)
    bars.set_title("Paying one payroll")
    bars.legend(loc="lower right")
    line.plot([t for t, _ in kill.progress], [d for _, d in kill.progress], color="#37a")
    if kill.killed_at is not None:
        line.axvline(kill.killed_at, color="#c33", linestyle="--", linewidth=1, label="SIGKILL")
    line.set_xlabel("seconds")
    line.set_ylabel("items done")
    line.set_title(f"4 workers, one killed at 30% (longest stall {kill.stall:.1f} s)")
    line.legend()
    figure.tight_layout()
    figure.savefig(DOCS / "scale.png", dpi=90)
    plt.close(figure)


def main() -> int:
    """Run the comparison; exit 0 when nothing was duplicated, missed or failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--fleet", default="1,2,4", help="worker counts to compare")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--slice-size", type=int, default=200)
    parser.add_argument(
        "--compare-slices", default="", help="other slice sizes to run on the largest fleet"
    )
    parser.add_argument("--heartbeat-timeout", type=float, default=2.0)
    parser.add_argument("--write", action="store_true", help="write docs/scale.md and .png")
    args = parser.parse_args()
    binary = temporal_binary()
    if binary is None:
        sys.stderr.write("no <venv>/bin/temporal: run `make install`\n")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        with dev_server(binary, logs / "server.log") as address, sandbox_process(API_KEY) as sb:
            asyncio.run(_customers(sb))
            for worker in WORKERS:
                admin(sb, "POST", f"/_sandbox/customers/{worker}/activate")
            return asyncio.run(_measure(address, sb, logs, args))


if __name__ == "__main__":
    sys.exit(main())
