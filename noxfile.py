"""The fast unit tests on every supported Python: ``nox`` (or ``nox -s units-3.13``).

One session per version in `PYTHONS`, each in a virtualenv of its own with every extra
and the ``dev`` group. `make test` runs the whole suite on 3.11; these sessions run the
unit subset, `UNIT_TESTS`, which needs no server but loopback ones the tests start
themselves and takes a few minutes. ``.ci/run`` runs the 3.12 and 3.13 sessions.

Interpreters are looked for on ``PATH`` and then under pyenv
(``$PYENV_ROOT/versions/X.Y.*/bin``), whose shims answer "command not found" for a
version that is installed but not selected; a directory holding a working ``pythonX.Y``
is put first on ``PATH`` before nox looks. A version found nowhere fails its session
(it is never skipped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

PYTHONS = ("3.11", "3.12", "3.13")
EXTRAS = "cli,fastapi,aiohttp,redis,temporal,otel"
UNIT_TESTS = (
    "tests/transport",
    "tests/resources",
    "tests/telemetry",
    "tests/sandbox",
    "tests/webhooks",
    "tests/test_client.py",
    "tests/test_config.py",
    "tests/test_convert.py",
    "tests/test_errors.py",
    "tests/test_exported_members.py",
    "tests/test_models.py",
    "tests/test_request.py",
    "tests/test_secret_holders.py",
    "tests/test_secrets.py",
    "tests/test_testing.py",
    "tests/test_validate.py",
    "tests/test_validate_declarations.py",
    "tests/test_validate_fast_body.py",
    "tests/test_validate_limits.py",
    "tests/test_wait.py",
)

nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["units"]
nox.options.default_venv_backend = "venv"


def _works(python: str) -> bool:
    try:
        done = subprocess.run(  # noqa: S603 - an interpreter path we found ourselves
            [python, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0


def _pyenv_candidates(version: str) -> list[Path]:
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    return sorted(root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)


def find_interpreter(version: str) -> Path | None:
    """Return a working ``python<version>``: on PATH first, else the newest pyenv one."""
    on_path = shutil.which(f"python{version}")
    if on_path is not None and _works(on_path):
        return Path(on_path)
    for candidate in _pyenv_candidates(version):
        if _works(str(candidate)):
            return candidate
    return None


def _put_interpreters_on_path() -> None:
    for version in PYTHONS:
        found = find_interpreter(version)
        if found is not None:
            os.environ["PATH"] = f"{found.parent}{os.pathsep}{os.environ.get('PATH', '')}"


_put_interpreters_on_path()


@nox.session(python=list(PYTHONS))
def units(session: nox.Session) -> None:
    """Run the unit subset on one Python version (extra pytest arguments pass through)."""
    session.install("--upgrade", "pip>=25.1")
    session.install("-e", f".[{EXTRAS}]", "--group", "dev")
    session.run(
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *(session.posargs or UNIT_TESTS),
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
