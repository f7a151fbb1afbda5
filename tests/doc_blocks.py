"""The fenced blocks of README.md and docs/*.md, run as tests through Sybil.

The top-level ``conftest.py`` hands `SYBIL` to pytest, which collects each marked or
``python`` block of those files as one test, in file order. A marker is an HTML comment
(invisible once rendered) on the last non-blank line before a fence, e.g.
``<!-- run: sandbox -->``. The markers, and what the tests do with them:

- ``run: script``: a self-contained script; run as it is, it must exit 0.
- ``run: sandbox``: a script run with ``LEAN_API_KEY`` and ``LEAN_BASE_URL`` pointing at
  a sandbox server on 127.0.0.1, as a user would run it against ``lean-async sandbox``.
- ``output``: the exact standard output of the run block just before it.
- ``test: fresh-project-config``: a project's ``pyproject.toml``, verbatim.
- ``test: fresh-project``: a pytest module, run verbatim in a project of its own under
  the config block before it.

Every ``python`` block is compiled (top-level ``await`` allowed) and its imports are
executed, marked or not; run blocks print nothing on stderr, and an ASGI ``app`` they
define has its lifespan started and stopped.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

import attrs
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

from lean_async.sandbox import Sandbox, running_server

__all__ = ["DOC_FILES", "MARKERS", "ROOT", "SYBIL", "Block", "blocks_of"]

ROOT: Final = Path(__file__).resolve().parent.parent
MARKERS: Final = frozenset(
    {"run: script", "run: sandbox", "output", "test: fresh-project", "test: fresh-project-config"}
)
RUN_MARKERS: Final = frozenset({"run: script", "run: sandbox"})
RUN_TIMEOUT: Final = 60.0
# Runs a block as a script; an ASGI `app` it defines (FastAPI, Starlette) then has its
# lifespan started and stopped, so a shared client is really opened and closed.
RUN_HARNESS: Final = """
import asyncio, runpy, sys
app = runpy.run_path(sys.argv[1], run_name="__main__").get("app")
lifespan = getattr(getattr(app, "router", None), "lifespan_context", None)
if lifespan is not None:
    async def start_and_stop():
        async with lifespan(app):
            pass
    asyncio.run(start_and_stop())
"""
_OUTPUT_KEY: Final = "lean_docs_last_output"
_CONFIG_KEY: Final = "lean_docs_fresh_project_config"
_MARKER: Final = re.compile(r"<!--\s*(.*?)\s*-->")
_FENCES: Final = FencedCodeBlockLexer(language=r"[\w-]*")


def doc_files() -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


DOC_FILES: Final = doc_files()


@attrs.frozen(kw_only=True)
class Block:
    """One fenced block: its language, code, marker and where it is."""

    lang: str
    code: str
    marker: str | None
    path: Path
    line: int  # 1-based line of the opening fence

    @property
    def name(self) -> str:
        """A short id for messages: ``docs/webhooks.md:120``."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _marker_before(text: str, start: int) -> str | None:
    lines = text[:start].rstrip().splitlines()
    found = _MARKER.fullmatch(lines[-1].strip()) if lines else None
    return found.group(1) if found else None


def blocks_of(document: Document) -> Iterable[tuple[Region, Block]]:
    """Yield every fenced block of *document* with the region Sybil lexed it from."""
    for region in _FENCES(document):
        block = Block(
            lang=str(region.lexemes["language"]),
            code=str(region.lexemes["source"]),
            marker=_marker_before(document.text, region.start),
            path=Path(document.path),
            line=document.text.count("\n", 0, region.start) + 1,
        )
        yield region, block


def _check_imports(block: Block) -> None:
    tree = compile(
        block.code, block.name, "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    imports: list[ast.stmt] = [
        n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    module = ast.Module(body=imports, type_ignores=[])
    exec(compile(module, block.name, "exec"), {})  # noqa: S102 - the page's own imports


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without LEAN_* variables, plus *extra*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    env.update(extra)
    return env


async def _run(block: Block, workdir: Path) -> str:
    if block.marker != "run: sandbox":
        return await _run_script(block, workdir, _clean_env())
    async with Sandbox(approval_delay=0.1) as sandbox, running_server(sandbox) as base_url:
        env = _clean_env(LEAN_API_KEY=sandbox.api_key, LEAN_BASE_URL=base_url)
        return await _run_script(block, workdir, env)


async def _run_script(block: Block, workdir: Path, env: dict[str, str]) -> str:
    script = workdir / "example.py"
    script.write_text(block.code, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-c",
        RUN_HARNESS,
        str(script),
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert (process.returncode, err.decode()) == (0, ""), block.name
    return out.decode()


def _evaluate_python(example: Example) -> None:
    block: Block = example.parsed
    _check_imports(block)
    example.namespace.pop(_OUTPUT_KEY, None)  # an output block belongs to the run just before
    if block.marker in RUN_MARKERS:
        workdir: Path = example.namespace["tmp_path"]
        example.namespace[_OUTPUT_KEY] = asyncio.run(_run(block, workdir))
    elif block.marker == "test: fresh-project":
        _run_fresh_project(block, example.namespace)


def _evaluate_output(example: Example) -> None:
    block: Block = example.parsed
    printed = example.namespace.pop(_OUTPUT_KEY, None)
    assert printed is not None, f"{block.name}: an output block must follow a run block"
    assert printed == block.code


def _remember_config(example: Example) -> None:
    example.namespace[_CONFIG_KEY] = example.parsed.code


def _run_fresh_project(block: Block, namespace: dict[str, Any]) -> None:
    config = namespace.get(_CONFIG_KEY)
    assert config is not None, f"{block.name}: the fresh-project config block comes first"
    project: Path = namespace["tmp_path"]
    (project / "pyproject.toml").write_text(config, encoding="utf-8")
    (project / "test_docs_example.py").write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=project,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def _evaluator(block: Block) -> Callable[[Example], None] | None:
    if block.marker is not None and block.marker not in MARKERS:
        raise ValueError(f"{block.name}: unknown marker {block.marker!r}")
    if block.marker == "output":
        return _evaluate_output
    if block.marker == "test: fresh-project-config":
        return _remember_config
    if block.lang == "python":
        return _evaluate_python
    if block.marker is not None:
        raise ValueError(f"{block.name}: {block.marker!r} marks a python block, not {block.lang!r}")
    return None


def parse_blocks(document: Document) -> Iterable[Region]:
    """The Sybil parser: one region per python or marked block of *document*."""
    for region, block in blocks_of(document):
        evaluator = _evaluator(block)
        if evaluator is not None:
            yield Region(region.start, region.end, parsed=block, evaluator=evaluator)


SYBIL: Final = Sybil(
    parsers=[parse_blocks],
    path=str(ROOT),
    patterns=["README.md", "docs/*.md", "docs/**/*.md"],
    fixtures=["tmp_path"],
    name="docs",
)
