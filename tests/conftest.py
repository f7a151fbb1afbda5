"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest

from lean_async._config import BACKENDS, Backend


@pytest.fixture(autouse=True)
def _clear_lean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's LEAN_* variables out of every test."""
    for name in list(os.environ):
        if name.startswith("LEAN_"):
            monkeypatch.delenv(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each base `LeanClient` can pool connections with, for tests over a real socket.

    Tests that pass ``transport=`` replace the base, so only tests whose client talks to a
    real server request this fixture (and so run once per backend).
    """
    value: Backend = request.param
    return value
