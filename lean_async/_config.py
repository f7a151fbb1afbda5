"""Environments, base URLs, defaults and the masked holder of the API key."""

from __future__ import annotations

import enum
import ipaddress
import math
import os
from typing import Final, Literal

import attrs
import httpx

from lean_async._secrets import Secret

__all__ = [
    "BACKENDS",
    "BASE_URLS",
    "DEFAULT_BACKEND",
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BACKOFF_CAP",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_AFTER_CAP",
    "DEFAULT_TIMEOUT",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_ENVIRONMENT",
    "ENV_LOG",
    "Backend",
    "CallSettings",
    "Environment",
    "Secret",
    "check_count",
    "check_seconds",
    "is_loopback_host",
    "resolve_target",
]


class Environment(enum.StrEnum):
    """A Lean environment."""

    SANDBOX = "sandbox"
    PRODUCTION = "production"


# The reference names two staging hosts: "app.staging.withlean.com" (its Schema section)
# and "staging.app.withlean.com" (some curl examples). We follow the Schema section,
# which the README's "Choices" section records; pass base_url= to reach the other.
BASE_URLS: Final[dict[Environment, str]] = {
    Environment.SANDBOX: "https://app.staging.withlean.com/api",
    Environment.PRODUCTION: "https://app.withlean.com/api",
}

ENV_API_KEY: Final = "LEAN_API_KEY"
ENV_ENVIRONMENT: Final = "LEAN_ENVIRONMENT"
ENV_BASE_URL: Final = "LEAN_BASE_URL"
ENV_LOG: Final = "LEAN_LOG"

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 3
DEFAULT_BACKOFF_BASE: Final = 0.5
DEFAULT_BACKOFF_CAP: Final = 8.0
DEFAULT_RETRY_AFTER_CAP: Final = 60.0
DEFAULT_MAX_CONNECTIONS: Final = 100
# The list endpoints return every object at once: 100,000 gigs are about 40 MB of JSON.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024

Backend = Literal["httpx", "aiohttp"]
"""The HTTP libraries `LeanClient` can pool connections with."""

BACKENDS: Final[tuple[Backend, ...]] = ("httpx", "aiohttp")
DEFAULT_BACKEND: Final[Backend] = "aiohttp"


def is_loopback_host(host: str) -> bool:
    """Return whether *host* names this machine (localhost or a loopback address)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_count(name: str, value: int, minimum: int = 0) -> int:
    """Return *value* when it is an int (not a bool) of at least *minimum*.

    Raises:
        ValueError: it is not; the message names *name*.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}")
    return value


def check_seconds(name: str, value: object) -> None:
    """Check that *value* is a finite number of seconds greater than 0.

    Raises:
        ValueError: it is not (a bool, a string, NaN, infinity, zero or less); the
            message names *name*.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")


def _check_max_retries(_: object, __: object, value: int) -> None:
    check_count("max_retries", value)


def _check_timeout(_: object, __: object, value: object) -> None:
    if value is None:
        return
    if isinstance(value, httpx.Timeout):
        for phase, seconds in value.as_dict().items():
            if seconds is not None:
                check_seconds(f"timeout.{phase}", seconds)
        return
    check_seconds("timeout", value)


def _check_deadline(_: object, __: object, value: float) -> None:
    check_seconds("deadline", value)


@attrs.frozen(kw_only=True)
class CallSettings:
    """The per-call settings of one `LeanClient`; `with_options` evolves a copy.

    Attributes:
        timeout: seconds (or an `httpx.Timeout`) for one attempt; ``None`` for none.
        max_retries: retries of one call after its first attempt.
        deadline: seconds for a whole call, retries and backoff included.
        timeouts: *timeout* as the ``request.extensions["timeout"]`` dict httpx reads;
            derived, shared read-only by every request of these settings.
    """

    timeout: float | httpx.Timeout | None = attrs.field(
        default=DEFAULT_TIMEOUT, validator=_check_timeout
    )
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=_check_max_retries)
    deadline: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_check_deadline)
    )
    timeouts: dict[str, float | None] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "timeouts", httpx.Timeout(self.timeout).as_dict())


def resolve_target(
    environment: str | None, base_url: str | httpx.URL | None
) -> tuple[Environment, str]:
    """Pick the environment and base URL from arguments, then env vars, then defaults.

    Returns:
        The environment and the base URL, ending in ``/``.

    Raises:
        ValueError: an unknown environment, or a base URL that is not http(s) with a
            host, holds credentials, or is plain http to a host other than loopback.
    """
    env_name = environment or os.environ.get(ENV_ENVIRONMENT)
    url = str(base_url) if base_url is not None else os.environ.get(ENV_BASE_URL)
    if env_name:
        try:
            env = Environment(env_name.strip().lower())
        except ValueError:
            choices = ", ".join(repr(e.value) for e in Environment)
            raise ValueError(
                f"unknown environment {env_name!r}; expected one of {choices}"
            ) from None
    elif url and url.rstrip("/") == BASE_URLS[Environment.PRODUCTION]:
        env = Environment.PRODUCTION
    else:
        env = Environment.SANDBOX
    url = (url or BASE_URLS[env]).rstrip("/")
    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {url!r}")
    if parsed.userinfo:
        raise ValueError("base_url must not contain credentials; pass api_key= instead")
    if parsed.scheme == "http" and not is_loopback_host(parsed.host):
        raise ValueError(
            f"refusing plain http to {parsed.host!r}: the API key would travel unencrypted "
            "(http is allowed only for loopback hosts such as a local sandbox)"
        )
    return env, url + "/"
