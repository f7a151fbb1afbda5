"""The endpoint table: every endpoint of the Lean API, one row each, declared once.

A row says how the endpoint is called (method and path template below the base URL),
what its request body is (the `Endpoint` declaration of `lean_async._endpoints.requests`), what
its answer is (a model, or ``list[Model]`` for a JSON array), which client method sends
it (``"gigs.create"``: ``LeanClient.gigs.create``, also its span's operation) and, for
the object a webhook event carries, the event's object kind (``"gig"`` of
``gig.completed``). Everything else derives from `ENDPOINTS`:

* the resource methods send ``row.method`` to ``row.path_prefix`` (+ the encoded id);
* the sandbox routes each row to its handler (`lean_async.sandbox._api`) and names
  its fault routes after ``row.route`` (`lean_async.sandbox._faults.ROUTES`);
* `url.template` reads the collections and their identifiers
  (`lean_async._telemetry._routes`);
* the webhook parser types an event's ``data`` by its object kind
  (`lean_async.webhooks._parse`);
* the payroll CSV columns are the create rows' request fields
  (`lean_async._payroll._rows`);
* the tests' lists of endpoints, models, routes and declarations.
"""

from __future__ import annotations

import re
import typing
from typing import Any, Final, Generic, TypeVar

from lean_async._endpoints.requests import APPLICATION, CUSTOMER, GIG, SPECIAL_PAYMENT
from lean_async._endpoints.rules.body import Endpoint
from lean_async.models import Application, Customer, Gig, SpecialPayment

__all__ = [
    "APPLICATIONS_SUBMIT",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_GET",
    "ENDPOINTS",
    "GIGS_CREATE",
    "GIGS_GET",
    "GIGS_LIST",
    "SPECIAL_PAYMENTS_CREATE",
    "SPECIAL_PAYMENTS_GET",
    "SPECIAL_PAYMENTS_LIST",
    "EndpointRow",
]

T = TypeVar("T")

# "/collection" or "/collection/{identifier}": the only shapes the API has.
_PATH: Final = re.compile(r"/(?P<collection>[a-z]+)(?:/\{(?P<parameter>[A-Za-z]+)\})?")
_METHODS: Final = frozenset({"GET", "POST"})


class EndpointRow(Generic[T]):
    """One endpoint: how it is called, its request declaration and its answer.

    Args:
        name: ``"<resource>.<method>"``: the `LeanClient` attribute and the method
            that send it; also the operation its span reports.
        method: the HTTP method.
        path: the path template below the base URL (``"/gig/{gigId}"``).
        response: the answer's type: a model, or ``list[Model]`` for a JSON array.
        request: the declaration of its JSON body, if it has one.
        sandbox_only: the endpoint exists in the sandbox only (the Application API).
        event_kind: the object kind webhook events name (``"gig"`` of
            ``gig.completed``) whose ``data`` is this row's model.

    Attributes:
        route: ``"<METHOD> <path>"``, as the sandbox's fault rules name it.
        collection: the path's first segment (``"gig"``).
        parameter: the identifier's name in the path (``"gigId"``), or None.
        path_prefix: what the client joins below its base URL, before the
            percent-encoded identifier if the path has one (``"gig/"``, ``"gig"``).
        model: the model the answer holds (the item model of a list).
        many: the answer is a JSON array of `model`.

    Raises:
        ValueError: a method or path the API does not have the shape of.
    """

    __slots__ = (
        "collection",
        "event_kind",
        "many",
        "method",
        "model",
        "name",
        "parameter",
        "path",
        "path_prefix",
        "request",
        "response",
        "route",
        "sandbox_only",
    )

    def __init__(
        self,
        name: str,
        method: str,
        path: str,
        response: type[T],
        *,
        request: Endpoint[Any] | None = None,
        sandbox_only: bool = False,
        event_kind: str | None = None,
    ) -> None:
        shape = _PATH.fullmatch(path)
        if shape is None or method not in _METHODS or name.count(".") != 1:
            raise ValueError(f"not an endpoint of the API's shape: {name} = {method} {path}")
        self.name = name
        self.method = method
        self.path = path
        self.response = response
        self.request = request
        self.sandbox_only = sandbox_only
        self.event_kind = event_kind
        self.route = f"{method} {path}"
        self.collection: str = shape["collection"]
        self.parameter: str | None = shape["parameter"]
        self.path_prefix = self.collection + ("/" if self.parameter else "")
        self.many = typing.get_origin(response) is list
        self.model: type[Any] = typing.get_args(response)[0] if self.many else response

    def __repr__(self) -> str:
        return f"EndpointRow({self.name}: {self.route})"

    @property
    def resource(self) -> str:
        """The `LeanClient` attribute of the resource that sends it (``"gigs"``)."""
        return self.name.partition(".")[0]

    @property
    def operation(self) -> str:
        """The resource's method that sends it (``"create"``)."""
        return self.name.partition(".")[2]


CUSTOMERS_CREATE: Final = EndpointRow(
    "customers.create", "POST", "/customer", Customer, request=CUSTOMER
)
CUSTOMERS_GET: Final = EndpointRow(
    "customers.get", "GET", "/customer/{partnerUserId}", Customer, event_kind="customer"
)
APPLICATIONS_SUBMIT: Final = EndpointRow(
    "applications.submit",
    "POST",
    "/application",
    Application,
    request=APPLICATION,
    sandbox_only=True,
)
GIGS_CREATE: Final = EndpointRow("gigs.create", "POST", "/gig", Gig, request=GIG)
GIGS_GET: Final = EndpointRow("gigs.get", "GET", "/gig/{gigId}", Gig, event_kind="gig")
GIGS_LIST: Final = EndpointRow("gigs.list", "GET", "/gig", list[Gig])
SPECIAL_PAYMENTS_CREATE: Final = EndpointRow(
    "special_payments.create",
    "POST",
    "/specialpayment",
    SpecialPayment,
    request=SPECIAL_PAYMENT,
)
SPECIAL_PAYMENTS_GET: Final = EndpointRow(
    "special_payments.get",
    "GET",
    "/specialpayment/{id}",
    SpecialPayment,
    event_kind="specialpayment",
)
SPECIAL_PAYMENTS_LIST: Final = EndpointRow(
    "special_payments.list", "GET", "/specialpayment", list[SpecialPayment]
)

ENDPOINTS: Final[tuple[EndpointRow[Any], ...]] = (
    CUSTOMERS_CREATE,
    CUSTOMERS_GET,
    APPLICATIONS_SUBMIT,
    GIGS_CREATE,
    GIGS_GET,
    GIGS_LIST,
    SPECIAL_PAYMENTS_CREATE,
    SPECIAL_PAYMENTS_GET,
    SPECIAL_PAYMENTS_LIST,
)
"""Every endpoint of the API (lean-api-reference.md), in the reference's order."""
