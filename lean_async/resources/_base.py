"""The base of every resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lean_async._client import LeanClient
    from lean_async._telemetry import Telemetry

__all__ = ["Resource"]


class Resource:
    """One API noun; holds the client it sends through.

    A method validates its arguments, then makes one client call that sends and
    returns the model: ``await self._client._send("GET", path, cast_to=Model)`` (or
    ``cast_to=list[Model]``), or ``await self._client._create(...)`` for a create
    protected by a unique key (``_create_keyed(...)``: by an ``Idempotency-Key``). A
    `LeanClient.with_options` copy builds its own resources, so they send with the
    copy's settings. Each public method is a logical
    call for telemetry: ``@traced("gigs.create")`` gives it its span and metrics.
    """

    __slots__ = ("_client", "_telemetry")

    def __init__(self, client: LeanClient) -> None:
        self._client = client
        self._telemetry: Telemetry | None = client._shared.telemetry
