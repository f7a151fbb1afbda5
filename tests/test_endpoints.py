"""The endpoint table: each row is served by its resource method and its sandbox handler.

Every list here comes from `lean_async._endpoints.table.ENDPOINTS`: a new row is sent end to
end through its resource method and the sandbox, and its model, resource, webhook kind
and CSV columns are checked, without any list of endpoints to update by hand.
"""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest

import lean_async
from lean_async import LeanClient, models, resources
from lean_async._codec.convert import camel
from lean_async._endpoints.rules.objects import JSON_OBJECT
from lean_async._endpoints.table import ENDPOINTS, GIGS_GET, EndpointRow
from lean_async._payroll import GIGS, SPECIAL_PAYMENTS, PayrollKind
from lean_async.models import EventType
from lean_async.sandbox import ManualClock, Sandbox
from lean_async.sandbox._api import API
from lean_async.sandbox._http import HTTPError, Request
from lean_async.sandbox._store import Store
from lean_async.testing import set_testing
from tests.test_validate import example_of

_IDS = {"ids": lambda row: row.name}


class _Recorder(httpx.AsyncBaseTransport):
    """Hands each request to the sandbox and keeps its method and raw path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.raw_path.decode("ascii")))
        return await self.inner.handle_async_request(request)


def _resource_class(row: EndpointRow[Any]) -> type[Any]:
    """The class of the `LeanClient` resource a row names."""
    return cast(type[Any], typing.get_type_hints(getattr(LeanClient, row.resource).func)["return"])


def _api(*, production: bool = False) -> API:
    # Routing needs neither the lifecycle nor the idempotency store.
    return API(Store(ManualClock()), cast(Any, None), cast(Any, None), production=production)


def _request(row: EndpointRow[Any]) -> Request:
    """A request to *row*'s path, with an identifier where the template has one."""
    segments = ("api", row.collection, "id_1") if row.parameter else ("api", row.collection)
    return Request(method=row.method, segments=segments, headers={}, body=b"")


def test_names_and_routes_are_unique() -> None:
    """No two rows share a client method or a route."""
    assert len({row.name for row in ENDPOINTS}) == len(ENDPOINTS)
    assert len({row.route for row in ENDPOINTS}) == len(ENDPOINTS)


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/gig"), ("GET", "gig"), ("GET", "/gig/{a}/x"), ("GET", "/Gig")]
)
def test_a_row_of_another_shape_is_refused(method: str, path: str) -> None:
    """Only ``GET``/``POST`` on ``/collection`` or ``/collection/{id}`` make a row."""
    with pytest.raises(ValueError, match="not an endpoint"):
        EndpointRow("gigs.x", method, path, models.Gig)


def test_every_row_has_a_sandbox_handler() -> None:
    """The sandbox serves every row of the table, and nothing else."""
    assert set(_api().handlers) == set(ENDPOINTS)


@pytest.mark.parametrize("row", ENDPOINTS, **_IDS)
def test_the_sandbox_routes_each_row_to_its_handler(row: EndpointRow[Any]) -> None:
    """A request to a row's path reaches its handler under the row's fault route."""
    api = _api()
    route = api.route(_request(row))
    assert route.name == row.route
    assert route.handler == api.handlers[row]


@pytest.mark.parametrize("row", [row for row in ENDPOINTS if row.sandbox_only], **_IDS)
def test_a_sandbox_only_row_is_absent_from_production(row: EndpointRow[Any]) -> None:
    """A production sandbox answers 404 on a sandbox-only endpoint."""
    with pytest.raises(HTTPError) as info:
        _api(production=True).route(_request(row))
    assert info.value.status == 404


@pytest.fixture
async def sent() -> AsyncIterator[tuple[LeanClient, Sandbox, _Recorder]]:
    """A client on an in-process sandbox (manual clock), recording what it sends."""
    set_testing(True)
    try:
        async with Sandbox(clock=ManualClock()) as sandbox:
            recorder = _Recorder(sandbox.transport())
            async with LeanClient(
                api_key=sandbox.api_key, base_url=sandbox.base_url, transport=recorder
            ) as lean:
                yield lean, sandbox, recorder
    finally:
        set_testing(False)


