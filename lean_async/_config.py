"""Environments, base URLs, defaults and the masked holder of the API key."""

from __future__ import annotations

import enum
import ipaddress
from typing import Final

import httpx

__all__ = [
    "BASE_URLS",
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
    "Environment",
    "Secret",
    "is_loopback_host",
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


class Secret:
    """Holds a secret string; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """Return the secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def is_loopback_host(host: str) -> bool:
    """Return whether *host* names this machine (localhost or a loopback address)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
