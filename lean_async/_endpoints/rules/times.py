"""Kinds of dates (``YYYY-MM-DD``) and timestamps (ISO 8601, sent in UTC)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from lean_async._codec.convert import parse_datetime
from lean_async._endpoints.rules.base import Invalid, Kind

__all__ = ["DATE", "TIMESTAMP"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DATE_RULE = "must be a valid date in YYYY-MM-DD format"
_TIMESTAMP_RULE = "must be an ISO 8601 timestamp such as '2021-03-01T21:04:04.000Z'"


def _date(value: object) -> dt.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise Invalid(_DATE_RULE)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid(_DATE_RULE) from None


def _date_argument(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        raise Invalid("must be a date, not a datetime")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return _date(value)
    raise Invalid("must be a date or a 'YYYY-MM-DD' string")


def _timestamp(value: object) -> dt.datetime:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise Invalid(_TIMESTAMP_RULE)
    try:
        return parse_datetime(value)
    except ValueError:  # a day that does not exist, or out of range in UTC
        raise Invalid(_TIMESTAMP_RULE) from None


def _timestamp_argument(value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise Invalid("must be a timezone-aware datetime")
    if value.tzinfo is dt.UTC:  # the common case: nothing to convert
        return _milliseconds(value)
    try:
        # A tzinfo is user code: utcoffset() may raise anything, and datetime itself
        # raises TypeError/ValueError for a non-timedelta or an offset of 24 h or more.
        offset = value.utcoffset()
    except Exception:  # any failure of the tzinfo means "no valid offset"
        raise Invalid(
            "has a tzinfo whose utcoffset() fails (it must return a timedelta "
            "strictly between -24 h and +24 h)"
        ) from None
    if offset is None:
        raise Invalid("must be timezone-aware")
    try:
        # Convert with the offset read once, so the tzinfo is not asked again.
        utc = value.replace(tzinfo=None) - offset
    except OverflowError:
        raise Invalid("is out of range once converted to UTC") from None
    return _milliseconds(utc.replace(tzinfo=dt.UTC))


def _milliseconds(utc: dt.datetime) -> dt.datetime:
    # The wire carries milliseconds: rules compare what is sent, not what was passed.
    extra = utc.microsecond % 1000
    return utc.replace(microsecond=utc.microsecond - extra) if extra else utc


DATE: Final = Kind(_date, _date_argument)
"""A calendar date: ``"YYYY-MM-DD"`` on the wire, a `date` or that string as argument."""
TIMESTAMP: Final = Kind(_timestamp, _timestamp_argument)
"""An instant: ISO 8601 on the wire (no offset means UTC), an aware `datetime` as argument."""
