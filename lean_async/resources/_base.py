"""The base of every resource, and the reconciliation of create calls."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from lean_async._convert import parse_datetime
from lean_async.errors import BadRequestError, ConflictError, NotFoundError

if TYPE_CHECKING:
    from lean_async._client import LeanClient

__all__ = ["Resource"]

T = TypeVar("T")

_MONEY_FIELDS = frozenset({"totalAmount", "tips", "expenses", "amount"})
_TIME_FIELDS = frozenset({"startTime", "endTime"})


class Resource:
    """One API noun; holds the client it sends through."""

    __slots__ = ("_client",)

    def __init__(self, client: LeanClient) -> None:
        self._client = client

    async def _create_reconciled(
        self, path: str, body: dict[str, Any], lookup_path: str, cls: type[T]
    ) -> T:
        """POST a create protected by a unique key, reconciling an "already exists".

        A 400 or 409 answer looks the object up by its unique key: when it exists and
        matches what was sent (the retry after a lost answer, a re-run batch), it is
        returned; when it differs, `ConflictError` shows both; when there is none, the
        original error stands.
        """
        client = self._client
        try:
            response = await client.request("POST", path, json=body, replay_safe=True)
        except (BadRequestError, ConflictError) as error:
            try:
                found = await client.request("GET", lookup_path)
            except NotFoundError:
                raise error from None
            existing = client.parse(found, cls)
            if _matches(body, found.json()):
                return existing
            raise ConflictError(
                f"{lookup_path} already exists with different values than were sent",
                existing=existing,
                sent=body,
                response=error.response,
                method=error.method,
                url=error.url,
                attempts=error.attempts,
                idempotency_key=error.idempotency_key,
                status_code=error.status_code,
                body=error.body,
            ) from error
        return client.parse(response, cls)


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
