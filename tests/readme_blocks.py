"""The fenced code blocks of README.md and the markers that say how the tests use them.

A marker is an HTML comment (invisible on GitHub) on the last non-blank line before a
fence, e.g. ``<!-- run: sandbox -->``. The markers, and what the tests do with them:

- ``run: script``: a self-contained script; run as it is, it must exit 0.
- ``run: sandbox``: a script run with ``LEAN_API_KEY`` and ``LEAN_BASE_URL`` pointing at
  a sandbox server on 127.0.0.1, as a user would run it against ``lean-async sandbox``.
- ``output``: the exact standard output of the run block just before it.
- ``test: fresh-project``: a pytest module, run verbatim in a project of its own.
- ``test: fresh-project-config``: that project's ``pyproject.toml``, verbatim.

Every ``python`` block is compiled and its imports are executed, marked or not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import attrs

__all__ = ["MARKERS", "README", "Block", "marked", "read_blocks"]

README: Final = Path(__file__).resolve().parent.parent / "README.md"

MARKERS: Final = frozenset(
    {"run: script", "run: sandbox", "output", "test: fresh-project", "test: fresh-project-config"}
)

_FENCE: Final = re.compile(r"^```(\S*)\s*$")
_MARKER: Final = re.compile(r"^<!--\s*(.*?)\s*-->$")


@attrs.frozen(kw_only=True)
class Block:
    """One fenced block of the README."""

    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    marker: str | None
    section: str  # the nearest heading above it

    @property
    def name(self) -> str:
        """A short id for test reports: ``README.md:57``."""
        return f"README.md:{self.line}"


def read_blocks(path: Path = README) -> list[Block]:
    """Return every fenced block of *path*, in order.

    Raises:
        ValueError: a fence is never closed.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    section = ""
    previous = ""  # the last non-blank line outside a block
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            if line.strip():
                previous = line.strip()
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{path.name}:{index + 1}: the fence is never closed")
        marker = _MARKER.match(previous)
        blocks.append(
            Block(
                lang=fence.group(1),
                code="\n".join(lines[index + 1 : end]) + "\n",
                line=index + 1,
                marker=marker.group(1) if marker else None,
                section=section,
            )
        )
        previous = ""
        index = end + 1
    return blocks


def marked(marker: str, blocks: list[Block] | None = None) -> list[Block]:
    """Return the blocks carrying *marker*."""
    return [b for b in (read_blocks() if blocks is None else blocks) if b.marker == marker]
