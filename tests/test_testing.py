"""The testing kit users import into their own suites."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import lean_async
from lean_async import EventType, Gig
from lean_async.testing import is_testing, set_testing, signed_delivery
from lean_async.webhooks import parse
from tests.resources.conftest import GIG_JSON


def test_signed_delivery_is_accepted_by_parse() -> None:
    """A delivery built by signed_delivery verifies and parses into a typed event."""
    body, headers = signed_delivery({"event": "gig.completed", "data": GIG_JSON}, "sk_test")
    event = parse(body, headers, "sk_test")
    assert event.type is EventType.GIG_COMPLETED
    assert isinstance(event.data, Gig)
    assert headers["Content-Type"] == "application/json"


def test_set_testing_toggles() -> None:
    """set_testing switches the zero-backoff mode on and off."""
    set_testing(True)
    try:
        assert is_testing()
    finally:
        set_testing(False)
    assert not is_testing()


def test_python_dash_m_runs_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m lean_async --help` runs the same command group."""
    monkeypatch.setattr(sys, "argv", ["lean_async", "--help"])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(Path(lean_async.__file__).parent / "__main__.py"), run_name="__main__")
    assert info.value.code == 0
