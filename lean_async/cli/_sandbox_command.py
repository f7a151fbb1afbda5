"""``lean-async sandbox``: serve the sandbox on a port, optionally forwarding its webhooks.

``--forward-to URL`` registers a webhook receiver at start, as ``stripe listen
--forward-to`` does for Stripe, but offline: point it at your app's webhook route and
every event the sandbox emits is POSTed there, signed with the sandbox's key. Each
delivery attempt, failed ones and their retries above all, is printed as it happens.

``--workers-for payroll.csv`` makes every ``partnerUserId`` of the file an ACTIVE
customer at start, so a payroll written from scratch can be imported at once.
delivery attempt, failed ones and their retries above all, is printed as it happens
(in a burst, the first lines of each tenth of a second and a count of the rest).
``--rate-limit N`` answers ``429`` with ``Retry-After`` above N API requests per second.
On SIGINT/SIGTERM it stops within a few seconds and says how many webhook deliveries
were still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import click
import httpx
from rich.console import Console
from rich.text import Text

from lean_async.cli._console import make_console
from lean_async.cli._sandbox_workers import add_active_workers, worker_ids
from lean_async.sandbox import (
    DEFAULT_API_KEY,
    Delivery,
    DeliveryAttemptOutcome,
    Sandbox,
    TLSFiles,
    running_server,
)

__all__ = ["delivery_line", "sandbox", "serve_until"]

POLL_INTERVAL: Final = 0.1
"""Seconds between looks at the sandbox's delivery record."""

MAX_LINES_PER_POLL: Final = 40
"""Delivery lines printed per look; the rest of a burst is counted in one line."""

SHUTDOWN_TIMEOUT: Final = 2.0
"""Seconds API requests still running at a stop are given before they are cancelled."""


def _forward_urls(_: click.Context, __: click.Parameter, values: Sequence[str]) -> list[str]:
    urls = []
    for value in values:
        try:
            url = httpx.URL(value.strip())
            host = url.host  # decodes IDNA, which may fail too
        except (httpx.InvalidURL, ValueError):  # ValueError: a bad IDNA label
            url, host = httpx.URL(), ""
        if url.scheme not in {"http", "https"} or not host:
            raise click.BadParameter(
                f"{value!r} is not an http(s) URL; e.g. http://127.0.0.1:8000/webhooks/lean"
            )
        urls.append(str(url))
    return urls


def delivery_line(delivery: Delivery) -> Text:
    """Describe one webhook delivery attempt in one console line."""
    at = delivery.at.astimezone().strftime("%H:%M:%S")
    head = f"{at} webhook {delivery.event_type} {delivery.event_id} -> {delivery.destination}"
    if delivery.outcome is DeliveryAttemptOutcome.DELIVERED:
        return Text(f"{head}: {delivery.status_code} delivered (attempt {delivery.attempt})")
    why = f"HTTP {delivery.status_code}" if delivery.status_code is not None else delivery.error
    if delivery.outcome is DeliveryAttemptOutcome.RETRYING:
        then, style = "will retry", "yellow"
    else:
        then, style = "gave up, no more retries", "bold red"
    return Text(f"{head}: attempt {delivery.attempt} FAILED ({why}); {then}", style=style)


def _more_line(rest: Sequence[Delivery]) -> Text:
    counts = Counter(delivery.outcome for delivery in rest)
    parts = [
        f"{counts[outcome]} {label}"
        for outcome, label in (
            (DeliveryAttemptOutcome.DELIVERED, "delivered"),
            (DeliveryAttemptOutcome.RETRYING, "failed, will retry"),
            (DeliveryAttemptOutcome.GAVE_UP, "gave up"),
        )
        if counts[outcome]
    ]
    style = "bold red" if counts[DeliveryAttemptOutcome.GAVE_UP] else ""
    return Text(f"... and {len(rest)} more webhook attempts: {', '.join(parts)}", style=style)


async def _print_deliveries(sandbox: Sandbox, console: Console, stop: asyncio.Event) -> None:
    # The sandbox keeps a typed record of every attempt (`Sandbox.deliveries`); reading
    # it shows each one exactly once, whatever its logger is configured to say. A burst
    # is summed up rather than printed line by line, which would hold the event loop
    # (and so the API) for as long as the printing takes.
    shown = 0
    while True:
        deliveries = sandbox.deliveries
        fresh = deliveries[shown:]
        for delivery in fresh[:MAX_LINES_PER_POLL]:
            console.print(delivery_line(delivery))
        if len(fresh) > MAX_LINES_PER_POLL:
            console.print(_more_line(fresh[MAX_LINES_PER_POLL:]))
        shown = len(deliveries)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_INTERVAL)


def _log_to(stream_logger: str, level: int, fmt: str) -> None:
    # The handler's level, not the logger's: uvicorn resets its loggers' levels at start.
    handler = logging.StreamHandler(sys.stdout)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    log = logging.getLogger(stream_logger)
    log.addHandler(handler)
    log.setLevel(min(level, log.getEffectiveLevel()))
    log.propagate = False


