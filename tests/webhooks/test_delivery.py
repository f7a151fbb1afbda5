"""`MemoryDedupStore` and `handle_delivery`: each event's handler runs once."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from lean_async.models import WebhookEvent
from lean_async.webhooks import (
    ClaimStatus,
    DedupStore,
    DeliveryOutcome,
    DeliveryResult,
    MemoryDedupStore,
    WebhookHandler,
    handle_delivery,
    sign,
)
from tests.webhooks._support import API_KEY, event_body, signed


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A webhook handler that records events and fails its first *failures* calls."""

    def __init__(self, failures: int = 0, gate: asyncio.Event | None = None) -> None:
        self.failures = failures
        self.gate = gate
        self.calls = 0
        self.processed: list[str] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.calls += 1
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), timeout=5)
        if self.calls <= self.failures:
            raise RuntimeError(f"receiver failure {self.calls}")
        self.processed.append(event.id)


async def deliver(
    store: DedupStore, handler: WebhookHandler, body: Any = None, **kwargs: Any
) -> DeliveryResult:
    """Sign *body* (default: a gig.completed event) and hand it to handle_delivery."""
    payload, headers = signed(event_body() if body is None else body)
    return await handle_delivery(
        payload, headers, api_key=API_KEY, handler=handler, store=store, **kwargs
    )


# -- MemoryDedupStore ------------------------------------------------------------------


async def test_memory_store_claim_complete_and_duplicates() -> None:
    """A claim is exclusive until completed; afterwards the id is DONE."""
    store = MemoryDedupStore()
    assert isinstance(store, DedupStore)
    assert await store.claim("e1", "t1") is ClaimStatus.CLAIMED
    assert await store.claim("e1", "t2") is ClaimStatus.IN_PROGRESS
    await store.complete("e1", "t1")
    assert await store.claim("e1", "t3") is ClaimStatus.DONE
    assert await store.claim("e2", "t4") is ClaimStatus.CLAIMED
    assert len(store) == 2


async def test_memory_store_release_only_frees_its_own_claim() -> None:
    """release with another token keeps the claim; with its own token frees it."""
    store = MemoryDedupStore()
    await store.claim("e1", "mine")
    await store.release("e1", "theirs")
    assert await store.claim("e1", "t") is ClaimStatus.IN_PROGRESS
    await store.release("e1", "mine")
    await store.release("never-claimed", "mine")
    assert await store.claim("e1", "again") is ClaimStatus.CLAIMED


async def test_memory_store_lease_expires() -> None:
    """A claim whose holder never finished can be taken again after the lease."""
    clock = FakeClock()
    store = MemoryDedupStore(lease=30, clock=clock)
    await store.claim("e1", "crashed")
    clock.now += 29.9
    assert await store.claim("e1", "t") is ClaimStatus.IN_PROGRESS
    clock.now += 0.1
    assert await store.claim("e1", "t") is ClaimStatus.CLAIMED


async def test_memory_store_done_entries_expire_after_ttl() -> None:
    """A processed id is forgotten after ttl seconds, and expired entries are purged."""
    clock = FakeClock()
    store = MemoryDedupStore(ttl=100, lease=10, clock=clock)
    for number in range(50):
        await store.claim(f"e{number}", "t")
        await store.complete(f"e{number}", "t")
    await store.claim("leased", "t")
    assert len(store) == 51
    clock.now += 99
    assert await store.claim("e0", "t") is ClaimStatus.DONE
    clock.now += 1
    assert await store.claim("e0", "t") is ClaimStatus.CLAIMED
    assert len(store) == 1  # everything old was purged; only the new claim is held


