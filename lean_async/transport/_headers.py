"""Header parsing shared by the retry and errors layers."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

__all__ = ["parse_retry_after"]

_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds.

    Args:
        value: the header value: delta-seconds (``"120"``) or an HTTP-date
            (``"Wed, 21 Oct 2015 07:28:00 GMT"``); ``None`` when absent.
        now: the current time for an HTTP-date; defaults to the clock. A naive
            value is read as UTC.

    Returns:
        The wait (never negative; a date in the past gives ``0.0``), or ``None`` when
        the value is absent or malformed. Never raises.
    """
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        # A huge delta overflows to inf, which reads as "not soon" and stops retrying.
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
