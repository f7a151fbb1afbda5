"""Pay a payroll against ``lean-async sandbox --rate-limit L`` and count what happened.

    python -m tests.ratelimit.pace [--limit 200] [--gigs 6000] [--processes 1] [--redis]

A real sandbox process answers 429 + Retry-After above L requests/s. Each payer (this
process, or *processes* worker processes sharing a `RedisRateLimiter`) runs
``gigs.create_many`` at concurrency 64 with a default `LeanClient`, counting the 429
answers it got (the retry layer's log lines) and its results. At the end the sandbox's
own list of gigs is checked: every gig exactly once (0 lost, 0 duplicates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import httpx

from lean_async import LeanClient
from tests.burst import processes

API_KEY = "sk_pace"
START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
CONCURRENCY = 64


class _Count429(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.throttled = 0
        self.times: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith("(HTTP 429)"):
            self.throttled += 1
            self.times.append(time.monotonic())


def gig(prefix: str, n: int) -> dict[str, Any]:
    """Return the create() arguments of gig *n* of a payer."""
    return {
        "partner_user_id": "uid_pace",
        "gig_id": f"{prefix}-{n:06d}",
        "total_amount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": f"paced gig {n}",
        "start_time": START,
        "end_time": START + dt.timedelta(minutes=40),
    }


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a throwaway redis-server on a free 127.0.0.1 port; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = processes.free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        processes.wait_for_port(port, timeout=10, proc=proc)
        time.sleep(0.2)  # the port opens just before redis answers
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        processes.stop_process(proc)


async def pay(
    base_url: str, prefix: str, count: int, redis_url: str | None, key: str = "lean:pace"
) -> dict[str, Any]:
    """Pay *count* gigs with a default client (sharing Redis when given); return counts."""
    counter = _Count429()
    log = logging.getLogger("lean_async")
    log.addHandler(counter)
    log.setLevel(logging.INFO)
    redis_client = limiter = None
    if redis_url is not None:
        import redis.asyncio as aioredis

        from lean_async.ratelimit import RedisRateLimiter

        redis_client = aioredis.Redis.from_url(redis_url)
        limiter = RedisRateLimiter(redis_client, key=key)
    try:
        async with LeanClient(api_key=API_KEY, base_url=base_url, rate_limiter=limiter) as lean:
            started = time.monotonic()
            ok = failed = 0
            errors: list[str] = []
            done_at: list[float] = []
            rates: list[tuple[float, float | None]] = []
            sampler = asyncio.create_task(_sample_rate(lean, rates))
            items = (gig(prefix, n) for n in range(count))
            async for result in lean.gigs.create_many(items, concurrency=CONCURRENCY):
                done_at.append(time.monotonic())
                if result.ok:
                    ok += 1
                else:
                    failed += 1
                    errors.append(repr(result.error)[:200])
            elapsed = time.monotonic() - started
            sampler.cancel()
            rate = lean.rate_limiter.rate
    finally:
        log.removeHandler(counter)
        if redis_client is not None:
            await redis_client.aclose()
    return {
        "ok": ok,
        "failed": failed,
        "throttled": counter.throttled,
        "throttled_at": [round(at, 3) for at in counter.times],
        "done_at": [round(at, 3) for at in done_at],
        "rates": rates,
        "seconds": elapsed,
        "started": started,
        "rate": rate,
        "errors": errors[:5],
    }


async def _sample_rate(lean: LeanClient, rates: list[tuple[float, float | None]]) -> None:
    for _ in range(10_000):  # bounded: 1,000 s of samples
        rates.append((round(time.monotonic(), 3), lean.rate_limiter.rate))
        await asyncio.sleep(0.1)


@attrs.frozen(kw_only=True)
class PaceReport:
    """What one paced payroll measured."""

    limit: float
    gigs: int
    processes: int
    ok: int
    failed: int
    throttled: int
    seconds: float
    in_sandbox: int
    duplicates: int
    timeline: tuple[tuple[int, int, int, float | None], ...] = ()
    """Per second of the run: (second, 429 answers, gigs created, the pace then)."""

    @property
    def throttled_share(self) -> float:
        """429 answers per request sent (gigs plus the 429s retried)."""
        return self.throttled / (self.gigs + self.throttled)

    @property
    def throughput(self) -> float:
        """Gigs created per second, over the whole run."""
        return self.ok / self.seconds

    def lines(self) -> list[str]:
        """Return the report for people."""
        return [
            f"limit {self.limit:g}/s, {self.gigs} gigs, {self.processes} process(es), "
            f"concurrency {CONCURRENCY} each",
            f"created {self.ok}, failed {self.failed}; in the sandbox {self.in_sandbox} "
            f"(duplicates {self.duplicates}, lost {self.gigs - self.in_sandbox})",
            f"429 answers {self.throttled} ({100 * self.throttled_share:.2f}% of requests); "
            f"{self.throughput:.1f} gigs/s = {self.throughput / self.limit:.2f} L "
            f"over {self.seconds:.1f} s",
        ]

    def timeline_lines(self) -> list[str]:
        """Return the run second by second: 429s, gigs created, the limiter's pace."""
        lines = ["second  429s  created  pace"]
        for second, throttled, created, pace in self.timeline:
            shown = "unlimited" if pace is None else f"{pace:.0f}"
            lines.append(f"{second:6d} {throttled:5d} {created:8d}  {shown}")
        return lines


