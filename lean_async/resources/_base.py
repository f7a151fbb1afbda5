"""The base of every resource, and the reconciliation of create calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from lean_async._reconcile import matches
from lean_async.errors import BadRequestError, ConflictError, NotFoundError

if TYPE_CHECKING:
    from lean_async._client import LeanClient

__all__ = ["Resource"]

T = TypeVar("T")


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
            if matches(body, found.json(), cls):
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