async def test_every_row_goes_end_to_end_through_its_resource_method(
    sent: tuple[LeanClient, Sandbox, _Recorder],
) -> None:
    """In the table's order, each row's method sends its method and path and gets its model.

    A create sends its declaration's example arguments; a read asks for the object the
    last answer of its collection named; a list takes nothing.
    """
    lean, sandbox, recorder = sent
    last: dict[str, Any] = {}
    for row in ENDPOINTS:
        method = getattr(getattr(lean, row.resource), row.operation)
        if row.request is not None:
            answer = await method(**example_of(row.request))
        elif row.parameter is not None:
            identifier = getattr(last[row.collection], _snake(row.parameter))
            answer = await method(identifier)
        else:
            answer = await method()
        sent_method, sent_path = recorder.sent[-1]
        assert sent_method == row.method, row
        expected = "/api" + row.path
        if row.parameter is not None:
            expected = expected.replace("{" + row.parameter + "}", identifier)
        assert sent_path == expected, row
        items = answer if row.many else [answer]
        assert items, row
        assert all(isinstance(item, row.model) for item in items), row
        last[row.collection] = items[-1]
        await sandbox.advance(60)  # an application's approval, a payment's settlement


@pytest.mark.parametrize("row", ENDPOINTS, **_IDS)
def test_each_rows_model_and_resource_are_exported(row: EndpointRow[Any]) -> None:
    """A row's model is public (`lean_async.models` and `lean_async`), as its resource is."""
    name = row.model.__name__
    assert name in models.__all__
    assert getattr(lean_async, name) is row.model
    resource = _resource_class(row)
    assert getattr(resources, resource.__name__) is resource
    assert callable(getattr(resource, row.operation))


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_names_an_object_kind_of_the_table(event_type: EventType) -> None:
    """The webhook parser can type the data of each event the SDK knows."""
    kind = event_type.value.partition(".")[0]
    assert kind in {row.event_kind for row in ENDPOINTS}


@pytest.mark.parametrize("kind", [GIGS, SPECIAL_PAYMENTS], ids=lambda kind: kind.name)
def test_csv_columns_are_the_create_rows_request_fields(kind: Any) -> None:
    """A payroll file's columns: the declaration's fields a cell can hold, then its extras."""
    declared = kind.endpoint.request
    fields = [field.wire for field in declared.fields if field.kind is not JSON_OBJECT]
    assert list(kind.headers) == fields + [camel(name) for name in declared.beside_names]
    required = {field.wire for field in declared.fields if field.required}
    assert {column.header for column in kind.columns if column.required} == required


def _snake(camel: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in camel)


def test_a_row_says_what_it_is() -> None:
    """A row's repr names its client method and route; its parts come from the template."""
    row = EndpointRow("gigs.get", "GET", "/gig/{gigId}", models.Gig)
    assert repr(row) == "EndpointRow(gigs.get: GET /gig/{gigId})"
    assert (row.collection, row.parameter, row.path_prefix) == ("gig", "gigId", "gig/")
    assert (row.resource, row.operation, row.model, row.many) == ("gigs", "get", models.Gig, False)
    listing = EndpointRow("gigs.list", "GET", "/gig", list[models.Gig])
    assert (listing.path_prefix, listing.model, listing.many) == ("gig", models.Gig, True)


def test_a_payroll_kind_needs_a_row_with_a_body() -> None:
    """CSV columns come from a request declaration: a read row has none to give."""
    with pytest.raises(ValueError, match="no request body"):
        PayrollKind("gigs", GIGS_GET, unique="gigId")


@pytest.mark.parametrize("row", ENDPOINTS, **_IDS)
def test_another_method_on_a_rows_path_is_405_naming_the_tables_methods(
    row: EndpointRow[Any],
) -> None:
    """DELETE on a row's path is refused with ``Allow``: the methods the table has there."""
    allowed = sorted(
        other.method
        for other in ENDPOINTS
        if (other.collection, other.parameter) == (row.collection, row.parameter)
    )
    request = _request(row)
    with pytest.raises(HTTPError) as info:
        _api().route(Request("DELETE", request.segments, {}, b""))
    assert info.value.status == 405
    assert ("allow", ", ".join(allowed)) in info.value.headers