async def test_memory_store_complete_refreshes_ttl() -> None:
    """Completing an id again moves it to the back with a fresh ttl."""
    clock = FakeClock()
    store = MemoryDedupStore(ttl=10, clock=clock)
    await store.complete("a", "t")
    clock.now += 5
    await store.complete("b", "t")
    await store.complete("a", "t")
    clock.now += 6
    assert await store.claim("b", "t") is ClaimStatus.DONE
    assert await store.claim("a", "t") is ClaimStatus.DONE


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"lease": -1}])
def test_memory_store_rejects_non_positive_durations(kwargs: dict[str, Any]) -> None:
    """ttl and lease must be positive."""
    with pytest.raises(ValueError, match="positive"):
        MemoryDedupStore(**kwargs)


def test_memory_store_repr() -> None:
    """The repr shows the settings and size."""
    assert repr(MemoryDedupStore(ttl=5, lease=2)) == ("MemoryDedupStore(ttl=5, lease=2, entries=0)")


# -- handle_delivery -------------------------------------------------------------------


async def test_a_delivery_is_processed_then_answered_as_duplicate() -> None:
    """The first delivery runs the handler (200); the retry is a 200 duplicate, no call."""
    store, handler = MemoryDedupStore(), Recorder()
    first = await deliver(store, handler)
    assert (first.status_code, first.outcome) == (200, DeliveryOutcome.PROCESSED)
    assert first.event is not None
    assert first.body == {"status": "processed", "event_id": "evt_1"}
    again = await deliver(store, handler)
    assert (again.status_code, again.outcome) == (200, DeliveryOutcome.DUPLICATE)
    assert handler.processed == ["evt_1"]


@pytest.mark.parametrize(
    ("tamper", "status", "reason"),
    [
        (lambda p, h: (p, {}), 401, "missing_signature"),
        (lambda p, h: (p, {"x-lean-signature": "??"}), 401, "malformed_signature"),
        (lambda p, h: (p + b" ", h), 401, "signature_mismatch"),
        (lambda p, h: signed(b"{not json"), 400, "invalid_json"),
        (lambda p, h: signed([1]), 400, "invalid_shape"),
        (lambda p, h: signed(b" " * 2000), 413, "payload_too_large"),
    ],
)
async def test_rejections_map_to_statuses(tamper: Any, status: int, reason: str) -> None:
    """Each rejection reason gets its status and the handler is not called."""
    handler = Recorder()
    payload, headers = tamper(*signed(event_body()))
    result = await handle_delivery(
        payload,
        headers,
        api_key=API_KEY,
        handler=handler,
        store=MemoryDedupStore(),
        max_body_bytes=1000,
    )
    assert (result.status_code, result.outcome, result.reason) == (
        status,
        DeliveryOutcome.REJECTED,
        reason,
    )
    assert result.body == {"status": "rejected", "reason": reason}
    assert handler.calls == 0


async def test_handler_failure_releases_the_event_for_the_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raising handler gives 500, releases the claim, and Lean's retry processes it."""
    store, handler = MemoryDedupStore(), Recorder(failures=1)
    with caplog.at_level(logging.ERROR, logger="lean_async.webhooks"):
        failed = await deliver(store, handler)
    assert (failed.status_code, failed.outcome) == (500, DeliveryOutcome.FAILED)
    assert isinstance(failed.error, RuntimeError)
    assert "handler failed for event evt_1" in caplog.text
    retried = await deliver(store, handler)
    assert retried.outcome is DeliveryOutcome.PROCESSED
    assert handler.processed == ["evt_1"]


async def test_a_receiver_failing_twice_processes_exactly_once() -> None:
    """Deliveries 1-2 fail, 3 processes, 4-6 are duplicates: the effect happens once."""
    store, handler = MemoryDedupStore(), Recorder(failures=2)
    statuses = [(await deliver(store, handler)).status_code for _ in range(6)]
    assert statuses == [500, 500, 200, 200, 200, 200]
    assert handler.calls == 3
    assert handler.processed == ["evt_1"]


