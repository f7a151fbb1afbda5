"""The ``lean-async`` command.

``demo`` runs the payout flow, ``sandbox`` serves the sandbox, ``gigs import`` and
``special-payments import`` pay a payroll from a CSV file (``--temporal`` hands it to
``worker`` processes as a durable Temporal batch).

Needs the ``cli`` extra (``pip install 'lean-async[cli]'``): click, rich, uvicorn and
aiohttp.
"""

from __future__ import annotations

try:
    import click
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise SystemExit(
        "lean-async's command line needs its extra: pip install 'lean-async[cli]'"
    ) from exc

from lean_async._payroll import GIGS, SPECIAL_PAYMENTS
from lean_async._version import __version__
from lean_async.cli._demo_command import demo
from lean_async.cli._import_command import import_command
from lean_async.cli._sandbox_command import sandbox
from lean_async.cli._worker_command import worker

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="lean-async")
def main() -> None:
    """lean-async: the asyncio SDK for the Lean payouts API."""


@click.group()
def gigs() -> None:
    """Pay gigs in bulk."""


@click.group("special-payments")
def special_payments() -> None:
    """Send special payments in bulk."""


gigs.add_command(import_command(GIGS))
special_payments.add_command(import_command(SPECIAL_PAYMENTS))

main.add_command(demo)
main.add_command(sandbox)
main.add_command(gigs)
main.add_command(special_payments)
main.add_command(worker)


if __name__ == "__main__":  # pragma: no cover
    main()
