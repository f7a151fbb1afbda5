"""`parse`: verified bodies become typed `WebhookEvent`s; bad ones are rejected with paths."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from starlette.datastructures import Headers

from lean_async._codec.convert import unstructure
from lean_async.errors import WebhookVerificationError
from lean_async.models import Customer, EventType, Gig, SpecialPayment, WebhookEvent
from lean_async.webhooks import SIGNATURE_HEADER, parse, sign
from tests.webhooks._support import (
    API_KEY,
    CUSTOMER,
    GIG,
    OLD_KEY,
    SPECIAL_PAYMENT,
    encode,
    event_body,
    signed,
)


def parsed_with_warning(body: Any, caplog: pytest.LogCaptureFixture) -> tuple[WebhookEvent, str]:
    """Sign and parse *body*; return the event and the WARNING text logged meanwhile."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lean_async.webhooks"):
        event = parse(*signed(body), API_KEY)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    return event, "\n".join(r.getMessage() for r in warnings)


def rejection(body: Any) -> WebhookVerificationError:
    """Sign *body* (JSON value or raw bytes), parse it, and return the rejection."""
    payload, headers = signed(body)
    with pytest.raises(WebhookVerificationError) as info:
        parse(payload, headers, API_KEY)
    return info.value


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        ("customer.active", CUSTOMER, EventType.CUSTOMER_ACTIVE),
        ("customer.inactive", CUSTOMER, EventType.CUSTOMER_INACTIVE),
        ("gig.completed", GIG, EventType.GIG_COMPLETED),
        ("gig.failed", GIG, EventType.GIG_FAILED),
        ("specialpayment.completed", SPECIAL_PAYMENT, EventType.SPECIALPAYMENT_COMPLETED),
        ("specialpayment.failed", SPECIAL_PAYMENT, EventType.SPECIALPAYMENT_FAILED),
    ],
)
def test_known_events_carry_their_typed_object(
    event: str, data: Customer | Gig | SpecialPayment, expected: EventType
) -> None:
    """Each known event type becomes its EventType with data structured into its model."""
    body = event_body(event, unstructure(data))
    event_obj = parse(*signed(body), API_KEY)
    assert event_obj.type is expected
    assert event_obj.data == data
    assert event_obj.id == "evt_1"
    assert event_obj.created_at == dt.datetime(2024, 1, 1, 11, tzinfo=dt.UTC)
    assert event_obj.raw == body


def test_event_type_is_case_insensitive_and_type_is_an_alias() -> None:
    """ "GIG.COMPLETED" is the known type, and a body using "type" for "event" parses."""
    body = event_body("GIG.COMPLETED")
    assert parse(*signed(body), API_KEY).type is EventType.GIG_COMPLETED
    body = {"type": "gig.failed", "data": unstructure(GIG)}
    assert parse(*signed(body), API_KEY).type is EventType.GIG_FAILED
    body = {"event": None, "type": "gig.failed", "data": unstructure(GIG)}
    assert parse(*signed(body), API_KEY).type is EventType.GIG_FAILED


def test_unknown_event_types_are_kept_with_raw_data() -> None:
    """A type the SDK does not know keeps its string and its data mapping."""
    event = parse(*signed(event_body("invoice.created", {"amount": 1})), API_KEY)
    assert event.type == "invoice.created"
    assert not isinstance(event.type, EventType)
    assert event.data == {"amount": 1}


def test_unknown_event_without_data_has_empty_data() -> None:
    """An unknown event with no data gets an empty mapping."""
    body = {"event": "ping"}
    assert parse(*signed(body), API_KEY).data == {}


