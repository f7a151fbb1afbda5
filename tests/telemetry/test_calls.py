"""Logical-call spans, attempt spans, retry events and metrics on a mock transport."""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from lean_async import LeanClient, NotFoundError, ValidationError
from lean_async._endpoints.table import ENDPOINTS, EndpointRow
from lean_async.models import Application, Customer, Gig, SpecialPayment
from lean_async.resources import Gigs
from tests.reference import (
    REFERENCE_APPLICATION,
    REFERENCE_CREATED_CUSTOMER,
    REFERENCE_GIG,
    REFERENCE_SPECIAL_PAYMENT,
)
from tests.telemetry.conftest import GIG_ARGUMENTS, Otel, answers
from tests.test_validate import example_of

GIG = {**REFERENCE_GIG, "id": "gig_1"}


async def test_a_create_retried_twice_is_one_span_with_three_attempts(otel: Otel) -> None:
    """A gig create answered 503, 503, 201: one logical span, three attempts, two retries."""
    async with otel.client(answers(503, 503, 201, body=GIG)) as lean:
        await lean.gigs.create(**GIG_ARGUMENTS)

    (call,) = otel.spans("lean.gigs.create")
    attempts = otel.spans("POST /gig")
    assert len(otel.spans()) == 4
    assert call.kind is SpanKind.INTERNAL  # only the HTTP attempts are outgoing calls
    assert call.attributes is not None
    assert call.attributes["lean.attempts"] == 3
    assert call.attributes["lean.idempotency_key"]
    assert "error.type" not in call.attributes
    assert call.status.status_code is StatusCode.UNSET
    assert [span.parent and span.parent.span_id for span in attempts] == [call.context.span_id] * 3
    assert [span.kind for span in attempts] == [SpanKind.CLIENT] * 3
    assert [(span.attributes or {}).get("http.request.resend_count") for span in attempts] == [
        None,
        1,
        2,
    ]
    assert [(span.attributes or {})["http.response.status_code"] for span in attempts] == [
        503,
        503,
        201,
    ]
    assert [(span.attributes or {}).get("error.type") for span in attempts] == ["503", "503", None]
    assert [span.status.status_code for span in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    for span in attempts:
        assert span.attributes is not None
        assert span.attributes["http.request.method"] == "POST"
        assert span.attributes["url.template"] == "/gig"
        assert span.attributes["server.address"] == "app.staging.withlean.com"
        assert span.attributes["server.port"] == 443

    events = call.events
    assert [event.name for event in events] == ["lean.retry", "lean.retry"]
    for attempt, event in enumerate(events, start=1):
        assert event.attributes is not None
        assert event.attributes["lean.retry.cause"] == "503"
        assert event.attributes["lean.retry.attempt"] == attempt
        assert 0 <= float(event.attributes["lean.retry.delay"]) <= 0.002  # type: ignore[arg-type]

    (retries,) = otel.points("lean.client.retries")
    assert retries.value == 2
    assert dict(retries.attributes) == {"lean.operation": "gigs.create", "lean.retry.cause": "503"}
    durations = otel.points("http.client.request.duration")
    assert sorted((p.attributes["http.response.status_code"], p.count) for p in durations) == [
        (201, 1),
        (503, 2),
    ]
    (call_duration,) = otel.points("lean.client.call.duration")
    assert call_duration.count == 1
    assert dict(call_duration.attributes) == {
        "lean.operation": "gigs.create",
        "lean.outcome": "success",
    }


async def test_a_validation_failure_is_a_failed_span_without_attempts(otel: Otel) -> None:
    """A create whose arguments break a rule gives its span error.type and sends nothing."""
    async with otel.client(answers(body=GIG)) as lean:
        with pytest.raises(ValidationError):
            await lean.gigs.create(**{**GIG_ARGUMENTS, "total_amount": "-1"})

    (call,) = otel.spans()
    assert call.name == "lean.gigs.create"
    assert call.attributes is not None
    assert call.attributes["error.type"] == "ValidationError"
    assert call.attributes["lean.attempts"] == 0
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description == "ValidationError"
    assert call.events == ()
    (point,) = otel.points("lean.client.call.duration")
    assert dict(point.attributes) == {
        "lean.operation": "gigs.create",
        "lean.outcome": "error",
        "error.type": "ValidationError",
    }
    assert otel.points("http.client.request.duration") == []


async def test_a_failed_call_records_the_error_class_not_its_message(otel: Otel) -> None:
    """A 404 gives error.type NotFoundError and a status description without the message."""
    async with otel.client(answers(404, body={})) as lean:
        with pytest.raises(NotFoundError):
            await lean.customers.get("uid_secret_looking_42")

    (call,) = otel.spans("lean.customers.get")
    (attempt,) = otel.spans("GET /customer/{partnerUserId}")
    assert call.attributes is not None
    assert call.attributes["error.type"] == "NotFoundError"
    assert call.status.description == "NotFoundError"
    assert (attempt.attributes or {})["error.type"] == "404"
    assert "lean.idempotency_key" not in call.attributes
    for span in otel.spans():
        assert "uid_secret_looking_42" not in repr(span.to_json())


async def test_url_template_never_holds_the_raw_id(otel: Otel) -> None:
    """Reads by id are reported as their collection's template, for each resource."""
    bodies = [REFERENCE_CREATED_CUSTOMER, GIG, REFERENCE_SPECIAL_PAYMENT]
    queue = list(bodies)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=queue.pop(0))

    async with otel.client(handler) as lean:
        await lean.customers.get("uid_847834395730535")
        await lean.gigs.get("gig 17/a")
        await lean.special_payments.get("special_payment_9384127512")

    templates = {
        (span.attributes or {})["url.template"]
        for span in otel.spans()
        if "url.template" in (span.attributes or {})
    }
    assert templates == {"/customer/{partnerUserId}", "/gig/{gigId}", "/specialpayment/{id}"}
    names = {span.name for span in otel.spans()}
    assert "GET /gig/{gigId}" in names
    for span in otel.spans():
        text = span.to_json()
        assert "uid_847834395730535" not in text
        assert "gig 17" not in text
        assert "special_payment_9384127512" not in text
        assert "gig%2017" not in text


