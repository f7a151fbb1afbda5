"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clear_lean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's LEAN_* variables out of every test."""
    for name in list(os.environ):
        if name.startswith("LEAN_"):
            monkeypatch.delenv(name)
