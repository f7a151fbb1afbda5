"""`BatchResult.created` against the sandbox: from the call path, else on Lean's clock.

Every test runs with the sandbox's clock an hour ahead of this machine, an hour behind,
and right: no outcome may depend on the two clocks agreeing.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from lean_async import BatchResult, LeanClient
from lean_async.sandbox import DropAfterCommit, Sandbox, SkewedClock
from lean_async.testing import set_testing
from tests.e2e.conftest import gig_args, new_customer

KEY = "sk_created_test"
SKEWS = [dt.timedelta(hours=-1), dt.timedelta(0), dt.timedelta(hours=1)]


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture(params=SKEWS, ids=["lean-1h", "lean-on-time", "lean+1h"])
def clock(request: pytest.FixtureRequest) -> SkewedClock:
    """The sandbox's clock: this machine's, set off by an hour either way, or not."""
    return SkewedClock(request.param)


@pytest.fixture
async def sandbox(clock: SkewedClock) -> AsyncIterator[Sandbox]:
    """A sandbox on *clock* with an ACTIVE uid_1."""
    async with Sandbox(api_key=KEY, clock=clock) as sandbox:
        yield sandbox


class RefuseFirstPosts(httpx.AsyncBaseTransport):
    """Fails the first *count* POSTs before a byte is sent (connection refused)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, count: int) -> None:
        self.inner = inner
        self.left = count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.left > 0:
            self.left -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def client(sandbox: Sandbox, refuse_posts: int = 0) -> LeanClient:
    """A new client of *sandbox* (a new process, as far as outcomes go)."""
    transport: httpx.AsyncBaseTransport = sandbox.transport()
    if refuse_posts:
        transport = RefuseFirstPosts(transport, refuse_posts)
    return LeanClient(api_key=KEY, base_url=sandbox.base_url, transport=transport)


@pytest.fixture
async def lean(sandbox: Sandbox) -> AsyncIterator[LeanClient]:
    """A client of *sandbox* with an ACTIVE customer uid_1."""
    async with await client(sandbox) as lean:
        await new_customer(lean)
        sandbox.activate_customer("uid_1")
        yield lean


async def outcomes(results: AsyncIterator[BatchResult[Any]]) -> list[bool | None]:
    """Return each result's ``created``, in item order."""
    return [r.created for r in sorted([r async for r in results], key=lambda r: r.index)]


def bonus(n: int, key: str | None = None) -> dict[str, Any]:
    return {"partner_user_id": "uid_1", "amount": f"{n + 1}.00", "type": "bonus"} | (
        {"idempotency_key": key} if key else {}
    )


async def test_the_sandbox_states_its_own_clock_in_the_date_header(
    sandbox: Sandbox, clock: SkewedClock, lean: LeanClient
) -> None:
    """``Date`` is the sandbox's time of day (skew included), as Lean states its own."""
    response = await lean.request("GET", "gig")
    stated = email.utils.parsedate_to_datetime(response.headers["date"])
    expected = dt.datetime.now(dt.UTC) + clock.skew
    assert abs((stated - expected).total_seconds()) < 2
    assert response.headers.get_list("date") == [response.headers["date"]]


async def test_fresh_gigs_were_created_and_a_rerun_finds_them_already_there(
    lean: LeanClient,
) -> None:
    """A 201 is this call's payment; the unique key's "exists" with nothing lost is not."""
    items = [gig_args(n) for n in range(6)]
    assert await outcomes(lean.gigs.create_many(items)) == [True] * 6
    assert await outcomes(lean.gigs.create_many(items)) == [False] * 6


async def test_a_gig_whose_answer_was_lost_is_this_calls_own(
    sandbox: Sandbox, lean: LeanClient
) -> None:
    """Made, answer dropped, retried, "exists", reconciled: told on Lean's clock, created."""
    sandbox.faults.add(DropAfterCommit(), route="POST /gig", times=3)
    items = [gig_args(n) for n in range(6)]
    assert await outcomes(lean.gigs.create_many(items, concurrency=1)) == [True] * 6
    assert len(sandbox.gigs) == 6


async def test_a_gig_found_after_attempts_that_never_left_was_already_there(
    sandbox: Sandbox, lean: LeanClient
) -> None:
    """Made a moment ago by someone else; this call's earlier attempts were refused.

    No attempt before the "exists" could have reached Lean, so the call path settles
    it without any clock (the clock alone would fall in its one-second edge here).
    """
    await lean.gigs.create(**gig_args(1))
    async with await client(sandbox, refuse_posts=2) as other:
        [created] = await outcomes(other.gigs.create_many([gig_args(1)]))
    assert created is False


async def test_special_payments_under_keys_the_call_made_were_created(lean: LeanClient) -> None:
    """No caller key: a fresh uuid4 nobody else knew, so the payment is the call's."""
    assert (
        await outcomes(lean.special_payments.create_many([bonus(n) for n in range(4)]))
        == [True] * 4
    )


async def test_a_batch_id_rerun_in_the_same_process_finds_every_payment_there(
    sandbox: Sandbox, lean: LeanClient
) -> None:
    """Replayed answers are unmarked; the client saw those keys answered: already there."""
    items = [bonus(n) for n in range(5)]
    first = await outcomes(lean.special_payments.create_many(items, batch_id="b1"))
    again = await outcomes(lean.special_payments.create_many(items, batch_id="b1"))
    assert (first, again) == ([True] * 5, [False] * 5)
    assert len(sandbox.special_payments) == 5


async def test_a_rerun_from_another_process_is_told_on_leans_clock(
    sandbox: Sandbox, clock: SkewedClock, lean: LeanClient
) -> None:
    """A new client (nothing seen) reads createdAt against Date less the elapsed time."""
    items = [bonus(n, key=f"key-{n}") for n in range(4)]
    assert await outcomes(lean.special_payments.create_many(items)) == [True] * 4
    clock.shift(2)  # two seconds pass on Lean's clock: past the one-second edge
    async with await client(sandbox) as other:
        assert await outcomes(other.special_payments.create_many(items)) == [False] * 4
    assert len(sandbox.special_payments) == 4


async def test_a_keyed_payment_whose_answer_was_lost_is_this_calls_own(
    sandbox: Sandbox, lean: LeanClient
) -> None:
    """Made, answer dropped, retried under the same key, replayed: created by this call."""
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment", times=2)
    items = [bonus(n, key=f"lost-{n}") for n in range(3)]
    assert await outcomes(lean.special_payments.create_many(items, concurrency=1)) == [True] * 3
    assert len(sandbox.special_payments) == 3


async def test_a_failed_item_has_no_outcome(lean: LeanClient) -> None:
    """An error is not a payment: created is None."""
    [result] = [r async for r in lean.gigs.create_many([gig_args(1, partner_user_id="nobody")])]
    assert result.error is not None
    assert result.created is None
