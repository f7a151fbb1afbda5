"""``lean-async worker`` and ``gigs import --temporal`` as real processes: exit statuses."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.chaos.sandbox_process import SandboxProcess
from tests.temporal.cluster import admin, lean_script, worker_process
from tests.temporal.test_batches import gig_items, sandbox_state

pytestmark = pytest.mark.temporal


def test_a_worker_stopped_by_sigterm_exits_0(
    temporal_address: str, lean_sandbox: SandboxProcess, logs: Path
) -> None:
    """SIGTERM stops the worker cleanly with status 0 (no crash at interpreter exit)."""
    with worker_process(temporal_address, lean_sandbox, logs / "w.log") as worker:
        deadline = time.monotonic() + 30
        while b"polling" not in worker.log.read_bytes():
            assert time.monotonic() < deadline, "the worker never said it was polling"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGTERM)
        assert worker.process.wait(15) == 0
    assert b"Worker stopped." in worker.log.read_bytes()


def test_a_worker_that_cannot_connect_exits_1(lean_sandbox: SandboxProcess) -> None:
    """No Temporal server at the address: a one-line error and status 1."""
    env = {**os.environ, "LEAN_API_KEY": lean_sandbox.api_key, "LEAN_BASE_URL": lean_sandbox.url}
    done = subprocess.run(
        [*lean_script(), "worker", "--temporal", "127.0.0.1:1"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert b"Error:" in done.stdout


def test_the_import_runs_a_file_as_a_batch_and_a_second_import_pays_nothing(
    temporal_address: str, lean_sandbox: SandboxProcess, logs: Path, tmp_path: Path
) -> None:
    """``gigs import --temporal`` pays the file, exits 0; run again, it reports the same batch."""
    import asyncio

    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    items = gig_items(prefix, 25)
    path = tmp_path / "gigs.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(items[0]))
        writer.writeheader()
        writer.writerows(items)
    command = [*lean_script(), "gigs", "import", str(path), "--temporal", temporal_address]
    with worker_process(temporal_address, lean_sandbox, logs / "w.log"):
        first = subprocess.run(command, capture_output=True, timeout=60, check=False)
        assert first.returncode == 0, first.stdout.decode()
        assert b"created (paid by this run)" in first.stdout
        paid = asyncio.run(sandbox_state(lean_sandbox))
        second = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert second.returncode == 0, second.stdout.decode()
    assert first.stdout.count(b"25") >= 1
    # Attached to the finished batch: it paid nothing now and has no rate to show.
    assert re.search(rb"created \(paid by this run\)\W+0\b", second.stdout), second.stdout
    assert re.search(rb"already there \(paid before\)\W+25\b", second.stdout), second.stdout
    assert b"this run paid nothing" in second.stdout
    assert b"rows/s" not in second.stdout
    assert asyncio.run(sandbox_state(lean_sandbox)) == paid
    assert {g: n for g, n in paid[0].items() if g.startswith(prefix)} == {
        item["gigId"]: 1 for item in items
    }


def test_the_import_with_a_bad_row_sends_nothing_to_temporal(
    temporal_address: str, tmp_path: Path
) -> None:
    """Pass 1 still runs first: a bad row exits 2 before any batch is started."""
    items = gig_items("bad", 2)
    items[1]["tips"] = "-1"
    path = tmp_path / "gigs.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(items[0]))
        writer.writeheader()
        writer.writerows(items)
    done = subprocess.run(
        [*lean_script(), "gigs", "import", str(path), "--temporal", temporal_address],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert b"Nothing was sent" in done.stdout or b"nothing was sent" in done.stdout


def test_workers_sharing_a_redis_budget_pay_at_most_its_rate_together(
    temporal_address: str, lean_sandbox: SandboxProcess, logs: Path
) -> None:
    """Two workers with ``--redis-url`` and ``--rate-limit 20``: the fleet sends <= ~20/s.

    Both workers pay slices (their identities are in the chunk's history); the sandbox's
    POSTs counted every 0.25 s never rise faster than the one budget allows over 2 s
    (each worker alone would allow 20/s: 40/s from two). Every gig is paid once.
    """
    import asyncio
    import shutil

    from temporalio.client import Client

    from lean_async.temporal import chunk_id, start_batch

    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install redis-server")
        pytest.skip("redis-server is not installed")
    from tests.ratelimit.pace import redis_server

    batch = f"paced-{uuid.uuid4().hex[:8]}"
    items = gig_items(batch, 200)

    def posts() -> tuple[float, int]:
        counted = admin(lean_sandbox, "GET", "/_sandbox/requests")
        return time.monotonic(), int(counted.get("POST /gig", 0))

    async def pay() -> tuple[list[tuple[float, int]], set[str]]:
        client = await Client.connect(temporal_address)
        handle = await start_batch(
            client, batch_id=batch, kind="gigs", items=items, slice_size=20, concurrency=16
        )
        result = asyncio.ensure_future(handle.result())
        samples = [await asyncio.to_thread(posts)]
        deadline = time.monotonic() + 60
        while not result.done():
            assert time.monotonic() < deadline, "the paced batch did not finish in 60 s"
            await asyncio.wait({result}, timeout=0.25)
            samples.append(await asyncio.to_thread(posts))
        assert result.result().outcomes == "c" * 200
        history = await client.get_workflow_handle(chunk_id(handle.id, 0)).fetch_history()
        workers = {
            e.activity_task_started_event_attributes.identity
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
        }
        return samples, workers

    with redis_server() as url:
        shared = ("--rate-limit", "20", "--redis-url", url)
        with (
            worker_process(temporal_address, lean_sandbox, logs / "a.log", *shared),
            worker_process(temporal_address, lean_sandbox, logs / "b.log", *shared),
        ):
            samples, workers = asyncio.run(pay())
    assert len(workers) == 2, workers
    peak = max(
        (later - sent) / (end - start)
        for start, sent in samples
        for end, later in samples
        if end - start >= 2.0
    )
    assert peak <= 26, (peak, samples)
    paid, _ = asyncio.run(sandbox_state(lean_sandbox))
    assert {g: n for g, n in paid.items() if g.startswith(batch)} == {
        item["gigId"]: 1 for item in items
    }
