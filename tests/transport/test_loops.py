"""One client from any loop, thread or forked process: a pool per event loop (issue 19).

Every test here talks to a sandbox served on 127.0.0.1 from a thread of its own
(`tests.served`), so the loops under test are the test's own: ``asyncio.run`` after
``asyncio.run``, loops closed without shutting down, threads each running a loop, and
children made by ``fork()``.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import threading
import warnings
from collections.abc import Iterator

import httpx
import pytest

from lean_async import LeanClient
from lean_async._config import Backend
from lean_async.transport import RetryBudget, _private_state
from lean_async.transport._loops import LoopPools
from tests.served import open_fds, served_sandbox
from tests.transport.soak_loops import KEY, soak

RUNS = 150  # the suite's bounded share of `make loops` (1,000 per backend)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The base URL of a sandbox served from another thread."""
    with served_sandbox(KEY) as base_url:
        yield base_url


def _client(url: str, backend: Backend) -> LeanClient:
    return LeanClient(api_key=KEY, base_url=url, backend=backend, max_retries=0)


def _pools(lean: LeanClient) -> LoopPools:
    pools = lean._shared.pools
    assert pools is not None
    return pools


async def _pay(lean: LeanClient, n: int = 0) -> None:
    await lean.gigs.list()


def test_successive_asyncio_runs_share_one_client(url: str, backend: Backend) -> None:
    """Many asyncio.run() through one client: no error, no warning, no descriptor kept."""
    result = soak(url, backend, RUNS)
    assert result.exceptions == 0
    assert result.warnings == []
    assert abs(result.fd_delta) <= 2
    assert result.rss_growth < 5 * 1024 * 1024


def test_each_loop_gets_its_own_pool_closed_when_it_finishes(url: str, backend: Backend) -> None:
    """A loop's first call opens its pool; asyncio.run's shutdown closes it."""
    lean = _client(url, backend)
    seen: list[int] = []

    async def calls() -> None:
        await _pay(lean)
        await _pay(lean)
        seen.append(_pools(lean).open_pools)

    asyncio.run(calls())
    asyncio.run(calls())
    assert seen == [1, 1]
    assert _pools(lean).open_pools == 0


def test_threads_with_their_own_loops_at_once(url: str, backend: Backend) -> None:
    """Four threads, each running loops of concurrent calls at the same time, share a client."""
    lean = _client(url, backend)
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    open_at_once: list[int] = []
    fds = open_fds()

    async def burst() -> None:
        await asyncio.gather(*(_pay(lean, n) for n in range(5)))

    def worker() -> None:
        try:
            start.wait(10)
            for _ in range(5):
                asyncio.run(burst())
            asyncio.run(both_open())
        except BaseException as exc:
            errors.append(exc)

    async def both_open() -> None:
        await _pay(lean)
        await asyncio.to_thread(start.wait, 10)  # every thread holds a live pool now
        open_at_once.append(_pools(lean).open_pools)
        await asyncio.to_thread(start.wait, 10)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert open_at_once == [4, 4, 4, 4]
    assert _pools(lean).open_pools == 0
    gc.collect()
    assert abs(open_fds() - fds) <= 2


def test_a_pool_whose_loop_closed_is_dropped_without_touching_it(
    url: str, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """loop.close() without shutdown leaves a pool that is dropped, sockets closed directly."""
    closed: list[bool] = []
    real = _private_state.close_socket

    def spy(transport: asyncio.BaseTransport | None) -> bool:
        closed.append(real(transport))
        return closed[-1]

    monkeypatch.setattr(_private_state, "close_socket", spy)
    lean = _client(url, backend)
    fds = open_fds()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_pay(lean))  # an idle keep-alive connection stays in its pool
    loop.close()  # no shutdown_asyncgens(): the pool outlives its loop
    assert _pools(lean).open_pools == 1
    asyncio.run(_pay(lean))  # the next loop's first call drops it
    assert closed == [True]  # the asyncio/aiohttp/httpcore private steps are all on
    assert _pools(lean).open_pools == 0
    gc.collect()  # a transport left open would warn here (an error in this suite)
    assert abs(open_fds() - fds) <= 2


def test_a_dead_loops_pool_is_dropped_when_the_client_goes(url: str, backend: Backend) -> None:
    """A client dropped after its loop was closed without shutdown warns nothing, leaks nothing."""
    lean = _client(url, backend)
    fds = open_fds()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_pay(lean))
    loop.close()
    del lean
    gc.collect()
    assert abs(open_fds() - fds) <= 2