async def test_concurrent_duplicates_run_the_handler_once() -> None:
    """20 identical deliveries at once: one runs the handler, the others get 409."""
    gate = asyncio.Event()
    store, handler = MemoryDedupStore(), Recorder(gate=gate)
    tasks = [asyncio.create_task(deliver(store, handler)) for _ in range(20)]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count(DeliveryOutcome.PROCESSED) == 1
    assert outcomes.count(DeliveryOutcome.IN_PROGRESS) == 19
    assert {r.status_code for r in results if r.outcome is DeliveryOutcome.IN_PROGRESS} == {409}
    assert handler.processed == ["evt_1"]
    assert (await deliver(store, handler)).outcome is DeliveryOutcome.DUPLICATE


async def test_gathered_duplicates_run_the_handler_once() -> None:
    """asyncio.gather of 20 identical deliveries calls the handler exactly once."""
    store, handler = MemoryDedupStore(), Recorder()
    results = await asyncio.gather(*(deliver(store, handler) for _ in range(20)))
    assert handler.calls == 1
    assert sum(r.outcome is DeliveryOutcome.PROCESSED for r in results) == 1
    assert all(r.status_code in (200, 409) for r in results)


async def test_cancelled_handler_releases_and_propagates() -> None:
    """Cancellation mid-handler releases the claim and re-raises CancelledError."""
    store = MemoryDedupStore()
    handler = Recorder(gate=asyncio.Event())
    task = asyncio.create_task(deliver(store, handler))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.claim("evt_1", "next") is ClaimStatus.CLAIMED


class BrokenStore(MemoryDedupStore):
    """A store whose chosen operations raise, as an unreachable Redis would."""

    def __init__(self, *broken: str) -> None:
        super().__init__()
        self.broken = set(broken)

    async def claim(self, event_id: str, token: str) -> ClaimStatus:
        if "claim" in self.broken:
            raise ConnectionError("store down")
        return await super().claim(event_id, token)

    async def complete(self, event_id: str, token: str) -> None:
        if "complete" in self.broken:
            raise ConnectionError("store down")
        await super().complete(event_id, token)

    async def release(self, event_id: str, token: str) -> None:
        if "release" in self.broken:
            raise ConnectionError("store down")
        await super().release(event_id, token)


async def test_failure_to_complete_still_answers_200(caplog: pytest.LogCaptureFixture) -> None:
    """The handler succeeded, so a store error on complete is logged and 200 is answered."""
    handler = Recorder()
    with caplog.at_level(logging.ERROR, logger="lean_async.webhooks"):
        result = await deliver(BrokenStore("complete"), handler)
    assert (result.status_code, result.outcome) == (200, DeliveryOutcome.PROCESSED)
    assert "not recorded as done" in caplog.text


async def test_failure_to_release_still_answers_500(caplog: pytest.LogCaptureFixture) -> None:
    """A store error on release is logged; the handler's failure still gives 500."""
    with caplog.at_level(logging.ERROR, logger="lean_async.webhooks"):
        result = await deliver(BrokenStore("release"), Recorder(failures=1))
    assert result.status_code == 500
    assert "lease will expire" in caplog.text


async def test_failure_to_claim_propagates() -> None:
    """An unreachable store on claim raises, so the framework answers 5xx and Lean retries."""
    handler = Recorder()
    with pytest.raises(ConnectionError):
        await deliver(BrokenStore("claim"), handler)
    assert handler.calls == 0


async def test_distinct_events_are_each_processed() -> None:
    """Different ids do not block each other."""
    store, handler = MemoryDedupStore(), Recorder()
    for number in range(5):
        result = await deliver(store, handler, event_body(event_id=f"evt_{number}"))
        assert result.outcome is DeliveryOutcome.PROCESSED
    assert handler.processed == [f"evt_{n}" for n in range(5)]


# -- tolerant shape, logging, sync handlers -----------------------------------------------


