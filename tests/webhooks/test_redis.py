"""`RedisDedupStore` on a real redis-server, and two receiver processes sharing it."""

from __future__ import annotations

import asyncio
import collections
import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from lean_async.webhooks import ClaimStatus, DedupStore, DeliveryOutcome, handle_delivery
from lean_async.webhooks.redis import RedisDedupStore
from tests.webhooks._support import (
    API_KEY,
    event_body,
    free_port,
    poll,
    signed,
    stop_process,
    wait_for_port,
)
from tests.webhooks.test_delivery import Recorder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
async def redis_client(
    redis_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[aioredis.Redis]:
    """A client of the throwaway server, with and without decode_responses."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=request.param)
    try:
        yield client
    finally:
        await client.aclose()


async def test_claim_complete_release_cycle(redis_client: aioredis.Redis) -> None:
    """claim is exclusive, release frees only its own token, complete makes it DONE."""
    store = RedisDedupStore(redis_client, prefix="t:")
    assert isinstance(store, DedupStore)
    assert await store.claim("e1", "mine") is ClaimStatus.CLAIMED
    assert await store.claim("e1", "other") is ClaimStatus.IN_PROGRESS
    await store.release("e1", "other")
    assert await redis_client.get("t:e1") in ("mine", b"mine")
    await store.release("e1", "mine")
    assert await redis_client.exists("t:e1") == 0
    assert await store.claim("e1", "again") is ClaimStatus.CLAIMED
    await store.complete("e1", "again")
    assert await store.claim("e1", "late") is ClaimStatus.DONE
    await store.release("e1", "again")  # too late to release: done stays done
    assert await store.claim("e1", "later") is ClaimStatus.DONE


async def test_lease_and_ttl_are_redis_expiries(redis_client: aioredis.Redis) -> None:
    """A claim expires after the lease, a done mark after the ttl."""
    store = RedisDedupStore(redis_client, ttl=3600, lease=30)
    await store.claim("e1", "t")
    assert 0 < await redis_client.ttl("lean:webhook:e1") <= 30
    await redis_client.pexpire("lean:webhook:e1", 1)  # fast-forward the lease
    await asyncio.sleep(0.05)
    assert await store.claim("e1", "t2") is ClaimStatus.CLAIMED
    await store.complete("e1", "t2")
    assert 30 < await redis_client.ttl("lean:webhook:e1") <= 3600


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"lease": 1.5}, {"ttl": -5}])
async def test_durations_must_be_whole_positive_seconds(
    redis_client: aioredis.Redis, kwargs: dict[str, Any]
) -> None:
    """Redis EX takes whole seconds, so fractions and non-positive values are refused."""
    with pytest.raises(ValueError, match="whole number of seconds"):
        RedisDedupStore(redis_client, **kwargs)


async def test_repr_shows_settings_only(redis_client: aioredis.Redis) -> None:
    """The repr names prefix, ttl and lease (never the connection URL)."""
    store = RedisDedupStore(redis_client, prefix="p:", ttl=10, lease=5)
    assert repr(store) == "RedisDedupStore(prefix='p:', ttl=10, lease=5)"


async def test_two_stores_on_separate_connections_process_once(redis_url: str) -> None:
    """20 concurrent copies spread over two clients (as two processes would) run once."""
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    try:
        stores = [RedisDedupStore(c) for c in clients]
        gate = asyncio.Event()
        handler = Recorder(failures=1, gate=gate)
        payload, headers = signed(event_body())

        async def deliver(index: int) -> DeliveryOutcome:
            result = await handle_delivery(
                payload, headers, api_key=API_KEY, handler=handler, store=stores[index % 2]
            )
            return result.outcome

        tasks = [asyncio.create_task(deliver(i)) for i in range(20)]
        # all but the claimant answer "in progress" while the claimant waits on the gate
        await poll(lambda: sum(task.done() for task in tasks) == 19, what="no 19 answers")
        gate.set()
        first = await asyncio.gather(*tasks)
        assert first.count(DeliveryOutcome.IN_PROGRESS) == 19
        assert first.count(DeliveryOutcome.FAILED) == 1  # the claimant failed and released
        second = await asyncio.gather(*(deliver(i) for i in range(20)))
        assert handler.processed == ["evt_1"]
        assert second.count(DeliveryOutcome.PROCESSED) == 1
    finally:
        for client in clients:
            await client.aclose()


def start_receiver(kind: str, port: int, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``tests.webhooks._receiver`` as its own OS process."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.webhooks._receiver", kind, str(port), redis_url],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


async def test_two_receiver_processes_process_a_duplicated_burst_once(
    redis_url: str, tmp_path: Path
) -> None:
    """30 events x 3 copies sent at once to a FastAPI and an aiohttp process: once each."""
    ports = {"fastapi": free_port(), "aiohttp": free_port()}
    procs = [
        start_receiver(kind, port, redis_url, tmp_path / f"{kind}.log")
        for kind, port in ports.items()
    ]
    try:
        for proc, port in zip(procs, ports.values(), strict=True):
            await asyncio.to_thread(wait_for_port, port, timeout=30, proc=proc)
        urls = [f"http://127.0.0.1:{port}/webhooks/lean" for port in ports.values()]
        deliveries = [signed(event_body(event_id=f"evt_{n}")) for n in range(30)] * 3
        random.Random(4).shuffle(deliveries)
        pending = list(enumerate(deliveries))
        counts: collections.Counter[int] = collections.Counter()
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=10, trust_env=False, limits=limits) as http:
            for _round in range(20):  # Lean retries non-2xx answers; we do the same
                answers = await asyncio.gather(
                    *(
                        http.post(urls[i % 2], content=payload, headers=headers)
                        for i, (payload, headers) in pending
                    )
                )
                counts.update(r.status_code for r in answers)
                pending = [
                    item for item, r in zip(pending, answers, strict=True) if r.status_code != 200
                ]
                if not pending:
                    break
                await asyncio.sleep(0.1)
        assert pending == [], f"still refused after 20 rounds: {counts}"
        assert set(counts) <= {200, 409}

        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            processed = await client.lrange("processed", 0, -1)
        finally:
            await client.aclose()
        per_event = collections.Counter(entry.split()[0] for entry in processed)
        assert per_event == {f"evt_{n}": 1 for n in range(30)}
        assert {entry.split()[1] for entry in processed} <= {"fastapi", "aiohttp"}
    finally:
        for proc in procs:
            stop_process(proc)
