"""The built wheel works in a user's fresh project, as the README says it does.

One wheel and one fresh virtualenv per test session: the wheel is installed without
extras (not editable) beside pytest and pytest-asyncio, and the README's testing example
runs there verbatim. Needs PyPI or a warm pip cache; select alone with ``-m packaging``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from sybil import Document

from lean_async import __version__
from tests.doc_blocks import ROOT, Block, blocks_of

pytestmark = pytest.mark.packaging

README = ROOT / "README.md"
TESTING_GUIDE = ROOT / "docs" / "testing.md"
PIP_TIMEOUT = 600.0
RUN_TIMEOUT = 120.0
EXTRAS = {"cli", "fastapi", "aiohttp", "redis", "temporal", "otel"}


def _run(args: Sequence[str | Path], *, cwd: Path, timeout: float) -> str:
    """Run *args* outside this test session's environment; return stdout or fail."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEAN_", "PYTEST_", "COVERAGE_"))
        and k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lean-async built as a wheel, as ``pip wheel . --no-deps`` builds it."""
    out = tmp_path_factory.mktemp("dist")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run([*pip, "wheel", ROOT, "--no-deps", "-w", out], cwd=out, timeout=PIP_TIMEOUT)
    [built] = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def fresh_python(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """The interpreter of a new virtualenv holding the wheel, pytest and pytest-asyncio."""
    home = tmp_path_factory.mktemp("fresh-venv")
    venv.create(home, with_pip=False)  # this session's pip installs into it (--python)
    python = home / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run(
        [*pip, "--python", python, "install", wheel, "pytest", "pytest-asyncio"],
        cwd=home,
        timeout=PIP_TIMEOUT,
    )
    return python


def _metadata(wheel: Path) -> tuple[str, set[str]]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        return archive.read(metadata).decode(), names


def test_wheel_declares_the_license_and_ships_its_text(wheel: Path) -> None:
    """The wheel says MIT and carries the LICENSE file."""
    metadata, names = _metadata(wheel)
    assert "License-Expression: MIT" in metadata.splitlines()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_wheel_publishes_only_user_facing_extras(wheel: Path) -> None:
    """Development tools are a dependency group, not an extra a user could install."""
    metadata, _ = _metadata(wheel)
    extras = {
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Provides-Extra:")
    }
    assert extras == EXTRAS


def test_wheel_ships_types_and_entry_points(wheel: Path) -> None:
    """py.typed, the `lean-async` command and the pytest plugin are in the wheel."""
    _, names = _metadata(wheel)
    assert "lean_async/py.typed" in names
    with zipfile.ZipFile(wheel) as archive:
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "lean-async = lean_async.cli:main" in text
    assert "lean_async = lean_async.sandbox.pytest_plugin" in text


def test_readme_names_the_wheel_that_is_built(wheel: Path) -> None:
    """The install instructions name the wheel file a build of this version produces."""
    assert wheel.name == f"lean_async-{__version__}-py3-none-any.whl"
    assert f"dist/{wheel.name}" in README.read_text(encoding="utf-8")


def test_core_install_needs_no_extra_and_names_missing_ones(
    fresh_python: Path, tmp_path: Path
) -> None:
    """Without extras the client and sandbox import; an integration names its extra."""
    script = (
        "import lean_async, lean_async.sandbox, lean_async.testing\n"
        "try:\n"
        "    import lean_async.webhooks.fastapi\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = _run([fresh_python, "-W", "error", "-c", script], cwd=tmp_path, timeout=RUN_TIMEOUT)
    assert "pip install 'lean-async[fastapi]'" in out


def _marked(marker: str) -> list[Block]:
    document = Document(TESTING_GUIDE.read_text(encoding="utf-8"), str(TESTING_GUIDE))
    return [block for _, block in blocks_of(document) if block.marker == marker]


def test_readme_test_passes_verbatim_in_a_fresh_project(fresh_python: Path, tmp_path: Path) -> None:
    """The testing guide's example passes in a new project under the guide's settings."""
    [test] = _marked("test: fresh-project")
    [config] = _marked("test: fresh-project-config")
    (tmp_path / "pyproject.toml").write_text(config.code, encoding="utf-8")
    (tmp_path / "test_payouts.py").write_text(test.code, encoding="utf-8")
    out = _run(
        [fresh_python, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        timeout=RUN_TIMEOUT,
    )
    assert "1 passed" in out
