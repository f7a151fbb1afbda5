"""create_many: lazy, bounded, validated bulk creates that clean up after themselves."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import os
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from lean_async import (
    AuthenticationError,
    BatchResult,
    Gig,
    LeanClient,
    SpecialPayment,
    ValidationError,
)
from lean_async.resources._batch import BATCH_KEY_PREFIX, batch_key
from tests.resources.conftest import GIG_JSON, KEY, SPECIAL_PAYMENT_JSON

START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def gig_item(n: int, **overrides: Any) -> dict[str, Any]:
    """Return the create() arguments of gig ``gig_<n>``."""
    item: dict[str, Any] = {
        "partner_user_id": "uid_1",
        "gig_id": f"gig_{n}",
        "total_amount": "15.00",
        "tips": "3.00",
        "expenses": "2.00",
        "description": "A ride",
        "start_time": START,
        "end_time": START + dt.timedelta(minutes=40),
    }
    return item | overrides


def payment_item(n: int, **overrides: Any) -> dict[str, Any]:
    """Return the create() arguments of a 1.00 + n cents bonus."""
    return {"partner_user_id": "uid_1", "amount": f"1.{n % 100:02d}", "type": "bonus"} | overrides


async def answer_gig(request: httpx.Request) -> httpx.Response:
    """Answer a POST /gig with the gig it sent."""
    sent = json.loads(request.content)
    return httpx.Response(200, json={**GIG_JSON, "gigId": sent["gigId"]})


async def answer_payment(request: httpx.Request) -> httpx.Response:
    """Answer a POST /specialpayment with a payment of the amount it sent."""
    sent = json.loads(request.content)
    return httpx.Response(200, json={**SPECIAL_PAYMENT_JSON, "amount": sent["amount"]})


class Recorder(httpx.AsyncBaseTransport):
    """Runs *handler* per request, recording requests and how many are in flight."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            return await self.handler(request)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


@contextlib.asynccontextmanager
async def client(handler: Handler) -> AsyncIterator[tuple[LeanClient, Recorder]]:
    """A client whose base transport is a `Recorder` running *handler*."""
    recorder = Recorder(handler)
    async with LeanClient(api_key=KEY, transport=recorder) as lean:
        yield lean, recorder


async def collect(results: AsyncIterator[BatchResult[Any]]) -> list[BatchResult[Any]]:
    """Return every result of a batch, sorted by index."""
    return sorted([r async for r in results], key=lambda r: r.index)