def test_unknown_event_with_non_object_data_is_delivered_empty(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unknown events with non-object data are handed over with {} and a warning at $.data."""
    event, warning = parsed_with_warning({"event": "ping", "data": [1, 2]}, caplog)
    assert (event.type, event.data, event.raw["data"]) == ("ping", {}, [1, 2])
    assert event.problems == ("expected a JSON object, got array @ $.data",)
    assert "@ $.data" in warning


def test_a_fitting_event_has_no_problems_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A body that fits its model is typed, has no problems and logs no warning."""
    event, warning = parsed_with_warning(event_body(), caplog)
    assert isinstance(event.data, Gig)
    assert (event.problems, warning) == ((), "")


def test_extra_fields_are_ignored() -> None:
    """New fields in the body or in the data do not break parsing."""
    data = {**unstructure(GIG), "brandNewField": True}
    body = {**event_body("gig.completed", data), "deliveryAttempt": 2}
    assert parse(*signed(body), API_KEY).data == GIG


@pytest.mark.parametrize(
    ("event_id", "problems"),
    [
        (None, ()),
        ("", ("expected a non-empty string, got string @ $.id",)),
        (42, ("expected a non-empty string, got number @ $.id",)),
    ],
)
def test_id_falls_back_to_the_sha256_of_the_payload(
    event_id: Any, problems: tuple[str, ...]
) -> None:
    """Without a non-empty string id, the id is the body's SHA-256; a bad id is reported."""
    body = event_body(event_id=None)
    if event_id is not None:
        body["id"] = event_id
    payload, headers = signed(body)
    event = parse(payload, headers, API_KEY)
    assert event.id == hashlib.sha256(payload).hexdigest()
    assert event.problems == problems


def test_missing_created_at_is_none_and_naive_is_utc() -> None:
    """createdAt may be absent (None); one without an offset is read as UTC."""
    assert parse(*signed(event_body(created_at=None)), API_KEY).created_at is None
    event = parse(*signed(event_body(created_at="2024-02-03T04:05:06")), API_KEY)
    assert event.created_at == dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("created_at", "problem"),
    [
        ("yesterday-secret", "not an ISO 8601 timestamp @ $.createdAt"),
        (1700000000, "expected a timestamp string, got number @ $.createdAt"),
        (["2024"], "expected a timestamp string, got array @ $.createdAt"),
    ],
)
def test_bad_created_at_keeps_the_event(
    created_at: Any, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A createdAt that is not a timestamp does not lose the event: None, raw kept, warned."""
    body = {**event_body(created_at=None), "createdAt": created_at}
    event, warning = parsed_with_warning(body, caplog)
    assert event.data == GIG
    assert event.created_at is None
    assert event.raw["createdAt"] == created_at
    assert event.problems == (problem,)
    assert problem in warning
    assert "secret" not in warning


@pytest.mark.parametrize(
    "payload", [b"", b"not json", b"\xff\xfe{}", b'{"a": ', b"[" * 100_000, b"1" * 5000]
)
def test_bodies_that_are_not_utf8_json_are_invalid_json(payload: bytes) -> None:
    """Empty, non-JSON, non-UTF-8, absurdly nested or huge-number bodies are invalid_json."""
    assert rejection(payload).reason == "invalid_json"


@pytest.mark.parametrize("body", [[], "gig.completed", 3, None])
def test_json_that_is_not_an_object_is_invalid_shape(body: Any) -> None:
    """A JSON array, string, number or null is invalid_shape at $."""
    error = rejection(body)
    assert error.reason == "invalid_shape"
    assert str(error).endswith("@ $")


@pytest.mark.parametrize("body", [{"data": {}}, {"event": ""}, {"event": 5}, {"type": None}])
def test_missing_event_type_is_invalid_shape(body: dict[str, Any]) -> None:
    """A body without a non-empty string event type is invalid_shape."""
    error = rejection(body)
    assert error.reason == "invalid_shape"
    assert "@ $.event" in str(error) or "@ $.type" in str(error)


@pytest.mark.parametrize(
    ("data", "kind"), [(None, "null"), ([], "array"), ("gig", "string"), (7, "number")]
)
def test_known_event_without_object_data_is_delivered_empty(
    data: Any, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A known event whose data is not an object still arrives, with {} and a warning."""
    event, warning = parsed_with_warning({"event": "gig.completed", "data": data}, caplog)
    assert (event.type, event.data) == (EventType.GIG_COMPLETED, {})
    assert event.problems == (f"expected a JSON object, got {kind} @ $.data",)
    assert "@ $.data" in warning


def test_known_event_with_a_bad_field_keeps_raw_data_and_names_the_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A field of the wrong shape gives the raw mapping, and the warning names its path."""
    data = {**unstructure(GIG), "totalAmount": "fifteen-secret"}
    event, warning = parsed_with_warning(event_body("gig.completed", data), caplog)
    assert not isinstance(event.data, Gig)
    assert event.data == data
    assert event.problems == ("invalid value for type, expected Decimal @ $.data.totalAmount",)
    assert "evt_1" in warning
    assert "gig.completed" in warning
    assert "@ $.data.totalAmount" in warning
    assert "secret" not in warning


def test_partial_customer_inactive_is_delivered_raw(caplog: pytest.LogCaptureFixture) -> None:
    """A signed customer.inactive with only some customer fields arrives as its raw data."""
    data = {"partnerUserId": "uid_1", "status": "INACTIVE"}
    event, warning = parsed_with_warning(event_body("customer.inactive", data), caplog)
    assert event.type is EventType.CUSTOMER_INACTIVE
    assert isinstance(event.data, dict)  # how a handler tells raw from typed
    assert event.data == data
    assert "required field missing @ $.data.firstName" in event.problems
    assert "@ $.data.firstName" in warning
    assert "uid_1" not in warning


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda sig: {"X-LEAN-SIGNATURE": sig},
        lambda sig: {"x-lean-signature": sig},
        lambda sig: Headers({"X-Lean-Signature": sig}),
        lambda sig: CIMultiDict({"X-Lean-Signature": sig}),
        lambda sig: CIMultiDictProxy(CIMultiDict({"x-LEAN-signature": sig})),
    ],
    ids=["dict-upper", "dict-lower", "starlette", "cimultidict", "cimultidictproxy"],
)
def test_signature_header_is_found_in_any_mapping_and_case(make_headers: Any) -> None:
    """Plain dicts, starlette Headers and aiohttp's multidicts all work, in any case."""
    payload = encode(event_body())
    assert parse(payload, make_headers(sign(payload, API_KEY)), API_KEY).id == "evt_1"


def test_parse_without_signature_header_is_missing_signature() -> None:
    """Headers without x-lean-signature are missing_signature."""
    with pytest.raises(WebhookVerificationError) as info:
        parse(encode(event_body()), {"Content-Type": "application/json"}, API_KEY)
    assert info.value.reason == "missing_signature"


def test_parse_accepts_rotated_keys() -> None:
    """parse takes the same rotation list as verify."""
    payload, headers = signed(event_body(), OLD_KEY)
    assert parse(payload, headers, [API_KEY, OLD_KEY]).type is EventType.GIG_COMPLETED


def test_parse_custom_size_limit() -> None:
    """max_body_bytes lowers the limit; the body at the limit is fine."""
    payload, headers = signed(event_body())
    parse(payload, headers, API_KEY, max_body_bytes=len(payload))
    with pytest.raises(WebhookVerificationError) as info:
        parse(payload, headers, API_KEY, max_body_bytes=len(payload) - 1)
    assert info.value.reason == "payload_too_large"


def test_parse_size_limit_can_be_switched_off() -> None:
    """max_body_bytes=None accepts a body over the 1 MiB default."""
    body = {**event_body(), "padding": " " * 1_048_576}
    assert parse(*signed(body), API_KEY, max_body_bytes=None).id == "evt_1"


@pytest.mark.parametrize("headers", [None, ["x-lean-signature"], "x-lean-signature: abc", 7])
def test_headers_that_are_not_a_mapping_are_invalid_argument(headers: Any) -> None:
    """parse(payload, None, key) and other non-mappings are invalid_argument, not AttributeError."""
    with pytest.raises(WebhookVerificationError) as info:
        parse(encode(event_body()), headers, API_KEY)
    assert info.value.reason == "invalid_argument"
    assert "headers must be a mapping" in str(info.value)


def test_parse_checks_signature_before_json() -> None:
    """An unsigned garbage body is a signature problem, not a JSON one."""
    with pytest.raises(WebhookVerificationError) as info:
        parse(b"garbage", {SIGNATURE_HEADER: sign(b"other", API_KEY)}, API_KEY)
    assert info.value.reason == "signature_mismatch"
