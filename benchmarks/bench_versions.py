"""`make bench-versions`: this tree's lean-async against an earlier commit's, in one run.

Did a change cost speed? Two versions cannot share one process, so each gets its own
long-lived client process: one imports ``lean_async`` from this tree, the other from
``git archive BEFORE`` unpacked into a temporary directory (ahead of the editable install
on ``sys.path``). Both run the same cells against one canned server
(`canned_server.py`): at each concurrency, ``gigs.get`` and ``gigs.create`` through
``LeanClient(backend="aiohttp")`` and through raw aiohttp, alternating, in the same
process. The parent drives them turn by turn (the order turning each round), so machine
load falls on both alike. Per cell it reports, for each version, the median ratio of
lean to raw aiohttp req/s and lean's client CPU µs per call, and the ratio after/before
of each (a ratio of ratios near 1 is "no speed lost"). Writes ``benchmarks/versions.md``.

    python benchmarks/bench_versions.py [--before 7ea76f6] [--rounds 5] [--seconds 0.4]
        [--concurrency 1 16 64 256]

The default *before* is the commit on which the core-simplification issue was filed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from _server_process import free_port, start_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_BEFORE = "7ea76f6"
OPS = ("get", "create")


# -- the client process (one per version) ------------------------------------------------------


async def serve_cells(port: int, server_pid: int) -> None:
    """Answer one JSON command per stdin line with one JSON result line, until EOF.

    A command is ``{"op", "concurrency", "seconds", "repeats"}``; the result holds the
    lean and raw aiohttp req/s and CPU µs per call of each repeat (alternating order).
    """
    import bench_loopback as bl  # here: it imports the lean_async under test

    import lean_async

    base_url = f"http://127.0.0.1:{port}/api/"
    wire = await bl.capture_wire()
    clients = {"lean": bl.lean_client(base_url, "aiohttp"), "raw": bl.raw_aiohttp(base_url, wire)}
    print(json.dumps({"lean_async": str(Path(lean_async.__file__).parent)}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            op, concurrency = command["op"], command["concurrency"]
            runs: dict[str, list[dict[str, float]]] = {"lean": [], "raw": []}
            for repeat in range(command["repeats"]):
                order = ("lean", "raw") if repeat % 2 == 0 else ("raw", "lean")
                for name in order:
                    call = getattr(clients[name], op)
                    await bl.timed_run(call, concurrency, 0.05, server_pid)  # warm
                    run = await bl.timed_run(call, concurrency, command["seconds"], server_pid)
                    runs[name].append({"rps": run.rps, "cpu": run.cpu_us / run.calls})
            print(json.dumps(runs), flush=True)
    finally:
        for client in clients.values():
            await client.close()


# -- the parent ----------------------------------------------------------------------------------


def unpack(ref: str, into: Path) -> str:
    """Unpack *ref*'s ``lean_async`` into *into*; return the full commit id.

    Raises:
        subprocess.CalledProcessError: *ref* is not a commit of this repository.
    """
    commit = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = into / "before.tar"
    subprocess.run(  # noqa: S603
        ["git", "archive", "--output", str(archive), commit, "lean_async"],  # noqa: S607
        cwd=ROOT,
        check=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return commit


class Version:
    """One client process, importing ``lean_async`` from *path*."""

    def __init__(self, name: str, path: Path, port: int, server_pid: int) -> None:
        self.name = name
        environment = {**os.environ, "PYTHONPATH": str(path)}
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--child", str(port), str(server_pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=HERE,
        )
        hello = json.loads(self._read())
        if Path(hello["lean_async"]) != path / "lean_async":
            raise RuntimeError(f"{name} imported {hello['lean_async']}, not {path}/lean_async")
        self.runs: dict[tuple[str, int], dict[str, list[dict[str, float]]]] = {}

    def _read(self) -> str:
        stdout: IO[str] | None = self.process.stdout
        line = stdout.readline() if stdout is not None else ""
        if not line:
            raise RuntimeError(f"the {self.name} client process ended")
        return line

    def cell(self, op: str, concurrency: int, seconds: float) -> None:
        """Run one cell (two repeats of each client) and keep its runs."""
        stdin = self.process.stdin
        if stdin is None:
            raise RuntimeError(f"the {self.name} client process has no stdin")
        command = {"op": op, "concurrency": concurrency, "seconds": seconds, "repeats": 2}
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        runs = json.loads(self._read())
        kept = self.runs.setdefault((op, concurrency), {"lean": [], "raw": []})
        for name in kept:
            kept[name].extend(runs[name])

    def ratios(self, op: str, concurrency: int) -> list[float]:
        """lean / raw req/s of each pair of runs."""
        runs = self.runs[(op, concurrency)]
        pairs = zip(runs["lean"], runs["raw"], strict=True)
        return [lean["rps"] / raw["rps"] for lean, raw in pairs]

    def cpu(self, op: str, concurrency: int, name: str) -> float:
        """The median CPU µs per call of client *name* in this cell."""
        return statistics.median(run["cpu"] for run in self.runs[(op, concurrency)][name])

    def close(self) -> None:
        """End the client process (EOF, then its pid if it lingers)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


