"""Configuration: the masked secret, loopback detection, settings and target resolution."""

from __future__ import annotations

import pickle

import attrs
import pytest

from lean_async._config import (
    DEFAULT_TIMEOUT,
    CallSettings,
    Environment,
    Secret,
    is_loopback_host,
    resolve_target,
)


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


def test_call_settings_derive_httpx_timeouts() -> None:
    """CallSettings is frozen; evolving it recomputes the timeout dict httpx reads."""
    settings = CallSettings()
    assert settings.timeouts == DEFAULT_TIMEOUT.as_dict()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        settings.max_retries = 0  # type: ignore[misc]
    faster = attrs.evolve(settings, timeout=5.0, max_retries=0)
    assert faster.timeouts == dict.fromkeys(("connect", "read", "write", "pool"), 5.0)
    assert (faster.max_retries, settings.max_retries) == (0, 3)
    assert attrs.evolve(settings, timeout=None).timeouts == dict.fromkeys(
        ("connect", "read", "write", "pool")
    )


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3"])
def test_call_settings_refuse_a_bad_max_retries(bad: object) -> None:
    """max_retries must be a non-negative int, checked by the record itself."""
    with pytest.raises(ValueError, match="max_retries"):
        CallSettings(max_retries=bad)  # type: ignore[arg-type]


def test_resolve_target_reads_arguments_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arguments win over LEAN_ENVIRONMENT/LEAN_BASE_URL; the URL always ends in '/'."""
    monkeypatch.setenv("LEAN_ENVIRONMENT", "production")
    assert resolve_target(None, None) == (Environment.PRODUCTION, "https://app.withlean.com/api/")
    assert resolve_target("sandbox", "http://127.0.0.1:9/api") == (
        Environment.SANDBOX,
        "http://127.0.0.1:9/api/",
    )
    with pytest.raises(ValueError, match="unknown environment"):
        resolve_target("staging", None)
