"""``make scale``: 10,000 gigs over 4 worker processes, one SIGKILLed mid-batch.

Prints items/s, duplicates and missing gigs in the sandbox (both must be 0), and the
recovery time: from the kill until no payment is left waiting on the dead worker.
Everything runs on 127.0.0.1 and is ended by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from temporalio.client import Client

from lean_async.temporal import batch_progress, start_batch
from tests.chaos.sandbox_process import sandbox_process
from tests.temporal.cluster import admin, dev_server, temporal_binary, worker_process
from tests.temporal.conftest import API_KEY, WORKERS, _customers
from tests.temporal.test_batches import gig_items, sandbox_state


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


async def _dead_in_flight(client: Client, batch: str, identity: str) -> int:
    chunk = (await batch_progress(client, batch)).running_chunk
    if chunk is None:
        return 0
    description = await client.get_workflow_handle(chunk).describe()
    return sum(
        a.last_worker_identity == identity for a in description.raw_description.pending_activities
    )


async def _run(address: str, sandbox: object, logs: Path, args: argparse.Namespace) -> int:
    client = await Client.connect(address)
    prefix = f"scale-{uuid.uuid4().hex[:8]}"
    items = gig_items(prefix, args.items)
    with contextlib.ExitStack() as stack:
        workers = [
            stack.enter_context(worker_process(address, sandbox, logs / f"w{n}.log"))  # type: ignore[arg-type]
            for n in range(args.workers)
        ]
        started = time.monotonic()
        handle = await start_batch(
            client, batch_id=prefix, kind="gigs", items=items, concurrency=args.concurrency
        )
        while (await batch_progress(client, handle.id)).done < args.items * 0.3:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        doomed = workers[0]
        identity = f"{doomed.pid}@{socket.gethostname()}"
        doomed.kill()
        killed = time.monotonic()
        in_flight = await _dead_in_flight(client, handle.id, identity)
        while await _dead_in_flight(client, handle.id, identity):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        recovery = time.monotonic() - killed
        summary = await handle.result()
        seconds = time.monotonic() - started
    gigs, _ = await sandbox_state(sandbox)  # type: ignore[arg-type]
    mine = {g: n for g, n in gigs.items() if g.startswith(prefix)}
    duplicates = sum(n - 1 for n in mine.values())
    missing = sum(1 for item in items if item["gigId"] not in mine)
    _say(f"items:               {args.items} over {args.workers} worker processes")
    _say(f"time:                {seconds:.1f} s")
    _say(f"items/s:             {args.items / seconds:.0f}")
    _say(f"outcomes:            {Counter(summary.outcomes)}")
    _say(f"duplicates:          {duplicates}")
    _say(f"missing:             {missing}")
    _say(f"in flight at kill:   {in_flight}")
    _say(f"recovery after kill: {recovery:.1f} s")
    return 0 if duplicates == missing == 0 and summary.failed_count == 0 else 1


def main() -> int:
    """Run the scale check; exit 0 when nothing was duplicated, missed or failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
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
            return asyncio.run(_run(address, sb, logs, args))


if __name__ == "__main__":
    sys.exit(main())
