"""``lean-async demo``: the whole payout flow, against the built-in sandbox by default.

Only ``--base-url`` sends the demo elsewhere; ``$LEAN_BASE_URL``, ``$LEAN_ENVIRONMENT``
and ``$LEAN_API_KEY`` never do, and production is refused (see `_target`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lean_async import _config
from lean_async._client import LeanClient
from lean_async._secrets import Secret, take_api_key, take_webhook_keys
from lean_async.cli._console import make_console
from lean_async.cli._demo import Arrival, StepResult, Tally, WebhookReceiver, run_demo
from lean_async.cli._otel_console import SDK_MISSING, install_console_telemetry
from lean_async.cli._progress import ImportProgress
from lean_async.cli._target import UnsafeTargetError, check_demo_url
from lean_async.errors import LeanError
from lean_async.sandbox import DEFAULT_API_KEY, Sandbox

__all__ = ["demo"]

_MARKS = {True: ("ok", "green"), False: ("FAILED", "bold red"), None: ("skipped", "yellow")}
_INDENT = " " * 10
_IGNORED_ENV = (_config.ENV_API_KEY, _config.ENV_BASE_URL, _config.ENV_ENVIRONMENT)


def _base_url_option(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_demo_url(value)
    except UnsafeTargetError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option(
    "--base-url",
    default=None,
    callback=_base_url_option,
    help="Run against this Lean environment (e.g. staging) instead of the built-in "
    "sandbox. Production is always refused. $LEAN_BASE_URL is ignored.",
)
@click.option(
    "--api-key",
    default=None,
    help="API key for --base-url (default $LEAN_API_KEY). Only with --base-url.",
)
@click.option(
    "--otel-console",
    is_flag=True,
    help="Print the OpenTelemetry spans as they end and the metrics at the end "
    "(needs opentelemetry-sdk).",
)
def demo(base_url: str | None, api_key: str | None, otel_console: bool) -> None:
    """Run the whole payout flow and print each step, its timing and the tally.

    Runs against the built-in sandbox, in this process: nothing leaves the machine
    except webhooks to a receiver on 127.0.0.1. Exits non-zero if any step failed.
    """
    if base_url is None and api_key is not None:
        raise click.UsageError("--api-key goes with --base-url; the built-in sandbox has its own")
    key: Secret[str] | None = None
    if base_url is not None:
        key, problem = take_api_key(api_key or None, os.environ.get(_config.ENV_API_KEY))
        if key is None:
            del api_key
            raise click.UsageError(
                f"--base-url needs a key ({problem}): --api-key or ${_config.ENV_API_KEY}"
            )
    del api_key  # an error passing through this frame finds only the redacting holder
    shutdown_telemetry: Callable[[], None] | None = _console_telemetry() if otel_console else None
    console = make_console()
    try:
        ok = asyncio.run(_demo(console, base_url, key))
    except LeanError as exc:  # e.g. plain http to a remote host: say why, no traceback
        raise click.ClickException(str(exc)) from None
    finally:
        if shutdown_telemetry is not None:
            shutdown_telemetry()  # prints the metrics
    sys.exit(0 if ok else 1)


def _console_telemetry() -> Callable[[], None]:
    """Set the console SDK providers before anything runs; exit 1 without the SDK."""
    try:
        return install_console_telemetry(sys.stdout)
    except ImportError:
        raise click.ClickException(SDK_MISSING) from None


def _step_line(step: StepResult) -> Text:
    label, style = _MARKS[step.ok]
    return Text.assemble(
        (f"  {label:<8}", style), f"{step.name:<34} ", f"{step.seconds * 1000:6.0f} ms"
    )


def _arrival_line(arrival: Arrival) -> Text:
    what = f"{arrival.event_type} {arrival.event_id}" if arrival.event_type else "a delivery"
    verdict = arrival.outcome + (f" ({arrival.reason})" if arrival.reason else "")
    style = "red" if arrival.status_code >= 400 else "cyan"
    return Text(f"{_INDENT}webhook in: {what} -> {arrival.status_code} {verdict}", style=style)


async def _demo(console: Console, base_url: str | None, api_key: Secret[str] | None) -> bool:
    started = time.perf_counter()

    def report(step: StepResult) -> None:
        console.print(_step_line(step))
        console.print(Text(_INDENT + step.detail, style="dim"))

    def show(arrival: Arrival) -> None:
        console.print(_arrival_line(arrival))

    console.print(Text("lean-async demo", style="bold"))
    if base_url is None:
        ignored = [name for name in _IGNORED_ENV if os.environ.get(name)]
        key = DEFAULT_API_KEY
        sandbox = Sandbox(api_key=key, approval_delay=1.0, settle_delay=0.5)
        async with (
            WebhookReceiver(key, on_arrival=show) as receiver,
            sandbox,
            LeanClient(
                api_key=key,
                environment=_config.Environment.SANDBOX,
                base_url=sandbox.base_url,
                transport=sandbox.transport(),
                backoff_base=0.1,
            ) as lean,
        ):
            sandbox.register_webhook(receiver.url)
            console.print(
                f"Target:   the built-in sandbox, in this process ({lean.base_url}); "
                "no API request leaves this machine"
            )
            console.print(f"Webhooks: {receiver.url} (lean_async.webhooks.aiohttp)")
            if ignored:
                console.print(
                    f"Ignored:  ${', $'.join(ignored)} (only --base-url changes the target)"
                )
            console.print()
            results, tally = await run_demo(
                lean,
                sandbox,
                key,
                report,
                receiver=receiver,
                payroll_progress=lambda total, label: ImportProgress(console, total, label),
            )
    else:
        async with LeanClient(
            api_key=api_key, environment=_config.Environment.SANDBOX, base_url=base_url
        ) as lean:
            console.print(f"Target:   {lean.base_url} (from --base-url)")
            console.print("Webhooks: not received (they would go to the URL registered there)\n")
            keys = "" if api_key is None else take_webhook_keys(api_key.get_secret_value())[0]
            results, tally = await run_demo(lean, None, keys or "", report)
    console.print()
    console.print(_tally_table(tally))
    failed = [r for r in results if r.ok is False]
    elapsed = time.perf_counter() - started
    if failed:
        console.print(Text(f"{len(failed)} step(s) failed in {elapsed:.1f} s", style="bold red"))
        return False
    console.print(
        Text(f"All steps passed in {elapsed:.1f} s: nobody was paid twice.", style="bold green")
    )
    return True


def _tally_table(tally: Tally) -> Table:
    table = Table(title="What was paid")
    table.add_column("kind")
    table.add_column("id", overflow="fold")
    table.add_column("amount", justify="right")
    table.add_column("status")
    table.add_column("paid by this run")
    for row in tally.rows:
        by_run = {True: "yes", False: "no, already there", None: "?"}[row.created]
        table.add_row(row.kind, row.id, f"{row.amount:.2f}", row.status, by_run)
    workers = ", ".join(tally.workers) or "nobody"
    table.add_section()
    table.add_row(
        "payouts", f"{_count(tally.payouts, 'payout')} to {workers}", f"{tally.paid_out:.2f}", ""
    )
    table.add_row("deductions", _count(tally.deductions, "deduction"), f"{tally.deducted:.2f}", "")
    table.add_row("net", "what the workers received", f"{tally.net:.2f}", "")
    table.add_row(
        "this run",
        f"paid {len(tally.paid_here)}, found {len(tally.already_there)} already there",
        "",
        "",
    )
    return table


def _count(rows: tuple[object, ...], noun: str) -> str:
    return f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}"
