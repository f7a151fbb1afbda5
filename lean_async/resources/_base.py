"""The base of every resource, and reconciliation's comparison of sent and held values."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from lean_async._convert import parse_datetime

if TYPE_CHECKING:
    from lean_async._client import LeanClient

__all__ = ["Resource"]

_MONEY_FIELDS = frozenset({"totalAmount", "tips", "expenses", "amount"})
_TIME_FIELDS = frozenset({"startTime", "endTime"})


class Resource:
    """One API noun; holds the client it sends through.

    A method validates its arguments, then makes one client call that sends and
    returns the model: ``await self._client._send("GET", path, cast_to=Model)`` (or
    ``cast_to=list[Model]``), or ``await self._client._create(...)`` for a create
    protected by a unique key. A `LeanClient.with_options` copy builds its own
    resources, so they send with the copy's settings.
    """

    __slots__ = ("_client",)

    def __init__(self, client: LeanClient) -> None:
        self._client = client


def _matches(sent: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Return whether the object the API holds agrees with every field that was sent.

    Fields the API does not echo back (the reference's gig has no partnerUserId) cannot
    disagree and are skipped.
    """
    return all(
        _normalise(key, existing[key]) == _normalise(key, value)
        for key, value in sent.items()
        if key in existing
    )


def _normalise(key: str, value: Any) -> Any:
    try:
        if key in _MONEY_FIELDS and isinstance(value, str | int):
            return Decimal(value)
        if key in _TIME_FIELDS and isinstance(value, str):
            return parse_datetime(value)
    except (InvalidOperation, ValueError):
        return value
    return value
