"""A rich console that stays readable when its output is piped or captured."""

from __future__ import annotations

from typing import Final

from rich.console import Console
from rich.text import Text

from lean_async import _config

__all__ = ["PIPED_WIDTH", "make_console", "target_line"]

PIPED_WIDTH: Final = 200
"""Width used when stdout is not a terminal, so tables and rows never wrap mid-line."""


def _is_tty(console: Console) -> bool:
    # The file itself, not `Console.is_terminal`: FORCE_COLOR (set by many CI systems)
    # makes rich treat a pipe as a terminal and wrap it at 80 columns.
    try:
        return bool(console.file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def make_console() -> Console:
    """Return a console for the command's output.

    On a terminal it is rich's usual console. When stdout is a pipe or a file (CI logs,
    ``| tee``, ``COLUMNS=80``), rich would wrap at 80 columns and break rows in two;
    there the console is wide and never soft-wraps, so each row stays one line.
    """
    console = Console(highlight=False)
    if _is_tty(console):
        return console
    return Console(highlight=False, width=max(console.width, PIPED_WIDTH), soft_wrap=True)


def target_line(verb: str, environment: _config.Environment, base_url: str) -> Text:
    """Say where money goes: ``Paying in: sandbox (URL)``, production in bold red."""
    if environment is _config.Environment.PRODUCTION:
        return Text.assemble(
            f"{verb}: ", ("PRODUCTION", "bold red"), f" ({base_url}): real money moves"
        )
    return Text(f"{verb}: {environment} ({base_url})")
