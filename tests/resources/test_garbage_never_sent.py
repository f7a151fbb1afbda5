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
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lean_async import LeanClient, ValidationError
from lean_async._validate import (
    check_application,
    check_customer,
    check_gig,
    check_idempotency_key,
    check_special_payment,
)
from tests.garbage import ANYTHING, NASTY_TEXT
from tests.reference import REFERENCE_APPLICATION
from tests.resources.conftest import CUSTOMER_JSON, GIG_JSON, KEY, SPECIAL_PAYMENT_JSON
from tests.resources.test_customers import ARGS as CUSTOMER_ARGS
from tests.resources.test_gigs import ARGS as GIG_ARGS

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SPECIAL_PAYMENT_ARGS: dict[str, Any] = {
    "partner_user_id": "uid_1",
    "amount": "4.56",
    "type": "reimbursement",
    "gig_id": None,
    "description": None,
    "userdata": None,
    "idempotency_key": None,
}
ACTIVE_CUSTOMER = {**CUSTOMER_JSON, "status": "ACTIVE"}
# What the recording transport answers, and the wire check a POST body must pass.
ANSWERS: dict[str, tuple[Any, Callable[[object], list[tuple[str, str]]] | None]] = {
    "customer": (ACTIVE_CUSTOMER, check_customer),
    "application": (REFERENCE_APPLICATION, check_application),
    "gig": (GIG_JSON, check_gig),
    "specialpayment": (SPECIAL_PAYMENT_JSON, check_special_payment),
}


class Recorder:
    """An `httpx.MockTransport` handler that keeps every request and answers 200."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        collection = request.url.path.removeprefix("/api/").split("/")[0]
        answer, _ = ANSWERS[collection]
        return httpx.Response(200, json=answer)


def assert_sent_requests_are_valid(requests: list[httpx.Request]) -> None:
    """Every recorded request has one id segment at most and a body the sandbox accepts."""
    for request in requests:
        segments = request.url.raw_path.decode("ascii").removeprefix("/api/").split("/")
        assert len(segments) <= 2
        assert all(segment not in {"", ".", ".."} for segment in segments)
        if request.method == "POST":
            _, check = ANSWERS[segments[0]]
            assert check is not None
            assert check(json.loads(request.content.decode("utf-8"))) == []
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


@PROPERTY
@given(args=loosened(CUSTOMER_ARGS))
async def test_customers_create(args: dict[str, Any]) -> None:
    """customers.create sends a valid body or raises ValidationError, sending nothing."""
    await outcome(lambda lean: lean.customers.create(**args), list(CUSTOMER_ARGS))


@PROPERTY
@given(args=loosened({"partner_user_id": "uid_1"}))
async def test_applications_submit(args: dict[str, Any]) -> None:
    """applications.submit sends a valid body or raises ValidationError, sending nothing."""
    await outcome(lambda lean: lean.applications.submit(**args), ["partner_user_id"])


@PROPERTY
@given(args=loosened(GIG_ARGS))
async def test_gigs_create(args: dict[str, Any]) -> None:
    """gigs.create sends a valid body or raises ValidationError, sending nothing."""
    await outcome(lambda lean: lean.gigs.create(**args), list(GIG_ARGS))


@PROPERTY
@given(args=loosened(SPECIAL_PAYMENT_ARGS))
async def test_special_payments_create(args: dict[str, Any]) -> None:
    """special_payments.create sends a valid body and key or raises ValidationError."""
    await outcome(lambda lean: lean.special_payments.create(**args), list(SPECIAL_PAYMENT_ARGS))


IDENTIFIERS = st.just("uid_1") | NASTY_TEXT | ANYTHING


@PROPERTY
@given(identifier=IDENTIFIERS, which=st.sampled_from(["customers", "gigs", "special_payments"]))
async def test_get(identifier: object, which: str) -> None:
    """get sends one GET to one path segment or raises ValidationError, sending nothing."""
    names = {"customers": "partner_user_id", "gigs": "gig_id", "special_payments": "id"}

    async def call(lean: LeanClient) -> object:
        resource = getattr(lean, which)
        return await resource.get(identifier)

    requests = await outcome(call, [names[which]])
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