def _timeline(
    results: list[dict[str, Any]], started: float
) -> tuple[tuple[int, int, int, float | None], ...]:
    throttled: dict[int, int] = {}
    created: dict[int, int] = {}
    paces: dict[int, float | None] = {}
    for result in results:
        for at in result["throttled_at"]:
            second = int(at - started)
            throttled[second] = throttled.get(second, 0) + 1
        for at in result["done_at"]:
            second = int(at - started)
            created[second] = created.get(second, 0) + 1
        for at, pace in result["rates"]:
            paces.setdefault(int(at - started), pace)  # the first sample of each second
    seconds = range(max([*throttled, *created, 0]) + 1)
    return tuple((s, throttled.get(s, 0), created.get(s, 0), paces.get(s)) for s in seconds)


def _setup(base_url: str) -> None:
    with httpx.Client(base_url=base_url, auth=(API_KEY, ""), trust_env=False) as http:
        for _ in range(200):  # bounded: the customer may meet the rate limit too
            answer = http.post(
                "customer",
                json={
                    "partnerUserId": "uid_pace",
                    "firstName": "Jane",
                    "lastName": "Doe",
                    "birthday": "1990-05-17",
                    "phoneNumber": "4085550100",
                    "email": "pace@example.com",
                    "street": "700 Treehouse Drive",
                    "city": "San Jose",
                    "state": "CA",
                    "postalCode": "95101",
                    "registrationDate": "2024-01-01",
                },
            )
            if answer.status_code == 200:
                break
            time.sleep(0.05)
        answer.raise_for_status()
        admin = base_url.rsplit("/api", 1)[0] + "/_sandbox/customers/uid_pace/activate"
        http.post(admin).raise_for_status()
        time.sleep(1.0)  # let the bucket refill: the run starts on a quiet server


def _gig_ids(base_url: str) -> list[str]:
    with httpx.Client(auth=(API_KEY, ""), trust_env=False, timeout=60) as http:
        for _ in range(100):  # bounded: the list call may meet the rate limit too
            answer = http.get(base_url + "/gig")
            if answer.status_code == 200:
                return [row["gigId"] for row in answer.json()]
            time.sleep(0.2)
    raise RuntimeError("GET /gig kept being refused")


def run(
    limit: float, gigs: int, *, processes_: int = 1, redis_url: str | None = None
) -> PaceReport:
    """Pay *gigs* gigs against a sandbox limited to *limit*/s; see the module docstring."""
    with (
        tempfile.TemporaryFile() as output,
        processes.sandbox(API_KEY, ["--rate-limit", str(limit)], output) as (_, base_url),
    ):
        _setup(base_url)
        share = gigs // processes_
        key = f"lean:pace:{uuid.uuid4().hex}"  # a fresh shared bucket for each run
        if processes_ == 1:
            results = [asyncio.run(pay(base_url, "p0", gigs, redis_url, key))]
        else:
            command = [sys.executable, "-m", "tests.ratelimit.pace", "worker", base_url]
            workers = [
                subprocess.Popen(
                    [*command, f"p{i}", str(share), redis_url or "", key],
                    stdout=subprocess.PIPE,
                )
                for i in range(processes_)
            ]
            results = []
            for worker in workers:
                out, _ = worker.communicate(timeout=600)
                results.append(json.loads(out.decode().strip().splitlines()[-1]))
        ids = _gig_ids(base_url)
    total = share * processes_
    started = min(result["started"] for result in results)
    ended = max(result["started"] + result["seconds"] for result in results)
    mine = [gig_id for gig_id in ids if gig_id.startswith("p")]
    return PaceReport(
        limit=limit,
        gigs=total,
        processes=processes_,
        ok=sum(result["ok"] for result in results),
        failed=sum(result["failed"] for result in results),
        throttled=sum(result["throttled"] for result in results),
        seconds=ended - started,
        in_sandbox=len(set(mine)),
        duplicates=len(mine) - len(set(mine)),
        timeline=_timeline(results, started),
    )


def main() -> None:
    """Run from the command line (or as one worker process of a run)."""
    if sys.argv[1:2] == ["worker"]:
        base_url, prefix, count, redis_url, key = sys.argv[2:7]
        result = asyncio.run(pay(base_url, prefix, int(count), redis_url or None, key))
        print(json.dumps(result))  # noqa: T201 - read by the parent process
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=200)
    parser.add_argument("--gigs", type=int, default=6000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--redis", action="store_true", help="share a RedisRateLimiter (starts redis-server)"
    )
    parser.add_argument(
        "--timeline", action="store_true", help="also print the run second by second"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server()) if args.redis else None
        report = run(args.limit, args.gigs, processes_=args.processes, redis_url=redis_url)
    lines = report.lines() + (report.timeline_lines() if args.timeline else [])
    for line in lines:
        print(line)  # noqa: T201 - a report for people


if __name__ == "__main__":
    main()