async def test_partial_data_is_processed_with_raw_data(caplog: pytest.LogCaptureFixture) -> None:
    """A signed customer.inactive with partial data is processed (200), not refused (400)."""
    received: list[WebhookEvent] = []

    async def handler(event: WebhookEvent) -> None:
        received.append(event)

    data = {"partnerUserId": "uid_1", "status": "INACTIVE"}
    payload, headers = signed(event_body("customer.inactive", data))
    with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
        result = await handle_delivery(
            payload, headers, api_key=API_KEY, handler=handler, store=MemoryDedupStore()
        )
    assert (result.status_code, result.outcome) == (200, DeliveryOutcome.PROCESSED)
    assert [event.data for event in received] == [data]
    assert "@ $.data.firstName" in caplog.text


SECRET_KEY = "sk_live_never_log_me"
SECRET_BODY = b'{"event":"gig.completed","data":{"firstName":"Private Person"}}'


@pytest.mark.parametrize(
    ("payload", "signature", "reason"),
    [
        (SECRET_BODY, None, "missing_signature"),
        (SECRET_BODY, "not-a-valid-signature-at-all", "malformed_signature"),
        (SECRET_BODY, "QUJDREVGR0hJSktMTU5PUFFSU1Q=", "signature_mismatch"),
        (b'{"Private Person": ' + b" " * 2000 + b"}", None, "payload_too_large"),
        (b'"Private Person"', "sign", "invalid_shape"),
        (b"Private Person", "sign", "invalid_json"),
        (b'{"data": {"name": "Private Person"}}', "sign", "invalid_shape"),
    ],
)
async def test_every_rejection_is_logged_without_secrets(
    caplog: pytest.LogCaptureFixture, payload: bytes, signature: str | None, reason: str
) -> None:
    """Each rejection logs one WARNING with its reason, never the key, signature or body."""
    if signature == "sign":
        signature = sign(payload, SECRET_KEY)
    headers = {} if signature is None else {"x-lean-signature": signature}
    with caplog.at_level(logging.DEBUG, logger="lean_async"):
        result = await handle_delivery(
            payload,
            headers,
            api_key=SECRET_KEY,
            handler=Recorder(),
            store=MemoryDedupStore(),
            max_body_bytes=1000,
        )
    assert result.reason == reason
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert reason in warnings[0].getMessage()
    for secret in (SECRET_KEY, "Private Person", signature or "-no-signature-"):
        assert secret not in caplog.text


async def test_invalid_argument_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    """A receiver passing decoded text gets a 500 (its own bug) logged at ERROR, no raise."""
    payload, headers = signed(event_body())
    with caplog.at_level(logging.ERROR, logger="lean_async.webhooks"):
        result = await handle_delivery(
            payload.decode(),  # type: ignore[arg-type]
            headers,
            api_key=API_KEY,
            handler=Recorder(),
            store=MemoryDedupStore(),
        )
    assert (result.status_code, result.reason) == (500, "invalid_argument")
    assert "invalid_argument" in caplog.text


async def test_a_plain_def_handler_runs_once_in_a_worker_thread() -> None:
    """A sync handler runs off the event loop thread, once; a sync raise gives 500 and a retry."""
    threads: list[int] = []
    failures = [RuntimeError("first delivery fails")]

    def handler(event: WebhookEvent) -> None:
        threads.append(threading.get_ident())
        if failures:
            raise failures.pop()

    store = MemoryDedupStore()
    statuses = [(await deliver(store, handler)).status_code for _ in range(3)]
    assert statuses == [500, 200, 200]
    assert len(threads) == 2
    assert threading.get_ident() not in threads


async def test_a_def_returning_a_coroutine_is_awaited() -> None:
    """A lambda wrapping an async handler is awaited, so its work is done before the 200."""
    recorder = Recorder()
    result = await deliver(MemoryDedupStore(), lambda event: recorder(event))
    assert result.status_code == 200
    assert recorder.processed == ["evt_1"]
