"""What one answer says about the server's rate limit: throttled, its limit, its reset.

Read from the status and, when present, the headers rate-limited APIs send:

- ``429 Too Many Requests``: the client sent too fast (a ``503``, even with
  ``Retry-After``, is an outage, not a limit: its retry waits, the pace does not change);
- ``RateLimit-Policy: 200;w=1`` (the IETF draft), or ``RateLimit-Limit`` /
  ``X-RateLimit-Limit`` (a quota per window, the window one second unless the policy
  says otherwise): the server's announced limit, in requests per second;
- ``RateLimit-Remaining: 0`` with ``RateLimit-Reset: <seconds>``: nothing more passes
  until the reset.
"""

from __future__ import annotations

import re
from typing import Final

import attrs
import httpx

__all__ = ["SUCCESS", "Feedback", "feedback_from"]

_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)")
_WINDOW = re.compile(r";\s*w\s*=\s*([0-9]+(?:\.[0-9]+)?)")
_LIMIT_HEADERS: Final = ("ratelimit-limit", "x-ratelimit-limit")
_REMAINING_HEADERS: Final = ("ratelimit-remaining", "x-ratelimit-remaining")
_RESET_HEADERS: Final = ("ratelimit-reset", "x-ratelimit-reset")
_LONGEST_RESET: Final = 3600.0  # a larger "reset" is an epoch time, not seconds: ignored


@attrs.frozen(kw_only=True)
class Feedback:
    """How one request was answered, as far as pacing is concerned.

    Attributes:
        throttled: the server refused it for going too fast (429).
        limit: the limit the server announced, in requests per second, if it did.
        reset: seconds until the server lets requests through again, when it said that
            none are left (``RateLimit-Remaining: 0``).
    """

    throttled: bool = False
    limit: float | None = None
    reset: float | None = None

    @property
    def announces(self) -> bool:
        """Whether the answer carried rate-limit headers worth reading on every answer."""
        return self.limit is not None or self.reset is not None


SUCCESS: Final = Feedback()
"""An answer that says nothing but "not throttled"."""


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    match = _NUMBER.match(value)
    return float(match.group(1)) if match else None


def _first(headers: httpx.Headers, names: tuple[str, ...]) -> str | None:
    for name in names:
        value: str | None = headers.get(name)
        if value is not None:
            return value
    return None


def _limit(headers: httpx.Headers) -> float | None:
    policy = headers.get("ratelimit-policy")
    window = 1.0
    quota = _number(policy)
    if policy is not None and (match := _WINDOW.search(policy)):
        window = float(match.group(1))
    if quota is None:
        quota = _number(_first(headers, _LIMIT_HEADERS))
    if quota is None or quota <= 0 or window <= 0:
        return None
    return quota / window


def feedback_from(response: httpx.Response) -> Feedback:
    """Return what *response* says about the server's rate limit; never raises."""
    headers = response.headers
    throttled = response.status_code == 429
    reset = None
    if _number(_first(headers, _REMAINING_HEADERS)) == 0:
        reset = _number(_first(headers, _RESET_HEADERS))
        if reset is not None and reset > _LONGEST_RESET:
            reset = None
    limit = _limit(headers)
    if not throttled and limit is None and reset is None:
        return SUCCESS
    return Feedback(throttled=throttled, limit=limit, reset=reset)
