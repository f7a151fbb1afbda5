"""Whatever the arguments, a call either sends a valid request or raises ValidationError.

Every create and every get/wait identifier gets arbitrary values (text with surrogates
and control characters, wrong types, huge amounts, broken tzinfos, None). The client
sends through an `httpx.MockTransport` that records requests: a `ValidationError` must
leave it empty, and anything it did receive must pass the sandbox's wire checks.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lean_async import LeanClient, ValidationError
from lean_async._endpoints.table import ENDPOINTS, EndpointRow
from lean_async._endpoints.validate import check_idempotency_key
from lean_async.models import Application, Customer, Gig, SpecialPayment
from tests.garbage import ANYTHING, NASTY_TEXT
from tests.reference import REFERENCE_APPLICATION
from tests.resources.conftest import CUSTOMER_JSON, GIG_JSON, KEY, SPECIAL_PAYMENT_JSON
from tests.test_validate import example_of

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ACTIVE_CUSTOMER = {**CUSTOMER_JSON, "status": "ACTIVE"}
# What the recording transport answers, by the model a row of the endpoint table returns.
ANSWERS: dict[type, Any] = {
    Customer: ACTIVE_CUSTOMER,
    Application: REFERENCE_APPLICATION,
    Gig: GIG_JSON,
    SpecialPayment: SPECIAL_PAYMENT_JSON,
}
CREATES = [row for row in ENDPOINTS if row.request is not None]
READS = [row for row in ENDPOINTS if row.parameter is not None]


def _row_of(method: str, segments: list[str]) -> EndpointRow[Any]:
    """The row of the endpoint table a request's method and path segments fall under."""
    return next(
        row
        for row in ENDPOINTS
        if (row.method, row.collection, row.parameter is not None)
        == (method, segments[0], len(segments) == 2)
    )


class Recorder:
    """An `httpx.MockTransport` handler that keeps every request and answers 200."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        segments = request.url.raw_path.decode("ascii").removeprefix("/api/").split("/")
        row = _row_of(request.method, segments)
        answer = ANSWERS[row.model]
        return httpx.Response(200, json=[answer] if row.many else answer)


def assert_sent_requests_are_valid(requests: list[httpx.Request]) -> None:
    """Every recorded request has one id segment at most and a body the sandbox accepts."""
    for request in requests:
        segments = request.url.raw_path.decode("ascii").removeprefix("/api/").split("/")
        assert len(segments) <= 2
        assert all(segment not in {"", ".", ".."} for segment in segments)
        if request.method == "POST":
            declared = _row_of(request.method, segments).request
            assert declared is not None
            assert declared.check(json.loads(request.content.decode("utf-8"))) == []
            assert check_idempotency_key(request.headers["idempotency-key"]) == []


async def outcome(
    call: Callable[[LeanClient], Awaitable[object]], names: list[str]
) -> list[httpx.Request]:
    """Run *call* on a recording client; assert it succeeded or raised ValidationError."""
    recorder = Recorder()
    async with LeanClient(
        api_key=KEY, environment="sandbox", transport=httpx.MockTransport(recorder)
    ) as lean:
        try:
            await call(lean)
        except ValidationError as exc:
            fields = [field for field, _ in exc.errors]
            assert fields
            assert set(fields) <= set(names), fields
            assert recorder.requests == []
            return []
    assert recorder.requests
    assert_sent_requests_are_valid(recorder.requests)
    event("sent")
    return recorder.requests


def loosened(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid arguments with up to two replaced by nasty text or anything at all.

    Few replacements, so that many examples still build a body (some garbage is valid:
    a control character in a description, a zero-exponent Decimal) and get sent.
    """

    @st.composite
    def draw_args(draw: st.DrawFn) -> dict[str, Any]:
        names = draw(st.sets(st.sampled_from(sorted(valid)), max_size=2))
        return {**valid, **{name: draw(NASTY_TEXT | ANYTHING) for name in names}}

    return draw_args()


@pytest.mark.parametrize("row", CREATES, ids=lambda row: row.name)
@PROPERTY
@given(data=st.data())
async def test_every_create(row: EndpointRow[Any], data: st.DataObject) -> None:
    """Each create of the table sends a valid body (and key) or raises ValidationError.

    The arguments are the declaration's example with up to two replaced, every
    parameter given (None for the optional ones the example leaves out).
    """
    assert row.request is not None
    example = example_of(row.request)
    valid = {name: example.get(name) for name in row.request.signature.parameters}
    args = data.draw(loosened(valid))

    async def call(lean: LeanClient) -> object:
        return await getattr(getattr(lean, row.resource), row.operation)(**args)

    await outcome(call, list(valid))


IDENTIFIERS = st.just("uid_1") | NASTY_TEXT | ANYTHING


@pytest.mark.parametrize("row", READS, ids=lambda row: row.name)
@PROPERTY
@given(identifier=IDENTIFIERS)
async def test_get(row: EndpointRow[Any], identifier: object) -> None:
    """A read by id sends one GET to one path segment or raises ValidationError."""
    assert row.parameter is not None
    argument = "".join("_" + c.lower() if c.isupper() else c for c in row.parameter)

    async def call(lean: LeanClient) -> object:
        return await getattr(getattr(lean, row.resource), row.operation)(identifier)

    requests = await outcome(call, [argument])
    assert [request.method for request in requests] in ([], ["GET"])


@PROPERTY
@given(
    identifier=IDENTIFIERS,
    timeout=st.just(1.0) | ANYTHING,
    poll_interval=st.just(0.0) | ANYTHING,
)
async def test_wait_until_active(
    identifier: object, timeout: object, poll_interval: object
) -> None:
    """wait_until_active polls a valid path or raises ValidationError before any poll."""

    async def call(lean: LeanClient) -> object:
        return await lean.customers.wait_until_active(
            identifier,  # type: ignore[arg-type]
            timeout=timeout,  # type: ignore[arg-type]
            poll_interval=poll_interval,  # type: ignore[arg-type]
        )

    await outcome(call, ["partner_user_id", "timeout", "poll_interval"])
