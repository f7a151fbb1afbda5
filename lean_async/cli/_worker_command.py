"""``lean-async worker --temporal HOST:PORT``: run a payroll worker until SIGINT/SIGTERM.

The Lean client is configured from the environment (``LEAN_API_KEY``, ``LEAN_BASE_URL``,
``LEAN_ENVIRONMENT``), as `LeanClient` reads it; the first line printed says where it
pays (``Paying in: sandbox (http://127.0.0.1:8080/api/)``, production in red).
Exit status: 0 after a clean stop, 1 when the worker could not start or failed.

The process ends with ``os._exit`` once its output is flushed and both clients are
closed: a process holding a Temporal client may otherwise crash while the interpreter
shuts down (temporalio/sdk-python#300) and lose its own exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import NoReturn

import click

from lean_async import _config
from lean_async._secrets import Secret
from lean_async.cli._console import make_console, target_line

__all__ = ["exit_now", "worker"]


def exit_now(status: int) -> NoReturn:
    """Flush stdout and stderr, then end the process with *status* at once."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or gone: nothing to flush
            stream.flush()
    os._exit(status)


@click.command("worker")
@click.option(
    "--temporal",
    "address",
    required=True,
    metavar="HOST:PORT",
    help="The Temporal frontend to poll (e.g. 127.0.0.1:7233).",
)
@click.option("--namespace", default="default", show_default=True, help="Temporal namespace.")
@click.option("--task-queue", default=None, help="Task queue (default: lean-payroll).")
@click.option(
    "--max-activities",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Activities this process runs at once: slices of a batch, up to 8 calls each "
    "(each batch has its own limit too).",
)
@click.option(
    "--sticky-timeout",
    type=click.FloatRange(0.5, 600),
    default=None,
    help="Seconds a workflow waits for this worker before another takes it (default 3).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="N",
    help="At most N requests/s to Lean: this worker's, or with --redis-url every worker's.",
)
@click.option(
    "--redis-url",
    envvar="LEAN_REDIS_URL",
    default=None,
    metavar="URL",
    help="Share one rate budget with every worker through this Redis "
    "(redis://HOST:PORT/DB; env LEAN_REDIS_URL keeps a password out of ps).",
)
def worker(
    address: str,
    namespace: str,
    task_queue: str | None,
    max_activities: int,
    sticky_timeout: float | None,
    rate_limit: float | None,
    redis_url: str | None,
) -> None:
    """Run a payroll worker: pays the batches started with --temporal."""
    # The URL may hold a Redis password: only its redacting holder stays in this frame.
    redis = None if redis_url is None else Secret(redis_url)
    del redis_url
    try:
        from lean_async.temporal import DEFAULT_STICKY_TIMEOUT, TASK_QUEUE, run_worker
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    from lean_async.errors import LeanError

    console = make_console()
    queue = task_queue or TASK_QUEUE
    try:
        environment, base_url = _config.resolve_target(None, None)
    except ValueError as exc:  # an unknown environment, an unsafe URL: before connecting
        console.print(f"Error: {exc}", markup=False)
        exit_now(1)
    console.print(target_line("Paying in", environment, base_url))

    def ready() -> None:
        console.print(f"Worker polling {address} (task queue {queue})", markup=False)

    status = 0
    try:
        asyncio.run(
            run_worker(
                address,
                namespace=namespace,
                task_queue=queue,
                max_concurrent_activities=max_activities,
                sticky_timeout=sticky_timeout or DEFAULT_STICKY_TIMEOUT,
                on_ready=ready,
                rate_limit=rate_limit,
                redis_url=redis,
            )
        )
        console.print("Worker stopped.", markup=False)
    except LeanError as exc:
        console.print(f"Error: {exc}", markup=False)
        status = 1
    except Exception as exc:  # connection refused, a bad address: say it, exit 1
        console.print(f"Error: {type(exc).__name__}: {exc}", markup=False)
        status = 1
    exit_now(status)