async def settle_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Let finalizers run (bounded), then return the tasks alive that were not in *before*."""
    for _ in range(50):
        extra = asyncio.all_tasks() - before
        if not extra:
            break
        await asyncio.sleep(0)
    return asyncio.all_tasks() - before


async def test_every_item_gets_one_result_with_its_model() -> None:
    """300 gigs give 300 results, one per index, each holding the gig and its item."""
    async with client(answer_gig) as (lean, recorder):
        items = [gig_item(n) for n in range(300)]
        results = await collect(lean.gigs.create_many(items))
    assert [r.index for r in results] == list(range(300))
    assert all(r.ok and r.error is None for r in results)
    assert all(isinstance(r.value, Gig) for r in results)
    assert [r.value.gig_id for r in results if r.value] == [f"gig_{n}" for n in range(300)]
    assert results[7].item is items[7]
    assert len(recorder.requests) == 300


async def test_at_most_concurrency_calls_in_flight() -> None:
    """Never more than *concurrency* requests are in flight at once, and that many are reached."""
    async with client(answer_gig) as (lean, recorder):
        await collect(lean.gigs.create_many((gig_item(n) for n in range(100)), concurrency=5))
    assert recorder.most_in_flight == 5


async def test_items_are_pulled_lazily() -> None:
    """An item is read only when a slot is free: at most *concurrency* ahead of the results."""
    pulled = 0

    def items() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for n in range(1000):
            pulled += 1
            yield gig_item(n)

    async with client(answer_gig) as (lean, _):
        seen = 0
        async for _result in lean.gigs.create_many(items(), concurrency=4):
            seen += 1
            assert pulled <= seen + 4
    assert seen == 1000


async def test_async_iterable_items() -> None:
    """Items may come from an async generator."""

    async def items() -> AsyncIterator[dict[str, Any]]:
        for n in range(20):
            await asyncio.sleep(0)
            yield gig_item(n)

    async with client(answer_gig) as (lean, _):
        results = await collect(lean.gigs.create_many(items(), concurrency=3))
    assert [r.index for r in results if r.ok] == list(range(20))


async def test_bad_items_yield_validation_errors_and_the_batch_goes_on() -> None:
    """Non-mappings, unknown, missing or invalid arguments yield ValidationError; none is sent."""
    bad: dict[int, object] = {
        1: ["not", "a", "mapping"],
        3: gig_item(3, colour="red"),
        5: {k: v for k, v in gig_item(5).items() if k != "tips"},
        7: gig_item(7, total_amount=15.0),
        9: dict[Any, Any]({1: "non-string key"}) | gig_item(9),
    }
    items = [bad.get(n, gig_item(n)) for n in range(12)]
    async with client(answer_gig) as (lean, recorder):
        results = await collect(lean.gigs.create_many(items))  # type: ignore[arg-type]
    errors = {r.index: r.error for r in results if not r.ok}
    assert set(errors) == set(bad)
    assert all(isinstance(e, ValidationError) for e in errors.values())
    assert errors[1].errors[0][0] == "item"  # type: ignore[union-attr]
    assert errors[3].errors == [("colour", "is not an argument of Gigs.create()")]  # type: ignore[union-attr]
    assert errors[5].errors == [("tips", "is required")]  # type: ignore[union-attr]
    assert errors[7].errors[0][0] == "total_amount"  # type: ignore[union-attr]
    assert errors[9].errors == [("1", "is not an argument of Gigs.create()")]  # type: ignore[union-attr]
    sent = sorted(json.loads(r.content)["gigId"] for r in recorder.requests)
    assert sent == sorted(f"gig_{n}" for n in range(12) if n not in bad)


async def test_api_errors_are_results() -> None:
    """A call failing with an APIError yields it; the other items are paid."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["gigId"] == "gig_2":
            return httpx.Response(401, json={"message": "nope"})
        return await answer_gig(request)

    async with client(handler) as (lean, _):
        results = await collect(lean.gigs.create_many([gig_item(n) for n in range(5)]))
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert isinstance(results[2].error, AuthenticationError)
    assert results[2].value is None


@pytest.mark.parametrize("concurrency", [0, -1, True, 1.5, "2", None])
async def test_concurrency_must_be_a_positive_int(lean: LeanClient, concurrency: Any) -> None:
    """concurrency that is not an int >= 1 is a ValidationError at call time."""
    with pytest.raises(ValidationError) as info:
        lean.gigs.create_many([], concurrency=concurrency)
    assert info.value.errors[0][0] == "concurrency"
    with pytest.raises(ValidationError):
        lean.special_payments.create_many([], concurrency=concurrency)


@pytest.mark.parametrize("items", [None, 3, "gig_1", b"x", {"gig_id": "gig_1"}])
async def test_items_must_be_an_iterable_of_mappings(lean: LeanClient, items: Any) -> None:
    """A non-iterable, a string or a single mapping as *items* is a ValidationError."""
    with pytest.raises(ValidationError) as info:
        lean.gigs.create_many(items)
    assert info.value.errors[0][0] == "items"


async def test_a_bug_propagates_and_cancels_the_rest() -> None:
    """An exception that is not a LeanError propagates; the calls in flight are cancelled."""
    never = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["gigId"] == "gig_3":
            raise RuntimeError("a bug")
        await never.wait()
        raise AssertionError("unreachable")

    before = asyncio.all_tasks()
    async with client(handler) as (lean, recorder):
        with pytest.raises(RuntimeError, match="a bug"):
            await collect(lean.gigs.create_many([gig_item(n) for n in range(50)], concurrency=8))
        assert recorder.in_flight == 0
        assert recorder.cancelled == 7
    assert await settle_tasks(before) == set()


