"""The pytest plugin as a user's fresh project sees it: each asyncio mode, and no pytest-asyncio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

README_EXAMPLE = Path(__file__).parent / "e2e" / "test_readme_testing_example.py"

# Runs pytest as if pytest-asyncio were not installed: its import fails, its plugin is off.
NO_PYTEST_ASYNCIO = """
import sys

import pytest


class _Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pytest_asyncio":
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, _Uninstalled())
raise SystemExit(pytest.main(["-p", "no:asyncio"]))
"""


def _project(tmp_path: Path, ini: str, tests: dict[str, str]) -> Path:
    """Write a fresh project: a pyproject with *ini* under [tool.pytest.ini_options]."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'addopts = "-q -p no:cacheprovider -p no:randomly"\n'
        'filterwarnings = ["error"]\n' + ini,
        encoding="utf-8",
    )
    for name, text in tests.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest (or a Python snippet) in *project* with a clean environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAN_", "PYTEST_"))}
    command = [sys.executable, *args] if args else [sys.executable, "-m", "pytest"]
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False
    )


UNMARKED = "async def test_unmarked(lean_client):\n    assert lean_client is not None\n"


def test_readme_example_passes_in_auto_mode(tmp_path: Path) -> None:
    """The README's testing example passes verbatim in a fresh project in auto mode."""
    ini = 'asyncio_mode = "auto"\nasyncio_default_fixture_loop_scope = "function"\n'
    project = _project(tmp_path, ini, {"test_pay.py": README_EXAMPLE.read_text("utf-8")})
    result = _run(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_strict_mode_runs_marked_tests_and_explains_unmarked_ones(tmp_path: Path) -> None:
    """In strict mode the README example passes; an unmarked test fails naming the fix."""
    ini = 'asyncio_mode = "strict"\nasyncio_default_fixture_loop_scope = "function"\n'
    tests = {"test_pay.py": README_EXAMPLE.read_text("utf-8"), "test_unmarked.py": UNMARKED}
    result = _run(_project(tmp_path, ini, tests))
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "ERROR test_unmarked.py::test_unmarked" in result.stdout
    assert "mark it @pytest.mark.asyncio" in result.stdout


def test_without_pytest_asyncio_the_fixtures_fail_loudly(tmp_path: Path) -> None:
    """Without pytest-asyncio a test asking for the fixtures fails saying to install it.

    A test that does not use them still passes.
    """
    tests = {
        "test_async.py": "async def test_async(lean_client):\n    pass\n",
        "test_sync.py": "def test_sync(lean_sandbox):\n    pass\n",
        "test_plain.py": "def test_plain():\n    assert True\n",
    }
    result = _run(_project(tmp_path, "", tests), "-c", NO_PYTEST_ASYNCIO)
    assert "1 passed, 2 errors" in result.stdout, result.stdout + result.stderr
    message = "lean-async's fixtures need pytest-asyncio: pip install pytest-asyncio"
    assert result.stdout.count(message) >= 2