async def test_the_attempt_span_context_is_sent_as_traceparent(otel: Otel) -> None:
    """Each attempt carries a traceparent naming its own span in the call's trace."""
    sent: list[str | None] = []
    inner = answers(503, 200, body=GIG)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("traceparent"))
        return inner(request)

    async with otel.client(handler) as lean:
        await lean.gigs.get("gig_1")

    attempts = otel.spans("GET /gig/{gigId}")
    expected = [
        f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-01" for span in attempts
    ]
    assert [value and value[:-2] + "01" for value in sent] == expected
    assert len(set(sent)) == 2


async def test_the_raw_request_is_one_logical_call(otel: Otel) -> None:
    """LeanClient.request is traced as span lean.request with its attempts below it."""
    async with otel.client(answers(200, body=[])) as lean:
        await lean.request("GET", "gig")

    (call,) = otel.spans("lean.request")
    (attempt,) = otel.spans("GET /gig")
    assert attempt.parent is not None
    assert attempt.parent.span_id == call.context.span_id
    assert (call.attributes or {})["lean.attempts"] == 1


async def test_a_reconciled_create_counts_its_lookup_as_an_attempt(otel: Otel) -> None:
    """A create answered 409 then looked up is one span: the POST and the GET below it."""
    sent: dict[str, object] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.update(json.loads(request.content))
            return httpx.Response(409, json={"message": "exists"})
        return httpx.Response(200, json={**GIG, **sent})

    async with otel.client(handler) as lean:
        await lean.gigs.create(**GIG_ARGUMENTS)

    (call,) = otel.spans("lean.gigs.create")
    assert (call.attributes or {})["lean.attempts"] == 2
    assert [span.name for span in otel.spans() if span is not call] == [
        "POST /gig",
        "GET /gig/{gigId}",
    ]


async def test_copies_share_the_clients_telemetry(otel: Otel) -> None:
    """A with_options copy reports to the providers its original was given."""
    async with otel.client(answers(200, body=GIG)) as lean:
        await lean.with_options(max_retries=0).gigs.get("gig_1")
    assert len(otel.spans("lean.gigs.get")) == 1


async def test_a_wait_nests_its_reads(otel: Otel) -> None:
    """wait_until_settled is one span with each poll's lean.gigs.get below it."""
    settled = {**GIG, "status": "SUCCESS"}
    async with otel.client(answers(200, body=settled)) as lean:
        await lean.gigs.wait_until_settled("gig_1", timeout=1, poll_interval=0)

    (wait,) = otel.spans("lean.gigs.wait_until_settled")
    (read,) = otel.spans("lean.gigs.get")
    assert read.parent is not None
    assert read.parent.span_id == wait.context.span_id


RESOURCES = list(
    dict.fromkeys(
        typing.get_type_hints(getattr(LeanClient, row.resource).func)["return"] for row in ENDPOINTS
    )
)
"""The resource classes of the endpoint table's rows."""
ANSWERS: dict[type, dict[str, object]] = {
    Customer: REFERENCE_CREATED_CUSTOMER,
    Application: REFERENCE_APPLICATION,
    Gig: GIG,
    SpecialPayment: REFERENCE_SPECIAL_PAYMENT,
}


@pytest.mark.parametrize("row", ENDPOINTS, ids=lambda row: row.name)
async def test_each_rows_method_is_its_logical_call(otel: Otel, row: EndpointRow[Any]) -> None:
    """A row's resource method is traced as ``lean.<row.name>``, its attempt as its route."""
    answer = ANSWERS[row.model]
    async with otel.client(answers(200, body=[answer] if row.many else answer)) as lean:
        method = getattr(getattr(lean, row.resource), row.operation)
        if row.request is not None:
            await method(**example_of(row.request))
        elif row.parameter is not None:
            await method("id_1")
        else:
            await method()
    assert [span.name for span in otel.spans()] == [row.route, "lean." + row.name]