async def serve_until(
    stop: asyncio.Event,
    console: Console,
    sandbox: Sandbox,
    host: str,
    port: int,
    workers: Sequence[str] = (),
    tls: TLSFiles | None = None,
) -> int:
    """Serve *sandbox* on *host*:*port* and print its deliveries until *stop* is set.

    Every id in *workers* is made an ACTIVE customer once the server is up. With *tls*
    it serves HTTPS.

    Returns:
        The exit status: 0, or 1 when the server could not start (the port is taken).
    """
    async with sandbox:
        async with contextlib.AsyncExitStack() as stack:
            try:
                url = await stack.enter_async_context(
                    running_server(
                        sandbox,
                        host=host,
                        port=port,
                        log_level="info",
                        tls=tls,
                        shutdown_timeout=SHUTDOWN_TIMEOUT,
                    )
                )
            except RuntimeError as exc:  # e.g. the port is taken
                console.print(Text(f"lean-async sandbox: {exc}", style="bold red"))
                return 1
            await _announce_and_print(stop, console, sandbox, url, workers)
        pending = sandbox.pending_webhooks
        console.print(
            f"Stopped; {pending} webhook deliver{'y was' if pending == 1 else 'ies were'} "
            "still pending (not delivered).",
            markup=False,
        )
    return 0


async def _announce_and_print(
    stop: asyncio.Event,
    console: Console,
    sandbox: Sandbox,
    url: str,
    workers: Sequence[str] = (),
) -> None:
    """Print the banner (making *workers* ACTIVE first), then every delivery attempt
    until *stop* is set."""
    console.print(Text.assemble("Lean sandbox at ", (url, "bold")))
    key = sandbox.api_key
    console.print(Text.assemble("API key: ", (key, "bold"), f"  (curl -u {key}: ...)"))
    if workers:
        count = await add_active_workers(sandbox, workers)
        console.print(
            f"ACTIVE workers: {count} ({', '.join(workers[:3])}{', ...' if count > 3 else ''})",
            markup=False,
        )
    for target in sandbox.webhook_urls:
        console.print(Text.assemble("Forwarding webhooks to ", (target, "bold")))
    if not sandbox.webhook_urls:
        console.print(
            "Register a webhook receiver: --forward-to URL, "
            'or POST /_sandbox/webhooks {"url": ...}',
            markup=False,
        )
    console.print("Ctrl+C to stop.")
    await _print_deliveries(sandbox, console, stop)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--api-key", default=DEFAULT_API_KEY, show_default=True, help="The key the sandbox accepts."
)
@click.option(
    "--approval-delay",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds until a submitted application is approved.",
)
@click.option(
    "--settle-delay",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds until a payment turns SUCCESS.",
)
@click.option(
    "--forward-to",
    multiple=True,
    callback=_forward_urls,
    metavar="URL",
    help="POST every webhook event to this http(s) URL (your app's receiver), signed "
    "with the API key. Repeat for several receivers.",
)
@click.option(
    "--workers-for",
    "workers_for",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Make every partnerUserId of this CSV an ACTIVE worker at start (made-up "
    "details), ready for `lean-async gigs import FILE`. Repeatable.",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve HTTPS with this PEM certificate chain (needs --tls-key).",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    help="The PEM private key of --tls-cert.",
)
@click.option(
    "--tls-client-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="Require client certificates issued by these PEM CA certificates (mutual TLS).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="N",
    help="Answer 429 with Retry-After to API requests above N per second, as a "
    "rate-limited Lean would.",
)
@click.option(
    "--rate-limit-burst",
    type=click.FloatRange(min=1),
    default=None,
    metavar="B",
    help="Requests let through at once after a quiet spell (default: one second's worth).",
)
@click.option(
    "--webhook-concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Webhook deliveries in flight at once per receiver.",
)
def sandbox(
    host: str,
    port: int,
    api_key: str,
    approval_delay: float,
    settle_delay: float,
    forward_to: list[str],
    workers_for: tuple[Path, ...],
    tls_cert: str | None,
    tls_key: str | None,
    tls_client_ca: str | None,
    rate_limit: float | None,
    rate_limit_burst: float | None,
    webhook_concurrency: int,
) -> None:
    """Serve the built-in sandbox over HTTP until interrupted.

    With --forward-to, every webhook event is POSTed to your app, signed with the API
    key, and each delivery attempt (failures and retries above all) is printed. With
    --tls-cert and --tls-key it serves HTTPS; --tls-client-ca also requires client
    certificates.
    --rate-limit N, API requests above N per second are answered 429 with Retry-After.
    """
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if tls_client_ca is not None and tls_cert is None:
        raise click.UsageError("--tls-client-ca needs --tls-cert and --tls-key")
    tls = (
        None if tls_cert is None or tls_key is None else TLSFiles(tls_cert, tls_key, tls_client_ca)
    )
    console = make_console()
    workers = worker_ids(workers_for)
    # Delivery attempts are printed from the sandbox's own record (above); its logger
    # only has errors to add here. uvicorn's access lines show each API request.
    _log_to("lean_async.sandbox", logging.ERROR, "%(asctime)s %(levelname)s %(message)s")
    _log_to("uvicorn.access", logging.INFO, "%(asctime)s %(message)s")
    _log_to("uvicorn.error", logging.WARNING, "%(asctime)s %(levelname)s %(message)s")
    server = Sandbox(
        api_key=api_key,
        approval_delay=approval_delay,
        settle_delay=settle_delay,
        rate_limit=rate_limit,
        rate_limit_burst=rate_limit_burst,
        webhook_max_in_flight=webhook_concurrency,
    )
    for url in forward_to:
        server.register_webhook(url)

    async def until_signalled() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await serve_until(stop, console, server, host, port, workers, tls)

    sys.exit(asyncio.run(until_signalled()))