def test_aclose_closes_this_loops_pool_and_drops_the_rest(url: str, backend: Backend) -> None:
    """aclose() closes the running loop's pool, has a live loop close its own, drops dead ones."""
    lean = _client(url, backend)
    fds = open_fds()

    def dead_loop() -> None:
        dead = asyncio.new_event_loop()
        dead.run_until_complete(_pay(lean))
        dead.close()

    other_ready, other_stop = threading.Event(), threading.Event()
    other_loop: list[asyncio.AbstractEventLoop] = []

    async def other() -> None:
        other_loop.append(asyncio.get_running_loop())
        await _pay(lean)
        other_ready.set()
        await asyncio.to_thread(other_stop.wait, 30)
        await asyncio.sleep(0.05)  # lets the close scheduled by aclose() run here

    thread = threading.Thread(target=asyncio.run, args=(other(),))
    thread.start()
    assert other_ready.wait(30)

    async def close_here() -> None:
        await _pay(lean)
        await asyncio.to_thread(dead_loop)  # after this loop's pool, so it is not pruned
        assert _pools(lean).open_pools == 3
        await lean.aclose()
        assert _pools(lean).open_pools == 0

    asyncio.run(close_here())
    other_stop.set()
    thread.join(30)
    gc.collect()
    assert abs(open_fds() - fds) <= 2


def _child_pays(lean: LeanClient) -> None:
    """In a forked child: the inherited pools are gone, and the child pays on its own."""
    assert _pools(lean).open_pools == 0
    asyncio.run(_pay(lean))
    asyncio.run(_pay(lean))


def _fork_warning_off() -> warnings.catch_warnings[None]:
    # Python 3.12+ warns about fork() in a process with threads (the sandbox's); the
    # children here only send HTTP and exit.
    caught = warnings.catch_warnings()
    caught.__enter__()
    warnings.simplefilter("ignore", DeprecationWarning)
    return caught


def test_a_forked_child_never_uses_the_parents_connections(url: str, backend: Backend) -> None:
    """os.fork(): the child drops what it inherited (writing nothing); the parent goes on."""
    lean = _client(url, backend)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_pay(lean))  # the parent's pool holds an idle connection
        fds = open_fds()
        caught = _fork_warning_off()
        try:
            pid = os.fork()
        finally:
            caught.__exit__(None, None, None)
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            status = 1
            try:
                _child_pays(lean)
                status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's connection was neither used nor shut down by the child.
        loop.run_until_complete(_pay(lean))
        assert _pools(lean).open_pools == 1
        assert open_fds() == fds
        loop.run_until_complete(lean.aclose())
    finally:
        loop.close()


def test_multiprocessing_fork_children_pay_through_the_inherited_client(
    url: str, backend: Backend
) -> None:
    """multiprocessing with the fork start method: each child makes its own pool."""
    lean = _client(url, backend)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_pay(lean))
        context = multiprocessing.get_context("fork")
        caught = _fork_warning_off()
        try:
            children = [context.Process(target=_child_pays, args=(lean,)) for _ in range(2)]
            for child in children:
                child.start()
        finally:
            caught.__exit__(None, None, None)
        for child in children:
            child.join(60)
        assert [child.exitcode for child in children] == [0, 0]
        loop.run_until_complete(_pay(lean))
        loop.run_until_complete(lean.aclose())
    finally:
        loop.close()


def test_what_a_forked_child_does_with_its_inherited_pools(url: str, backend: Backend) -> None:
    """The at-fork hook's work, in process: pools dropped, sockets closed, the loop untouched.

    A child runs loops of its own (asyncio.run); like asyncio itself, it must not go on
    running a loop it inherited.
    """
    lean = _client(url, backend)
    fds = open_fds()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_pay(lean))
        with_pool = open_fds()
        _pools(lean)._after_fork_in_child()
        assert _pools(lean).open_pools == 0
        gc.collect()  # nothing may warn: the inherited transports were closed directly
        # The pooled connection's descriptor (and, soon, the in-process server's end).
        assert open_fds() <= with_pool - 1
        asyncio.run(_pay(lean))  # the child's own loop gets its own pool
        assert _pools(lean).open_pools == 0
    finally:
        loop.close()
    gc.collect()
    assert abs(open_fds() - fds) <= 2


async def test_closed_pools_refuse_to_send() -> None:
    """After aclose(), LoopPools refuses a request instead of opening a new pool."""
    pools = LoopPools(lambda: _orphans_free_transport())
    await pools.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await pools.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))


def _orphans_free_transport() -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200))


def test_the_retry_budget_is_consistent_across_threads() -> None:
    """Threads taking and refunding tokens at once never lose or invent one."""
    budget = RetryBudget(capacity=10_000_000, retry_cost=3, success_refund=1)

    def hammer() -> None:
        for _ in range(20_000):
            assert budget.try_acquire()
            budget.record_success()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert budget.tokens == 10_000_000 - 4 * 20_000 * 2
