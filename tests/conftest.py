"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each base `LeanClient` can pool connections with, for tests over a real socket.

    Tests that pass ``transport=`` replace the base, so only tests whose client talks to a
    real server request this fixture (and so run once per backend).
    """
    value: Backend = request.param
    return value
