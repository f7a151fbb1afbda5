"""Which URL `lean-async demo` may talk to: the built-in sandbox, or a URL given by flag.

The demo creates made-up workers and pays them, so production is refused outright,
whatever the spelling. Only the command line picks another target: ``$LEAN_BASE_URL``,
``$LEAN_ENVIRONMENT`` and ``$LEAN_API_KEY`` never redirect the demo.
"""

from __future__ import annotations

import urllib.parse
from typing import Final

import httpx

from lean_async import _config

__all__ = ["PRODUCTION_URL", "UnsafeTargetError", "check_demo_url", "normalized_host"]

PRODUCTION_URL: Final = _config.BASE_URLS[_config.Environment.PRODUCTION]
_LEAN_DOMAIN: Final = "withlean.com"


class UnsafeTargetError(ValueError):
    """The URL is not one the demo may send requests to."""


def normalized_host(url: httpx.URL) -> str:
    """Return *url*'s host lower-cased, percent-decoded, without trailing dots."""
    return urllib.parse.unquote(url.host).lower().rstrip(".")


def _is_production_host(host: str) -> bool:
    # Lean's staging hosts carry a "staging" label (app.staging.withlean.com, and
    # staging.app.withlean.com in some examples); every other withlean.com host may
    # be production, so it is refused rather than guessed about.
    if host != _LEAN_DOMAIN and not host.endswith("." + _LEAN_DOMAIN):
        return False
    return "staging" not in host.split(".")


def check_demo_url(raw: str) -> str:
    """Return the base URL the demo may target, or raise why it may not.

    Args:
        raw: the ``--base-url`` given on the command line.

    Returns:
        The URL, stripped of surrounding spaces and trailing slashes.

    Raises:
        UnsafeTargetError: not an http(s) URL with a host, or it points at production.
    """
    text = raw.strip()
    try:
        url = httpx.URL(text)
        host = normalized_host(url)  # decodes IDNA, which may fail too
    except (httpx.InvalidURL, ValueError) as exc:  # ValueError: a bad IDNA label
        raise UnsafeTargetError(f"{raw!r} is not a valid URL: {exc}") from None
    if url.scheme not in {"http", "https"} or not host:
        raise UnsafeTargetError(f"{raw!r} is not an http(s) URL with a host")
    if _is_production_host(host):
        raise UnsafeTargetError(
            f"{raw!r} is Lean production ({PRODUCTION_URL}). The demo creates made-up "
            "workers and pays them, so it never runs there; use the built-in sandbox "
            "(no --base-url) or Lean's staging environment, "
            f"{_config.BASE_URLS[_config.Environment.SANDBOX]}"
        )
    return text.rstrip("/")
