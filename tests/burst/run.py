"""A payroll night's webhook burst through ``lean-async sandbox --forward-to``, measured.

    python -m tests.burst.run [--gigs 3000] [--receiver-delay 0] [--stop-early]

A real sandbox process forwards to a real receiver process (the SDK's aiohttp handler),
both on 127.0.0.1. One worker is registered and activated, then ``create_many`` pays
*gigs* gigs at concurrency 64; each settles and sends ``gig.completed``. Meanwhile a
probe thread times ``GET /api/gig/<id>`` every 20 ms with its own connection. The run
waits until the receiver has every event (bounded), then stops the sandbox with SIGTERM.
With ``--stop-early`` the SIGTERM comes as soon as the import is done, mid-burst.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import http.client
import statistics
import tempfile
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx

from lean_async import LeanClient
from tests.burst import processes

API_KEY = "sk_burst"
START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
PROBE_INTERVAL = 0.02
SETTLE = "0.5"


@attrs.frozen(kw_only=True)
class BurstReport:
    """What one burst run measured."""

    gigs: int
    import_seconds: float
    expected_events: int
    received_events: int
    delivery_seconds: float
    gave_up: int
    failed_attempts: int
    probe_p50_ms: float
    probe_p99_ms: float
    probe_max_ms: float
    probes: int
    tail_p99_ms: float
    tail_probes: int
    exit_seconds: float
    exit_code: int | None
    pending_line: str

    def lines(self) -> list[str]:
        """Return the report as lines for people."""
        return [
            f"gigs {self.gigs}: import {self.import_seconds:.1f} s at concurrency 64",
            f"events received {self.received_events}/{self.expected_events} "
            f"({self.delivery_seconds:.1f} s after the import started); "
            f"gave up {self.gave_up}, failed attempts {self.failed_attempts}",
            f"API probe ({self.probes} GETs): p50 {self.probe_p50_ms:.1f} ms, "
            f"p99 {self.probe_p99_ms:.1f} ms, max {self.probe_max_ms:.1f} ms; "
            f"after the import, while webhooks flow ({self.tail_probes} GETs): "
            f"p99 {self.tail_p99_ms:.1f} ms",
            f"SIGTERM: exited in {self.exit_seconds:.2f} s with {self.exit_code}; "
            f"{self.pending_line!r}",
        ]


class Probe(threading.Thread):
    """Times one small GET every 20 ms on its own connection until stopped."""

    def __init__(self, base_url: str, path: str) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._path = f"{parts.path}/{path}"
        token = base64.b64encode(f"{API_KEY}:".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self.stopped = threading.Event()
        self.import_done = float("inf")
        self.latencies: list[float] = []
        self.started_at: list[float] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
        try:
            for _ in range(100_000):  # bounded; stopped long before
                if self.stopped.wait(PROBE_INTERVAL):
                    return
                started = time.perf_counter()
                conn.request("GET", self._path, headers=self._headers)
                response = conn.getresponse()
                response.read()
                self.latencies.append(time.perf_counter() - started)
                self.started_at.append(time.monotonic())
        finally:
            conn.close()


def gig(n: int) -> dict[str, Any]:
    """Return the create() arguments of burst gig *n*."""
    return {
        "partner_user_id": "uid_burst",
        "gig_id": f"burst-{n:06d}",
        "total_amount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": f"burst gig {n}",
        "start_time": START,
        "end_time": START + dt.timedelta(minutes=40),
    }


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1] * 1000


async def _events_received(stats_url: str) -> int:
    async with httpx.AsyncClient(trust_env=False) as http:
        return int((await http.get(stats_url)).json()["events"])


async def _drive(
    base_url: str, receiver_url: str, gigs: int, stop_early: bool, wait_limit: float
) -> tuple[float, float, int, int, int, Probe]:
    stats_url = receiver_url.rsplit("/", 1)[0] + "/stats"
    admin = base_url.rsplit("/api", 1)[0] + "/_sandbox"
    async with LeanClient(api_key=API_KEY, base_url=base_url, max_connections=64) as lean:
        await lean.customers.create(
            partner_user_id="uid_burst",
            first_name="Jane",
            last_name="Doe",
            birthday=dt.date(1990, 5, 17),
            phone_number="4085550100",
            email="burst@example.com",
            street="700 Treehouse Drive",
            city="San Jose",
            state="CA",
            postal_code="95101",
            registration_date=dt.date(2024, 1, 1),
        )
        async with httpx.AsyncClient(auth=(API_KEY, ""), trust_env=False) as http:
            activated = await http.post(f"{admin}/customers/uid_burst/activate")
            activated.raise_for_status()
        first = await lean.gigs.create(**gig(0))
        probe = Probe(base_url, f"gig/{first.gig_id}")
        probe.start()
        started = time.monotonic()
        failures = 0
        async for result in lean.gigs.create_many((gig(n) for n in range(1, gigs)), concurrency=64):
            failures += not result.ok
        import_seconds = time.monotonic() - started
        probe.import_done = time.monotonic()
        expected = gigs + 1  # customer.active + one gig.completed per gig
        received = 0
        if not stop_early:
            deadline = time.monotonic() + wait_limit
            while time.monotonic() < deadline:
                received = await _events_received(stats_url)
                if received >= expected:
                    break
                await asyncio.sleep(0.1)
        delivered_after = time.monotonic() - started
        probe.stopped.set()
        probe.join(10)
        if failures:
            raise RuntimeError(f"{failures} gigs failed to be created")
    return import_seconds, delivered_after, expected, received, failures, probe


def run(gigs: int, *, receiver_delay: float = 0.0, stop_early: bool = False) -> BurstReport:
    """Run one burst and return what it measured (see the module docstring)."""
    wait_limit = 30.0 + gigs / 50
    with (
        tempfile.TemporaryFile() as output,
        processes.receiver(API_KEY, delay=receiver_delay) as receiver_url,
        processes.sandbox(
            API_KEY,
            ["--settle-delay", SETTLE, "--approval-delay", "0.05", "--forward-to", receiver_url],
            output,
        ) as (proc, base_url),
    ):
        import_s, delivered_s, expected, received, _, probe = asyncio.run(
            _drive(base_url, receiver_url, gigs, stop_early, wait_limit)
        )
        deliveries = httpx.get(
            base_url.rsplit("/api", 1)[0] + "/_sandbox/deliveries",
            auth=(API_KEY, ""),
            trust_env=False,
            timeout=30,
        ).json()
        exit_seconds = processes.terminate(proc)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    pending = [line for line in text.splitlines() if "still pending" in line]
    latencies = probe.latencies
    tail = [
        latency
        for latency, at in zip(latencies, probe.started_at, strict=True)
        if at > probe.import_done
    ]
    return BurstReport(
        gigs=gigs,
        import_seconds=import_s,
        expected_events=expected,
        received_events=received,
        delivery_seconds=delivered_s,
        gave_up=sum(row["outcome"] == "gave_up" for row in deliveries),
        failed_attempts=sum(row["outcome"] != "delivered" for row in deliveries),
        probe_p50_ms=_percentile(latencies, 50),
        probe_p99_ms=_percentile(latencies, 99),
        probe_max_ms=max(latencies, default=float("nan")) * 1000,
        probes=len(latencies),
        tail_p99_ms=_percentile(tail, 99),
        tail_probes=len(tail),
        exit_seconds=exit_seconds,
        exit_code=proc.returncode,
        pending_line=pending[-1].strip() if pending else "",
    )


def main() -> None:
    """Run a burst from the command line and print its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigs", type=int, default=3000)
    parser.add_argument("--receiver-delay", type=float, default=0.0)
    parser.add_argument("--stop-early", action="store_true")
    args = parser.parse_args()
    report = run(args.gigs, receiver_delay=args.receiver_delay, stop_early=args.stop_early)
    for line in report.lines():
        print(line)  # noqa: T201 - a report for people


if __name__ == "__main__":
    main()
