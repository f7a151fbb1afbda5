"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lean_async._config import BACKENDS, Backend

# What LeanClient(trust_env=True) reads besides LEAN_*: a machine's proxy or CA settings
# must not change what a test on 127.0.0.1 does.
_NETWORK_ENV = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file", "ssl_cert_dir"}
)


@pytest.fixture(autouse=True)
def _clear_lean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's LEAN_*, proxy and CA variables out of every test."""
    for name in list(os.environ):
        if name.startswith("LEAN_") or name.lower() in _NETWORK_ENV:
            monkeypatch.delenv(name)


# The test files whose child processes run lean-async code that runs nowhere else (the
# command line, `serve()`, the paths taken when an optional dependency is missing): under
# coverage (`make pytest`) those children are measured too. Every other child (shared
# servers, load generators, the packaging test's fresh virtualenv) runs unmeasured.
MEASURED_CHILDREN = frozenset(
    {
        "test_cli.py",
        "test_cli_from_zero.py",
        "test_cli_import.py",
        "test_cli_sandbox.py",
        "test_demo_otel.py",
        "temporal/test_commands.py",
        "sandbox/test_server.py",  # serve() in a process of its own
        "test_pytest_plugin.py",  # the plugin in a project of its own (and no pytest-asyncio)
        # without an optional dependency (OpenTelemetry, FastAPI, redis...)
        "telemetry/test_noop.py",
        "webhooks/test_imports.py",
        "webhooks/test_metrics.py",
    }
)
_TESTS = Path(__file__).parent
_PYPROJECT = _TESTS.parent / "pyproject.toml"


@pytest.fixture(autouse=True)
def _measure_cli_children(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under coverage, have the Python processes a command-line test starts measured as well.

    coverage's .pth file starts measuring in a process whose environment names a
    configuration in ``COVERAGE_PROCESS_START``; ``COVERAGE_FILE`` puts its data beside
    this run's whatever directory the child runs in. Fixtures of a wider scope start
    before this one, so the servers they share stay unmeasured.
    """
    try:
        relative = request.path.relative_to(_TESTS).as_posix()
    except ValueError:  # a documentation page's code block
        return
    if relative not in MEASURED_CHILDREN:
        return
    try:
        import coverage
    except ImportError:  # a virtualenv without the dev tools: nothing measures anything
        return
    current = coverage.Coverage.current()
    if current is None:
        return
    monkeypatch.setenv("COVERAGE_PROCESS_START", str(_PYPROJECT))
    monkeypatch.setenv("COVERAGE_FILE", os.path.abspath(current.config.data_file))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each base `LeanClient` can pool connections with, for tests over a real socket.

    Tests that pass ``transport=`` replace the base, so only tests whose client talks to a
    real server request this fixture (and so run once per backend).
    """
    value: Backend = request.param
    return value