def spread(values: list[float]) -> str:
    """``median (min-max)`` to two decimals."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(
    args: argparse.Namespace, commit: str, before: Version, after: Version, seconds: float
) -> str:
    """The Markdown report: one row per cell, before and after side by side."""
    load = os.getloadavg()
    lines = [
        "# Before and after, in one run",
        "",
        f"`make bench-versions`, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s. "
        f"Before: `{commit[:10]}` (`--before {args.before}`); after: this tree. "
        f"Load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.",
        "",
        f"Each cell: {args.rounds} rounds; in each, the two versions' processes take turns "
        f"(order turning), each running lean on aiohttp and raw aiohttp twice for "
        f"{args.seconds} s, alternating. Ratio: lean / raw aiohttp req/s per pair of runs, "
        "median (min-max). CPU: lean's client µs per call, median.",
        "",
        "| call | concurrency | before: lean / raw | after: lean / raw | after / before "
        "| lean CPU µs before | after | raw CPU µs before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for op in OPS:
        for concurrency in args.concurrency:
            old, new = before.ratios(op, concurrency), after.ratios(op, concurrency)
            lines.append(
                f"| `gigs.{op}` | {concurrency} | {spread(old)} | {spread(new)} | "
                f"{statistics.median(new) / statistics.median(old):.2f} | "
                f"{before.cpu(op, concurrency, 'lean'):.0f} | "
                f"{after.cpu(op, concurrency, 'lean'):.0f} | "
                f"{before.cpu(op, concurrency, 'raw'):.0f} | "
                f"{after.cpu(op, concurrency, 'raw'):.0f} |"
            )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:
    """Run both versions' cells turn by turn against one server; write the report."""
    started = time.perf_counter()
    port = free_port()
    server = start_server(str(HERE / "canned_server.py"), str(port), port=port)
    try:
        with tempfile.TemporaryDirectory(prefix="lean-before-") as temporary:
            commit = unpack(args.before, Path(temporary))
            versions = [
                Version("before", Path(temporary), port, server.pid),
                Version("after", ROOT, port, server.pid),
            ]
            try:
                for round_number in range(args.rounds):
                    for op in OPS:
                        for concurrency in args.concurrency:
                            order = versions if round_number % 2 == 0 else versions[::-1]
                            for version in order:
                                version.cell(op, concurrency, args.seconds)
                    print(f"round {round_number + 1}/{args.rounds} done", flush=True)
            finally:
                for version in versions:
                    version.close()
            text = report(args, commit, *versions, time.perf_counter() - started)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait()
    (HERE / "versions.md").write_text(text)
    print(text)


def main() -> None:
    """Parse the arguments; run the parent, or a client process (``--child``)."""
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(serve_cells(int(sys.argv[2]), int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.4)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    args: Any = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