async def block_forever(request: httpx.Request) -> httpx.Response:
    """Never answer (until cancelled)."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_aclose_cancels_calls_in_flight() -> None:
    """aclose() after the first result cancels every call in flight and leaves no task."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["gigId"] == "gig_0":
            return await answer_gig(request)
        return await block_forever(request)

    before = asyncio.all_tasks()
    async with client(handler) as (lean, recorder):
        async with contextlib.aclosing(
            lean.gigs.create_many((gig_item(n) for n in range(10_000)), concurrency=16)
        ) as results:
            async for result in results:
                assert result.index == 0
                break
        # aclose has returned: the cancelled calls are already finished.
        assert recorder.in_flight == 0
        assert recorder.cancelled == 15
        assert len(recorder.requests) == 16
        assert asyncio.all_tasks() - before == set()


async def test_break_without_aclose_cleans_up_when_collected() -> None:
    """A plain break leaves no task behind once the iterator is collected."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["gigId"] == "gig_0":
            return await answer_gig(request)
        return await block_forever(request)

    before = asyncio.all_tasks()
    async with client(handler) as (lean, recorder):
        async for _result in lean.gigs.create_many(gig_item(n) for n in range(100)):
            break
        assert await settle_tasks(before) == set()
        assert recorder.in_flight == 0
        assert recorder.cancelled == 15


async def test_stopping_retrieves_errors_of_finished_calls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Calls that failed but were never yielded do not log "exception was never retrieved"."""

    async def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "nope"})

    async with (
        client(refuse) as (lean, _),
        contextlib.aclosing(
            lean.gigs.create_many([gig_item(n) for n in range(8)], concurrency=8)
        ) as results,
    ):
        async for result in results:
            assert isinstance(result.error, AuthenticationError)
            break
    gc.collect()
    assert [r for r in caplog.records if "never retrieved" in r.getMessage()] == []


async def test_cancelling_the_consumer_cancels_calls_in_flight() -> None:
    """Cancelling the task iterating a batch raises CancelledError there and leaves no task."""
    before = asyncio.all_tasks()
    async with client(block_forever) as (lean, recorder):

        async def consume() -> None:
            async for _result in lean.gigs.create_many(gig_item(n) for n in range(100)):
                raise AssertionError("no call answers")

        task = asyncio.create_task(consume())
        for _ in range(100):  # bounded: let the batch start its 16 calls
            await asyncio.sleep(0)
        assert len(recorder.requests) == 16
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert recorder.in_flight == 0
        assert recorder.cancelled == 16
    assert await settle_tasks(before) == set()


def test_batch_key_is_deterministic_and_within_the_key_rules() -> None:
    """The derived key depends on batch id, index and body only, and is 75 visible ASCII."""
    body = {"partnerUserId": "uid_1", "amount": "5.00", "type": "bonus"}
    key = batch_key("payroll-2026-11", 0, body)
    assert key == batch_key("payroll-2026-11", 0, dict(reversed(body.items())))
    assert key.startswith(BATCH_KEY_PREFIX)
    assert len(key) == 75
    assert all(0x21 <= ord(c) <= 0x7E for c in key)
    assert key != batch_key("payroll-2026-11", 1, body)
    assert key != batch_key("payroll-2026-12", 0, body)
    assert key != batch_key("payroll-2026-11", 0, {**body, "amount": "5.01"})


async def test_batch_id_derives_keys_from_the_validated_body() -> None:
    """With batch_id each payment's key is batch_key(batch_id, index, wire body); own keys win."""
    async with client(answer_payment) as (lean, recorder):
        items = [
            payment_item(0, amount="5"),
            payment_item(1, amount="5.00"),
            payment_item(2, idempotency_key="mine-2"),
        ]
        results = await collect(lean.special_payments.create_many(items, batch_id="run-1"))
    assert all(r.ok and isinstance(r.value, SpecialPayment) for r in results)
    sent = {r.headers["Idempotency-Key"] for r in recorder.requests}
    body = {"partnerUserId": "uid_1", "amount": "5.00", "type": "bonus"}
    assert sent == {batch_key("run-1", 0, body), batch_key("run-1", 1, body), "mine-2"}


async def test_same_batch_id_sends_the_same_keys_again() -> None:
    """Re-running a batch with its batch_id resends exactly the keys of the first run."""
    async with client(answer_payment) as (lean, recorder):
        items = [payment_item(n) for n in range(30)]
        await collect(lean.special_payments.create_many(items, batch_id="run-1"))
        first = [r.headers["Idempotency-Key"] for r in recorder.requests]
        recorder.requests.clear()
        await collect(lean.special_payments.create_many(iter(items), batch_id="run-1"))
        again = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert sorted(first) == sorted(again)
    assert len(set(first)) == 30


