"""The base of every resource, and the `Client` protocol it sends through."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from lean_async._config import Environment
    from lean_async._telemetry import Telemetry

__all__ = ["Client", "Resource"]

T = TypeVar("T")


class Client(Protocol):
    """What a resource needs of the client it sends through; `LeanClient` is one.

    Typing against this protocol, rather than `LeanClient`, keeps the resources below
    the client: the client module imports them, never the other way round.
    """

    @property
    def environment(self) -> Environment:
        """The environment the client talks to."""
        ...

    @property
    def _telemetry(self) -> Telemetry | None: ...

    @overload
    async def _send(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T],
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> T: ...

    @overload
    async def _send(
        self,
        method: str,
        path: str,
        *,
        cast_to: Any,
        json: Any = None,
        idempotency_key: str | None = None,
        replay_safe: bool = False,
    ) -> Any: ...

    async def _create(
        self, path: str, body: dict[str, Any], *, lookup_path: str, cast_to: type[T]
    ) -> T: ...

    async def _create_keyed(
        self,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        cast_to: type[T],
    ) -> T: ...


class Resource:
    """One API noun; holds the client it sends through.

    A method validates its arguments, then makes one client call that sends and
    returns the model, built from its row of the endpoint table
    (`lean_async._endpoints.table`): ``await self._client._send(ROW.method, path,
    cast_to=ROW.response)``, or ``await self._client._create(...)`` for a create
    protected by a unique key (``_create_keyed(...)``: by an ``Idempotency-Key``). A
    `LeanClient.with_options` copy builds its own resources, so they send with the
    copy's settings. Each public method is a logical call for telemetry:
    ``@traced(ROW.name)`` gives it its span and metrics.
    """

    __slots__ = ("_client", "_telemetry")

    def __init__(self, client: Client) -> None:
        self._client = client
        self._telemetry: Telemetry | None = client._telemetry
