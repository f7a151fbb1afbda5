"""The ``lean-async`` command: ``demo`` runs the payout flow, ``sandbox`` serves the sandbox.

Needs the ``cli`` extra (``pip install 'lean-async[cli]'``): click, rich and uvicorn.
"""

from __future__ import annotations

import asyncio
import sys
import time
from decimal import Decimal
from typing import Any

try:
    import click
    from rich.console import Console
    from rich.table import Table
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise SystemExit(
        "lean-async's command line needs its extra: pip install 'lean-async[cli]'"
    ) from exc

from lean_async import _config
from lean_async._client import LeanClient
from lean_async._demo import Payout, StepResult, run_demo
from lean_async._version import __version__
from lean_async.sandbox import DEFAULT_API_KEY, Sandbox, serve

__all__ = ["main"]

_MARKS = {True: "[green]ok[/]", False: "[bold red]FAILED[/]", None: "[yellow]skipped[/]"}


@click.group()
@click.version_option(__version__, prog_name="lean-async")
def main() -> None:
    """lean-async: the asyncio SDK for the Lean payouts API."""


@main.command()
@click.option(
    "--base-url",
    envvar=_config.ENV_BASE_URL,
    default=None,
    help="Run against this Lean environment instead of the built-in sandbox.",
)
@click.option(
    "--api-key",
    envvar=_config.ENV_API_KEY,
    default=None,
    help="API key of that environment (default $LEAN_API_KEY).",
)
def demo(base_url: str | None, api_key: str | None) -> None:
    """Run the whole payout flow and print each step, its timing and the tally.

    Without --base-url or $LEAN_API_KEY it runs against the built-in sandbox, with
    webhooks and injected faults; exits non-zero if any step failed.
    """
    console = Console(highlight=False)
    ok = asyncio.run(_demo(console, base_url, api_key))
    sys.exit(0 if ok else 1)


async def _demo(console: Console, base_url: str | None, api_key: str | None) -> bool:
    started = time.perf_counter()

    def report(step: StepResult) -> None:
        console.print(
            f"{_MARKS[step.ok]:<22} {step.name:<34} {step.seconds * 1000:6.0f} ms", no_wrap=True
        )
        console.print(f"         [dim]{step.detail}[/]", overflow="fold")

    if base_url is None and api_key is None:
        console.print("[bold]lean-async demo[/] against the built-in sandbox (in-process)\n")
        key = DEFAULT_API_KEY
        sandbox = Sandbox(api_key=key, approval_delay=1.0, settle_delay=0.5)
        async with (
            sandbox,
            LeanClient(
                api_key=key,
                base_url=sandbox.base_url,
                transport=sandbox.transport(),
                backoff_base=0.1,
            ) as lean,
        ):
            results, payouts = await run_demo(lean, sandbox, key, report)
    else:
        target = base_url or "the environment in $LEAN_ENVIRONMENT"
        console.print(f"[bold]lean-async demo[/] against {target}\n")
        async with LeanClient(api_key=api_key, base_url=base_url) as lean:
            results, payouts = await run_demo(lean, None, api_key or "", report)
    console.print()
    console.print(_tally_table(payouts))
    failed = [r for r in results if r.ok is False]
    elapsed = time.perf_counter() - started
    if failed:
        console.print(f"[bold red]{len(failed)} step(s) failed[/] in {elapsed:.1f} s")
        return False
    console.print(f"[bold green]All steps passed[/] in {elapsed:.1f} s: nobody was paid twice.")
    return True


def _tally_table(payouts: list[Payout]) -> Table:
    table = Table(title="What was paid")
    table.add_column("kind")
    table.add_column("id", overflow="fold")
    table.add_column("amount", justify="right")
    table.add_column("status")
    for p in payouts:
        table.add_row(p.kind, p.id, f"{p.amount:.2f}", p.status)
    total = sum((p.amount for p in payouts), Decimal(0))
    table.add_section()
    table.add_row("total", f"{len(payouts)} payouts to {_workers(payouts)}", f"{total:.2f}", "")
    return table


def _workers(payouts: list[Payout]) -> str:
    workers = sorted({p.partner_user_id for p in payouts})
    return ", ".join(workers) if workers else "nobody"


@main.command()
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
def sandbox(host: str, port: int, api_key: str, approval_delay: float, settle_delay: float) -> None:
    """Serve the built-in sandbox over HTTP until interrupted."""
    console = Console(highlight=False)
    shown_host = f"[{host}]" if ":" in host else host
    console.print(f"Lean sandbox at [bold]http://{shown_host}:{port}/api[/]")
    console.print(f"API key: [bold]{api_key}[/]  (curl -u {api_key}: ...)")
    console.print('Register a webhook receiver: POST /_sandbox/webhooks {"url": ...}')
    options: dict[str, Any] = {"approval_delay": approval_delay, "settle_delay": settle_delay}
    serve(host, port, api_key=api_key, **options)


if __name__ == "__main__":  # pragma: no cover
    main()