async def test_invalid_payment_with_batch_id_is_a_result() -> None:
    """A payment breaking a rule yields its ValidationError before any key is derived."""
    async with client(answer_payment) as (lean, recorder):
        items = [payment_item(0), payment_item(1, amount="0"), payment_item(2, type="tip")]
        results = await collect(lean.special_payments.create_many(items, batch_id="b"))
    assert [r.ok for r in results] == [True, False, False]
    assert isinstance(results[1].error, ValidationError)
    assert isinstance(results[2].error, ValidationError)
    assert [field for field, _ in results[1].error.errors] == ["amount"]
    assert [field for field, _ in results[2].error.errors] == ["type"]
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("batch_id", ["", 7, b"run"])
async def test_batch_id_must_be_a_non_empty_string(lean: LeanClient, batch_id: Any) -> None:
    """A batch_id that is not a non-empty string is a ValidationError at call time."""
    with pytest.raises(ValidationError) as info:
        lean.special_payments.create_many([], batch_id=batch_id)
    assert info.value.errors[0][0] == "batch_id"


async def test_no_batch_id_and_no_keys_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    """Without batch_id or own keys each call has a key, and one WARNING says re-runs are unsafe."""
    async with client(answer_payment) as (lean, recorder):
        with caplog.at_level(logging.WARNING, logger="lean_async"):
            results = await collect(
                lean.special_payments.create_many([payment_item(n) for n in range(5)])
            )
    assert all(r.ok for r in results)
    assert len({r.headers["Idempotency-Key"] for r in recorder.requests}) == 5
    warnings = [r for r in caplog.records if "batch_id" in r.getMessage()]
    assert len(warnings) == 1
    assert "may pay it twice" in warnings[0].getMessage()


async def test_own_keys_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    """Items that all carry their own idempotency_key log no warning."""
    async with client(answer_payment) as (lean, _):
        with caplog.at_level(logging.WARNING, logger="lean_async"):
            items = [payment_item(n, idempotency_key=f"k-{n}") for n in range(3)]
            await collect(lean.special_payments.create_many(items))
    assert caplog.records == []


def test_batch_result_is_frozen_and_slotted() -> None:
    """BatchResult is immutable, slotted, and .ok follows .error."""
    result: BatchResult[int] = BatchResult(index=0, item={}, value=1)
    assert result.ok
    assert not BatchResult(index=1, item={}, error=ValidationError([("x", "y")])).ok
    assert not hasattr(result, "__dict__")
    with pytest.raises(AttributeError):
        result.index = 2  # type: ignore[misc]


# --- memory: flat in the number of items ---------------------------------------------------

SCALE = bool(os.environ.get("LEAN_ASYNC_SCALE"))  # read at import: a fixture clears LEAN_*
CANNED_GIG = json.dumps(GIG_JSON).encode()


class CannedGig(httpx.AsyncBaseTransport):
    """A no-op base transport: every request is answered at once with the same gig."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=CANNED_GIG, headers={"Content-Type": "application/json"})


async def traced_peak(count: int) -> int:
    """Return the tracemalloc peak (bytes) of create_many over *count* lazily made items."""
    async with LeanClient(api_key=KEY, transport=CannedGig()) as lean:
        tracemalloc.start()
        try:
            seen = 0
            async for result in lean.gigs.create_many(gig_item(n) for n in range(count)):
                assert result.ok
                seen += 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert seen == count
    return peak


@pytest.mark.parametrize(
    ("small", "large"),
    [
        pytest.param(250, 1_000, id="250-vs-1k"),
        pytest.param(
            20_000,
            100_000,
            id="scale-20k-vs-100k",
            marks=pytest.mark.skipif(not SCALE, reason="slow: make scale-memory"),
        ),
    ],
)
async def test_memory_does_not_grow_with_the_number_of_items(small: int, large: int) -> None:
    """The tracemalloc peak stays under 50 MB and about the same for 4-5x more items."""
    small_peak = await traced_peak(small)
    large_peak = await traced_peak(large)
    assert large_peak < 50 * 2**20
    assert large_peak < small_peak * 1.5 + 256 * 2**10, (small_peak, large_peak)
