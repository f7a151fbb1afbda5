"""One module-level client through many successive ``asyncio.run`` calls: issue 19's goal.

``make loops`` runs it in full: a ``lean-async sandbox`` process on a free port, then on
each backend 1,000 ``asyncio.run`` calls through one client made once, counting the
exceptions, the warnings (``-W error`` semantics: every warning and every "Exception
ignored" counts), the open descriptors and the resident memory. It exits 1 if any goal
is missed: 0 exceptions, 0 warnings, descriptors back to their start ±2, RSS growth
below 5 MB. ``tests/transport/test_loops.py`` runs a bounded subset of it in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import attrs

from lean_async import LeanClient
from lean_async._config import BACKENDS, Backend
from tests.real_servers import sandbox_process
from tests.served import open_fds, rss_bytes

KEY: Final = "sk_test_loops"
RSS_LIMIT: Final = 5 * 1024 * 1024
FD_SLACK: Final = 2


@attrs.frozen
class SoakResult:
    """What one soak counted."""

    backend: str
    runs: int
    exceptions: int
    warnings: list[str]
    fd_delta: int
    rss_growth: int
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether every goal of issue 19 was met."""
        return (
            self.exceptions == 0
            and not self.warnings
            and abs(self.fd_delta) <= FD_SLACK
            and self.rss_growth < RSS_LIMIT
        )

    def line(self) -> str:
        """The result in one line."""
        return (
            f"{self.backend:8} {self.runs} asyncio.run(): {self.exceptions} exceptions, "
            f"{len(self.warnings)} warnings, descriptors {self.fd_delta:+d}, "
            f"RSS {self.rss_growth / 1e6:+.2f} MB, {self.seconds:.1f} s"
            + ("" if self.ok else "  FAILED")
        )


@contextlib.contextmanager
def _every_warning() -> Iterator[list[str]]:
    """Record every warning, and every exception ignored in a __del__ or callback."""
    seen: list[str] = []
    previous = sys.unraisablehook

    def unraisable(info: Any) -> None:
        seen.append(f"unraisable: {info.exc_type.__name__}: {info.exc_value}")

    sys.unraisablehook = unraisable
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield seen
            gc.collect()
        seen.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    finally:
        sys.unraisablehook = previous


def soak(base_url: str, backend: Backend, runs: int, *, api_key: str = KEY) -> SoakResult:
    """Make one client, then call it from *runs* successive ``asyncio.run`` calls.

    Must be called outside any running event loop.
    """
    with _every_warning() as seen:
        counts = _run_many(base_url, backend, runs, api_key, seen)
    return SoakResult(backend, runs, *counts[:1], seen, *counts[1:])


def _run_many(
    base_url: str, backend: Backend, runs: int, api_key: str, seen: list[str]
) -> tuple[int, int, int, float]:
    """Return the exceptions, descriptor delta, RSS growth and seconds of *runs* runs."""
    lean = LeanClient(api_key=api_key, base_url=base_url, backend=backend, max_retries=0)

    async def call() -> None:
        await lean.gigs.list()

    asyncio.run(call())  # the first run imports and warms what every later one uses
    gc.collect()
    exceptions = 0
    fds, rss, started = open_fds(), rss_bytes(), time.perf_counter()
    for _ in range(runs):
        try:
            asyncio.run(call())
        except Exception:
            exceptions += 1
    gc.collect()
    fd_delta, rss_growth = open_fds() - fds, rss_bytes() - rss
    seconds = time.perf_counter() - started
    pools = lean._shared.pools
    if pools is not None and pools.open_pools:
        seen.append(f"{pools.open_pools} pools left open")
    return exceptions, fd_delta, rss_growth, seconds


def main(argv: list[str] | None = None) -> int:
    """Run the soak on each backend against a sandbox process; 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    args = parser.parse_args(argv)
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    ok = True
    with (
        tempfile.TemporaryDirectory() as folder,
        sandbox_process(Path(folder) / "sandbox.log", api_key=KEY) as served,
    ):
        url = served.url
        sys.stdout.write(f"lean-async sandbox at {url} (pid {served.pid})\n")
        for backend in backends:
            result = soak(url, backend, args.runs)
            sys.stdout.write(result.line() + "\n")
            for warning in result.warnings[:5]:
                sys.stdout.write(f"    {warning}\n")
            sys.stdout.flush()
            ok = ok and result.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
