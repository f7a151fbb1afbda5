"""Configuration helpers: the masked secret and loopback detection."""

from __future__ import annotations

import pickle

import pytest

from lean_async._config import Secret, is_loopback_host


def test_secret_never_shows_itself() -> None:
    """repr, str and f-strings of a Secret are masked; the value is still available."""
    secret = Secret("sk_live_abc")
    assert "sk_live_abc" not in repr(secret)
    assert "sk_live_abc" not in f"{secret} {secret!r}"
    assert secret.get_secret_value() == "sk_live_abc"
    assert secret == Secret("sk_live_abc")
    assert secret != "sk_live_abc"
    assert hash(secret) == hash(Secret("sk_live_abc"))


def test_secret_cannot_be_pickled() -> None:
    """Pickling (e.g. into a task queue) would write the key out, so it is refused."""
    with pytest.raises(TypeError):
        pickle.dumps(Secret("sk_live_abc"))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("localhost", True),
        ("sandbox.localhost", True),
        ("LOCALHOST", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only localhost names and loopback addresses count as loopback."""
    assert is_loopback_host(host) is loopback
