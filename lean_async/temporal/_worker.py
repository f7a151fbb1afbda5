"""A worker process: one `LeanClient`, one Temporal client, both workflows and activities.

Workers share Lean's rate limit through Redis when given its URL (`RedisRateLimiter`),
so a fleet never sends more than Lean allows, however many workers run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, Final

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from lean_async._client import LeanClient
from lean_async._secrets import Secret
from lean_async.temporal._activities import HEARTBEAT_EVERY, PayrollActivities
from lean_async.temporal._starter import TASK_QUEUE
from lean_async.temporal._workflows import PayrollBatch, PayrollChunk

try:  # with opentelemetry-api, activities run in the trace context their batch carries
    from lean_async.temporal._tracing import (
        TraceContextInterceptor,
        has_trace_context,
        with_trace_context,
    )
except ImportError:  # the otel extra is not installed
    TraceContextInterceptor = None  # type: ignore[assignment, misc]

__all__ = ["DEFAULT_STICKY_TIMEOUT", "HEARTBEAT_EVERY", "build_worker", "run_worker"]

# Workflows kept in memory: the batch and the chunks being paid stay (least recently
# used go first); a waiting chunk holds ~1 MB of items, so not a thousand of them.
_CACHED_WORKFLOWS: Final = 32

DEFAULT_STICKY_TIMEOUT: Final = 3.0
"""Seconds a workflow task waits for the worker that ran the workflow last.

Temporal's default is 10 s; when that worker was killed, each of its workflows waits
this long before another worker takes it, so a short wait is a faster recovery (the
cost: an occasional history replay on another worker).
"""


def build_worker(
    client: Client,
    lean: LeanClient,
    *,
    task_queue: str = TASK_QUEUE,
    max_concurrent_activities: int = 100,
    sticky_timeout: float = DEFAULT_STICKY_TIMEOUT,
) -> Worker:
    """Return a worker running `PayrollBatch`, `PayrollChunk` and the payroll activities.

    The activities pay through *lean*, shared by all of them: the caller opens it
    before the worker runs and closes it after the worker has shut down. With
    ``opentelemetry-api`` installed, each activity runs in the trace context its batch
    was started in (see `start_batch`).
    """
    activities = PayrollActivities(lean)
    interceptors: list[Interceptor] = []
    if TraceContextInterceptor is not None and not has_trace_context(client):
        interceptors.append(TraceContextInterceptor())
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PayrollBatch, PayrollChunk],
        activities=[
            activities.pay_slice,
            activities.pay_gig,
            activities.pay_special_payment,
            activities.chunk_result,
        ],
        max_concurrent_activities=max_concurrent_activities,
        max_cached_workflows=_CACHED_WORKFLOWS,
        # A chunk's slices go to whichever worker polls, not all to the one running the
        # chunk (eager execution would): the fleet shares them, a death stops a part.
        disable_eager_activity_execution=True,
        max_heartbeat_throttle_interval=timedelta(seconds=HEARTBEAT_EVERY),
        default_heartbeat_throttle_interval=timedelta(seconds=HEARTBEAT_EVERY),
        interceptors=interceptors,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout),
        # The workflows only read lean_async's dataclasses and constants; passing the
        # package through keeps httpx & co. out of the sandbox's re-imports.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("lean_async")
        ),
    )


async def run_worker(
    address: str,
    *,
    namespace: str = "default",
    task_queue: str = TASK_QUEUE,
    max_concurrent_activities: int = 100,
    sticky_timeout: float = DEFAULT_STICKY_TIMEOUT,
    on_ready: Callable[[], None] | None = None,
    stop: asyncio.Event | None = None,
    rate_limit: float | None = None,
    redis_url: str | Secret[str] | None = None,
) -> None:
    """Run a payroll worker against the Temporal server at *address* until SIGINT/SIGTERM.

    The `LeanClient` is configured from the environment (``LEAN_API_KEY``,
    ``LEAN_BASE_URL``, ``LEAN_ENVIRONMENT``). On a signal the worker stops polling,
    lets the activities in flight finish (or be cancelled at the graceful timeout),
    then the clients are closed, in that order. *on_ready* is called once it polls.
    Given *stop*, it runs until *stop* is set instead, and leaves signals alone.

    *rate_limit* caps this worker's requests per second; with *redis_url* (needs the
    ``redis`` extra) the workers share one budget in that Redis (`RedisRateLimiter`,
    *rate_limit* then caps the whole fleet), paced to what Lean answers. The URL may
    hold a password: it is kept in a redacting `Secret` from the first line on, so no
    frame an exception passes through holds it.

    Raises:
        LeanError: the environment does not configure a client (no API key...).
        ValueError: *rate_limit* is not a positive number.
    """
    redis = redis_url if isinstance(redis_url, Secret | None) else Secret(redis_url)
    del redis_url
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if stop is None else ()
    stop = stop or asyncio.Event()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        async with _limiter(redis, rate_limit) as limits, LeanClient(**limits) as lean:
            client = await Client.connect(
                address,
                namespace=namespace,
                interceptors=[] if TraceContextInterceptor is None else with_trace_context([]),
            )
            worker = build_worker(
                client,
                lean,
                task_queue=task_queue,
                max_concurrent_activities=max_concurrent_activities,
                sticky_timeout=sticky_timeout,
            )
            if stop.is_set():  # stopped while connecting
                return
            running = asyncio.create_task(worker.run())
            if on_ready is not None:
                on_ready()
            waiting = asyncio.create_task(stop.wait())
            await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if not running.done():
                await worker.shutdown()
            await running
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


@contextlib.asynccontextmanager
async def _limiter(
    redis_url: Secret[str] | None, rate_limit: float | None
) -> AsyncIterator[dict[str, Any]]:
    """Yield the `LeanClient` arguments pacing this worker; close the Redis client after."""
    if redis_url is None:
        yield {"rate_limit": rate_limit}
        return
    import redis.asyncio as aioredis

    from lean_async.ratelimit import RedisRateLimiter

    redis = aioredis.Redis.from_url(redis_url.get_secret_value())
    try:
        yield {"rate_limiter": RedisRateLimiter(redis, rate_limit=rate_limit)}
    finally:
        await redis.aclose()