async def test_a_wait_counts_every_attempt_of_its_polls(otel: Otel) -> None:
    """A wait polled three times, one poll retried once, reports lean.attempts = 4.

    The wait and its polls are INTERNAL spans; the four HTTP attempts alone are CLIENT.
    """
    pending = {**GIG, "status": "PENDING"}
    settled = {**GIG, "status": "SUCCESS"}
    bodies = [pending, None, pending, settled]  # None: a 503 the retry layer repeats

    def handler(request: httpx.Request) -> httpx.Response:
        body = bodies.pop(0)
        if body is None:
            return httpx.Response(503, json={"message": "unavailable"})
        return httpx.Response(200, json=body)

    async with otel.client(handler) as lean:
        await lean.gigs.wait_until_settled("gig_1", timeout=5, poll_interval=0)

    (wait,) = otel.spans("lean.gigs.wait_until_settled")
    reads = otel.spans("lean.gigs.get")
    attempts = otel.spans("GET /gig/{gigId}")
    assert (wait.attributes or {})["lean.attempts"] == 4
    assert [(r.attributes or {})["lean.attempts"] for r in reads] == [1, 2, 1]
    assert {span.kind for span in [wait, *reads]} == {SpanKind.INTERNAL}
    assert [span.kind for span in attempts] == [SpanKind.CLIENT] * 4
    assert not bodies


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.__name__)
def test_every_public_resource_method_is_traced(resource: type) -> None:
    """Each public method but create_many (an iterator, not a call) is a traced call."""
    methods = [
        name
        for name, value in vars(resource).items()
        if not name.startswith("_") and inspect.isfunction(value) and name != "create_many"
    ]
    assert methods
    for name in methods:
        assert inspect.iscoroutinefunction(getattr(resource, name).__wrapped__), name


def test_traced_methods_are_still_coroutine_functions() -> None:
    """Tracing keeps each call a coroutine function, so autospec mocks make them async."""
    from unittest import mock

    assert inspect.iscoroutinefunction(Gigs.create)
    assert inspect.iscoroutinefunction(LeanClient.request)
    spec = mock.create_autospec(LeanClient, instance=True)
    assert isinstance(spec.request, mock.AsyncMock)


async def test_a_tracer_provider_alone_traces_without_metrics(otel: Otel) -> None:
    """Given only tracer_provider= (no global meter provider), spans are recorded."""
    async with LeanClient(
        api_key="k",
        base_url="https://app.staging.withlean.com/api",
        transport=httpx.MockTransport(answers(200, body=GIG)),
        tracer_provider=otel.tracer_provider,
    ) as lean:
        await lean.gigs.get("gig_1")
    assert [span.name for span in otel.spans()] == ["GET /gig/{gigId}", "lean.gigs.get"]
    assert otel.points("lean.client.call.duration") == []


async def test_an_attempt_without_an_answer_records_the_exception_class(otel: Otel) -> None:
    """A refused connection then a 200: the first attempt's error.type and the retry cause."""
    outcomes: list[httpx.Response | Exception] = [
        httpx.ConnectError("refused: secret detail"),
        httpx.Response(200, json=GIG),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async with otel.client(handler) as lean:
        await lean.gigs.get("gig_1")

    first, second = otel.spans("GET /gig/{gigId}")
    assert (first.attributes or {})["error.type"] == "ConnectError"
    assert first.status.status_code is StatusCode.ERROR
    assert first.status.description == "ConnectError"
    assert "http.response.status_code" not in (first.attributes or {})
    assert (second.attributes or {})["http.request.resend_count"] == 1
    (call,) = otel.spans("lean.gigs.get")
    (event,) = call.events
    assert (event.attributes or {})["lean.retry.cause"] == "ConnectError"
    assert "secret detail" not in call.to_json() + first.to_json()
    (retries,) = otel.points("lean.client.retries")
    assert dict(retries.attributes)["lean.retry.cause"] == "ConnectError"


async def test_wait_until_active_counts_its_polls(otel: Otel) -> None:
    """customers.wait_until_active over PENDING, PENDING, ACTIVE reports lean.attempts = 3."""
    pending = REFERENCE_CREATED_CUSTOMER
    bodies = [pending, pending, {**pending, "status": "ACTIVE"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=bodies.pop(0))

    async with otel.client(handler) as lean:
        await lean.customers.wait_until_active(pending["partnerUserId"], timeout=5, poll_interval=0)

    (wait,) = otel.spans("lean.customers.wait_until_active")
    assert (wait.attributes or {})["lean.attempts"] == 3
    assert wait.kind is SpanKind.INTERNAL
    assert [s.kind for s in otel.spans("GET /customer/{partnerUserId}")] == [SpanKind.CLIENT] * 3
