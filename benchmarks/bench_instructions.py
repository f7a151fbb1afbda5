"""Instructions per call, counted by valgrind's callgrind: a measure the machine's load cannot move.

On a shared machine the req/s ratios of `make bench-versions` swing by 10-30 % between
rounds, more than most changes to the hot path are worth. Instruction counts do not:
two runs of one tree agree within 0.1 %. For each version (this tree, and ``--before``
unpacked as `bench_versions.py` does) and each call, a client process makes the calls
at the given concurrency against the canned server (`canned_server.py`, not counted:
``--trace-children=no``) twice under callgrind, *small* and *large* calls in all; the
difference over the difference in calls is the client's instructions per call, with
start-up and imports cancelled out. Raw aiohttp is counted the same way for scale.
Under callgrind the client runs some 50 times slower, so every answer is ready when it
looks: this counts the work of a call, not waiting. Needs ``valgrind``; takes a few
minutes (each run starts a Python under callgrind).

    python benchmarks/bench_instructions.py [--before 7ea76f6] [--ops get create]
        [--concurrency 16] [--small 320] [--large 1920]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from _server_process import free_port, start_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


async def _calls(op: str, concurrency: int, calls: int, who: str, port: int) -> None:
    import bench_loopback as bl  # here: it imports the lean_async under test

    base_url = f"http://127.0.0.1:{port}/api/"
    if who == "lean":
        client = bl.lean_client(base_url, "aiohttp")
    else:
        client = bl.raw_aiohttp(base_url, await bl.capture_wire())
    call = getattr(client, op)

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
    await client.close()


def _count(path: Path, op: str, concurrency: int, calls: int, who: str) -> int:
    """The instructions callgrind counts for one client process making *calls* calls."""
    port = free_port()
    server = start_server(str(HERE / "canned_server.py"), str(port), port=port)
    try:
        done = subprocess.run(  # noqa: S603 - valgrind on our own interpreter and script
            [  # noqa: S607 - valgrind from PATH, as make finds it
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                "--trace-children=no",
                sys.executable,
                __file__,
                "--child",
                op,
                str(concurrency),
                str(calls),
                who,
                str(port),
            ],
            env={**os.environ, "PYTHONPATH": str(path)},
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait()
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(path: Path, op: str, args: argparse.Namespace, who: str = "lean") -> float:
    """Instructions per call: (large run - small run) / (large - small) calls."""
    small = _count(path, op, args.concurrency, args.small, who)
    large = _count(path, op, args.concurrency, args.large, who)
    return (large - small) / (args.large - args.small)


def main() -> None:
    """Count each version's instructions per call and print them side by side."""
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        op, concurrency, calls, who, port = sys.argv[2:]
        asyncio.run(_calls(op, int(concurrency), int(calls), who, int(port)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="7ea76f6", help="the earlier commit")
    parser.add_argument("--ops", nargs="+", default=["get", "create"])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--small", type=int, default=320)
    parser.add_argument("--large", type=int, default=1920)
    args = parser.parse_args()
    from bench_versions import unpack

    with tempfile.TemporaryDirectory(prefix="lean-before-") as temporary:
        commit = unpack(args.before, Path(temporary))
        print(f"before: {commit[:10]}; after: this tree; concurrency {args.concurrency}")
        print("| call | before | after | after / before | raw aiohttp |")
        print("|---|---:|---:|---:|---:|")
        for op in args.ops:
            before = per_call(Path(temporary), op, args)
            after = per_call(ROOT, op, args)
            raw = per_call(ROOT, op, args, "raw")
            print(
                f"| `gigs.{op}` | {before / 1e3:.1f}k | {after / 1e3:.1f}k | "
                f"{after / before:.3f} | {raw / 1e3:.1f}k |",
                flush=True,
            )


if __name__ == "__main__":
    main()
