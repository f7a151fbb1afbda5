"""README.md's examples run in the tests, so they stay true (markers: tests/readme_blocks.py)."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lean_async.sandbox import Sandbox, running_server
from tests.readme_blocks import MARKERS, README, Block, marked, read_blocks

BLOCKS = read_blocks()
PYTHON_BLOCKS = [b for b in BLOCKS if b.lang == "python"]
RUN_BLOCKS = [b for b in BLOCKS if b.marker in {"run: script", "run: sandbox"}]
RUN_TIMEOUT = 60.0
# Runs a block as a script; an ASGI `app` it defines (FastAPI, Starlette) then has its
# lifespan started and stopped, so a shared client is really opened and closed.
RUN_HARNESS = """
import asyncio, runpy, sys
app = runpy.run_path(sys.argv[1], run_name="__main__").get("app")
lifespan = getattr(getattr(app, "router", None), "lifespan_context", None)
if lifespan is not None:
    async def start_and_stop():
        async with lifespan(app):
            pass
    asyncio.run(start_and_stop())
"""
ROOT = README.parent


def _ids(blocks: list[Block]) -> list[str]:
    return [b.name for b in blocks]


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without LEAN_* variables, plus *extra*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    env.update(extra)
    return env


def _output_of(block: Block) -> Block | None:
    """The ``<!-- output -->`` block after *block* and before the next Python block."""
    for later in BLOCKS[BLOCKS.index(block) + 1 :]:
        if later.lang == "python":
            return None
        if later.marker == "output":
            return later
    return None


def test_every_marker_is_known() -> None:
    """A misspelt marker fails here instead of silently leaving its block untested."""
    assert {b.marker for b in BLOCKS if b.marker is not None} <= MARKERS
    for comment in re.findall(r"<!--(.*?)-->", README.read_text(encoding="utf-8")):
        assert comment.strip() in MARKERS


def test_markers_sit_on_the_right_blocks() -> None:
    """Run blocks are Python, outputs follow a run block, and each test marker is used once."""
    for block in BLOCKS:
        if block.marker in {"run: script", "run: sandbox", "test: fresh-project"}:
            assert block.lang == "python", block.name
    outputs = [b for b in BLOCKS if b.marker == "output"]
    assert outputs == [o for o in map(_output_of, RUN_BLOCKS) if o is not None]
    assert len(marked("test: fresh-project", BLOCKS)) == 1
    assert len(marked("test: fresh-project-config", BLOCKS)) == 1


def test_the_first_payout_runs_in_the_tests() -> None:
    """The opening example is executed against a sandbox server and its output checked."""
    [first] = [b for b in PYTHON_BLOCKS if b.section == "A first payout"]
    assert first.marker == "run: sandbox"
    assert _output_of(first) is not None


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_ids(PYTHON_BLOCKS))
def test_python_block_compiles_and_its_imports_resolve(block: Block) -> None:
    """Every Python block is valid Python (top-level await allowed) naming real modules."""
    tree = compile(
        block.code, block.name, "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    imports: list[ast.stmt] = [
        n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    module = ast.Module(body=imports, type_ignores=[])
    exec(compile(module, block.name, "exec"), {})  # noqa: S102 - the README's own imports


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=_ids(RUN_BLOCKS))
async def test_run_block_runs(block: Block, tmp_path: Path) -> None:
    """A runnable block exits 0, silently on stderr, printing its stated output.

    An ASGI ``app`` the block defines also starts and stops its lifespan.
    """
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    async with Sandbox(approval_delay=0.1) as sandbox, running_server(sandbox) as base_url:
        env = _clean_env()
        if block.marker == "run: sandbox":
            env |= {"LEAN_API_KEY": sandbox.api_key, "LEAN_BASE_URL": base_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            "-c",
            RUN_HARNESS,
            str(script),
            cwd=tmp_path,
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
    assert (process.returncode, err.decode()) == (0, "")
    expected = _output_of(block)
    if expected is not None:
        assert out.decode() == expected.code


def test_fresh_project_block_passes(tmp_path: Path) -> None:
    """The testing section's test passes verbatim under its stated pytest settings."""
    [test] = marked("test: fresh-project", BLOCKS)
    [config] = marked("test: fresh-project-config", BLOCKS)
    (tmp_path / "pyproject.toml").write_text(config.code, encoding="utf-8")
    (tmp_path / "test_readme_example.py").write_text(test.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_files_the_readme_names_exist() -> None:
    """Every repository path the README names in backticks exists."""
    text = README.read_text(encoding="utf-8")
    paths = {
        token
        for token in re.findall(r"`([^`\s]+)`", text)
        if re.fullmatch(r"[\w.-]+/[\w./-]*\w|LICENSE|[\w-]+\.(?:py|md|toml)", token)
    }
    paths -= {"first_payout.py"}  # the file the reader creates
    assert "examples/fastapi_app.py" in paths  # the pattern finds paths at all
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == []
