"""LeanClient: configuration, safety checks, with_options, lifecycle, logging."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import sys
from collections.abc import Callable, Iterator
from functools import cached_property
from types import FrameType
from typing import Any
from unittest import mock

import attrs
import httpx
import pytest
import respx

import lean_async
from lean_async import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    Environment,
    InternalServerError,
    LeanClient,
    LeanError,
    ServiceUnavailableError,
)
from lean_async.resources._base import Resource
from lean_async.testing import set_testing

KEY = "sk_live_do_not_leak_9c1e"
SANDBOX = "https://app.staging.withlean.com/api"
# Nothing listens on the discard port: a call there opens the running loop's pool and fails.
NOBODY = "http://127.0.0.1:9/api"


async def _open_pool(lean: LeanClient) -> None:
    """Make *lean* open its pool in the running loop (the call itself fails)."""
    with pytest.raises(APIConnectionError):
        await lean.with_options(max_retries=0).gigs.list()


AUTH = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Retry without waiting."""
    set_testing(True)
    yield
    set_testing(False)


async def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEAN_API_KEY and LEAN_ENVIRONMENT fill in what the caller left out."""
    monkeypatch.setenv("LEAN_API_KEY", KEY)
    monkeypatch.setenv("LEAN_ENVIRONMENT", "production")
    async with LeanClient() as lean:
        assert lean.environment is Environment.PRODUCTION
        assert lean.base_url == "https://app.withlean.com/api/"


async def test_sandbox_is_the_default_environment() -> None:
    """Without any setting the client talks to the sandbox's documented host."""
    async with LeanClient(api_key=KEY) as lean:
        assert lean.environment is Environment.SANDBOX
        assert lean.base_url == SANDBOX + "/"


async def test_base_url_env_and_production_inference(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEAN_BASE_URL is used, and the production URL implies the production environment."""
    monkeypatch.setenv("LEAN_BASE_URL", "https://app.withlean.com/api/")
    async with LeanClient(api_key=KEY) as lean:
        assert lean.environment is Environment.PRODUCTION


def test_missing_key_is_a_clear_error() -> None:
    """No key anywhere raises LeanError naming LEAN_API_KEY."""
    with pytest.raises(LeanError, match="LEAN_API_KEY"):
        LeanClient()


def test_unknown_environment() -> None:
    """An unknown environment name is refused with the valid choices."""
    with pytest.raises(LeanError, match="'sandbox'"):
        LeanClient(api_key=KEY, environment="staging")


@pytest.mark.parametrize(
    "url",
    ["http://app.withlean.com/api", "http://10.0.0.5/api", "ftp://x/api", "https://u:p@host/api"],
)
def test_unsafe_base_urls_are_refused(url: str) -> None:
    """Plain http to a remote host, non-http schemes and URLs with credentials are refused."""
    with pytest.raises(LeanError):
        LeanClient(api_key=KEY, base_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/api", "http://localhost/api", "http://[::1]:9/api"]
)
async def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    """A local sandbox over plain http is fine."""
    async with LeanClient(api_key=KEY, base_url=url) as lean:
        assert lean.base_url.startswith("http://")


def test_not_given_sentinel_has_a_readable_repr() -> None:
    """with_options' sentinel shows as NOT_GIVEN in signatures and debuggers."""
    from lean_async._client import NOT_GIVEN

    assert repr(NOT_GIVEN) == "NOT_GIVEN"


def test_http_client_and_transport_are_exclusive() -> None:
    """Passing both http_client= and transport= is a usage error."""
    with pytest.raises(LeanError, match="not both"):
        LeanClient(
            api_key=KEY, http_client=httpx.AsyncClient(), transport=httpx.MockTransport(print)
        )


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_max_response_bytes_must_be_a_positive_int(bad: object) -> None:
    """max_response_bytes rejects zero, negatives, bools and floats."""
    with pytest.raises(LeanError, match="max_response_bytes must be a positive integer"):
        LeanClient(api_key=KEY, max_response_bytes=bad)  # type: ignore[arg-type]


async def test_max_response_bytes_refuses_a_larger_body() -> None:
    """A list answer above max_response_bytes raises APIResponseValidationError, unretried."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json=[{"id": str(n)} for n in range(100)])

    transport = httpx.MockTransport(handler)
    async with LeanClient(api_key=KEY, transport=transport, max_response_bytes=500) as lean:
        with pytest.raises(APIResponseValidationError, match="max_response_bytes") as info:
            await lean.gigs.list()
    assert calls == ["/api/gig"]
    assert (info.value.status_code, info.value.attempts) == (200, 1)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_deeply_nested_2xx_body_is_a_response_validation_error(method: str) -> None:
    """A 2xx body nested past the recursion limit is APIResponseValidationError, with the key."""
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"[" * 100_000))
    async with LeanClient(api_key=KEY, transport=transport) as lean:
        if method == "POST":
            call = lean.special_payments.create(
                partner_user_id="uid_1", amount="1.00", type="bonus", idempotency_key="k-deep"
            )
        else:
            call = lean.special_payments.list()
        with pytest.raises(APIResponseValidationError, match="nested too deeply") as info:
            await call
    error = info.value
    assert (error.status_code, error.attempts, error.path) == (200, 1, "$")
    assert error.idempotency_key == ("k-deep" if method == "POST" else None)
    assert error.__cause__ is None


@attrs.frozen(kw_only=True)
class Node:
    """A self-similar model: structuring it recurses once per level of the body."""

    child: Node | None = None


async def test_body_that_decodes_but_is_too_deep_to_structure() -> None:
    """JSON that decodes but exhausts recursion while structured is a validation error."""
    body = b'{"child": ' * 600 + b"null" + b"}" * 600
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    async with LeanClient(api_key=KEY, transport=transport) as lean:
        response = await lean.request("GET", "node")
        assert response.json()["child"]["child"] is not None  # it decodes
        with pytest.raises(APIResponseValidationError) as info:
            lean.parse(response, Node)
        with pytest.raises(APIResponseValidationError) as info:
            await lean._send("GET", "node", cast_to=Node)
    assert info.value.attempts == 1
    assert info.value.path.startswith("$.child.child")


async def test_parse_list_decodes_a_json_array_from_request() -> None:
    """request() then parse_list() gives the models a resource's list() would, in order."""
    body = b'[{"child": null}, {"child": {"child": null}}]'
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    async with LeanClient(api_key=KEY, transport=transport) as lean:
        response = await lean.request("GET", "node")
        assert lean.parse_list(response, Node) == [Node(), Node(child=Node())]
        with pytest.raises(APIResponseValidationError):
            lean.parse(response, Node)  # an array is not one Node


def _frames() -> int:
    frame: FrameType | None = sys._getframe(1)
    count = 0
    while frame is not None:
        count += 1
        frame = frame.f_back
    return count


def _at_depth(levels: int, call: Callable[[], object]) -> object:
    """Run *call* under *levels* more frames, as from deep inside an application."""
    return call() if levels <= 0 else _at_depth(levels - 1, call)


@pytest.mark.parametrize("depth", [150, 300])
async def test_deep_body_parsed_deep_in_the_stack(depth: int) -> None:
    """With little recursion left, a deep body is still an APIResponseValidationError."""
    body = b'{"child": ' * depth + b"null" + b"}" * depth
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body))
    async with LeanClient(api_key=KEY, transport=transport) as lean:
        response = await lean.request("GET", "node")
        levels = sys.getrecursionlimit() - _frames() - 120
        with pytest.raises(APIResponseValidationError):
            _at_depth(levels, lambda: lean.parse(response, Node))


async def test_shape_error_quoting_the_key_is_redacted() -> None:
    """A 2xx body that echoes the key in a bad field shows [REDACTED] in the error."""
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json=[{"id": 1, "status": KEY, KEY: KEY}])
    )
    async with LeanClient(api_key=KEY, transport=transport) as lean:
        with pytest.raises(APIResponseValidationError) as info:
            await lean.gigs.list()
    texts = (str(info.value), repr(info.value), repr(info.value.body), info.value.path)
    assert "[REDACTED]" in repr(info.value.body)
    for text in texts:
        assert KEY not in text


async def test_post_idempotency_key_is_made_before_sending() -> None:
    """LeanClient.request gives a POST its key; the server sees it, and only POSTs get one."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("idempotency-key"))
        return httpx.Response(200, json={})

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        await lean.request("POST", "customer", json={})
        await lean.request("POST", "customer", json={}, idempotency_key="mine")
        await lean.request("GET", "customer/1")
    assert seen[0] is not None
    assert len(seen[0]) == 36
    assert seen[1:] == ["mine", None]


async def test_each_call_makes_one_key_for_all_its_attempts() -> None:
    """The client makes a POST's key once: its retries reuse it, another call gets its own."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["idempotency-key"])
        return httpx.Response(503 if len(seen) == 1 else 200, json={})

    async with LeanClient(
        api_key=KEY, transport=httpx.MockTransport(handler), backoff_base=0.0
    ) as lean:
        await lean.request("POST", "specialpayment", json={}, replay_safe=True)
        await lean.request("POST", "specialpayment", json={}, replay_safe=True)
    assert len(seen) == 3
    assert seen[0] == seen[1] != seen[2]


async def test_cancelled_post_carries_its_idempotency_key_in_a_note() -> None:
    """asyncio.timeout over a slow POST: the TimeoutError's cause has a note with the key."""
    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["idempotency-key"])
        await asyncio.Event().wait()  # until the caller's timeout cancels it
        raise AssertionError("not reached")

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.05):
                await lean.special_payments.create(
                    partner_user_id="uid_1", amount="1.00", type="bonus"
                )
    cause = info.value.__cause__
    assert isinstance(cause, asyncio.CancelledError)
    [note] = cause.__notes__
    assert f"idempotency_key={seen[0]!r}" in note
    assert "POST specialpayment was cancelled" in note


async def test_cancelled_get_has_no_note() -> None:
    """A cancelled GET has no key to report and gets no note."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()  # until the caller's timeout cancels it
        raise AssertionError("not reached")

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0.05):
                await lean.gigs.list()
    assert not hasattr(info.value.__cause__, "__notes__")


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_max_retries_must_be_a_non_negative_int(bad: object) -> None:
    """max_retries rejects negatives, bools and floats."""
    with pytest.raises(LeanError, match="max_retries"):
        LeanClient(api_key=KEY, max_retries=bad)  # type: ignore[arg-type]


async def test_key_never_in_repr_or_errors() -> None:
    """Neither the client's repr nor an API error's text contains the key."""
    transport = httpx.MockTransport(lambda r: httpx.Response(503, json={"message": "down"}))
    async with LeanClient(api_key=KEY, transport=transport, max_retries=0) as lean:
        assert KEY not in repr(lean)
        with pytest.raises(ServiceUnavailableError) as info:
            await lean.gigs.list()
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


async def test_transport_replaces_only_the_base() -> None:
    """With transport=, auth, idempotency and retry still apply."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if len(seen) == 1:
            return httpx.Response(503)
        return httpx.Response(200, json=[])

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        assert await lean.gigs.list() == []
    assert seen == [AUTH, AUTH]


async def test_http_client_is_used_and_left_open() -> None:
    """A caller's httpx client carries the requests and stays open after aclose()."""
    calls: list[httpx.Request] = []
    auth: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        auth.append(request.headers["authorization"])
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as own:
        async with LeanClient(api_key=KEY, http_client=own) as lean:
            assert await lean.special_payments.list() == []
        assert not own.is_closed
    assert calls[0].url == SANDBOX + "/specialpayment"
    assert auth == [AUTH]


async def test_with_options_shares_the_pool_and_changes_settings() -> None:
    """with_options copies share one pool; their settings reach the requests."""
    attempts = 0
    closed = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return httpx.Response(503)

    class Base(httpx.MockTransport):
        async def aclose(self) -> None:
            nonlocal closed
            closed += 1

    lean = LeanClient(api_key=KEY, transport=Base(handler))
    fast = lean.with_options(timeout=5.0, max_retries=0, deadline=30.0)
    assert (fast.timeout, fast.max_retries, fast.deadline) == (5.0, 0, 30.0)
    assert lean.max_retries == 3
    assert fast.gigs is not lean.gigs
    with pytest.raises(ServiceUnavailableError):
        await fast.gigs.list()
    assert attempts == 1
    await fast.aclose()
    assert closed == 0
    with pytest.raises(ServiceUnavailableError):
        await lean.with_options(max_retries=1).gigs.list()  # the pool is still open
    await lean.aclose()
    assert closed == 1
    with pytest.raises(LeanError, match="closed"):
        await fast.gigs.list()


class _Echo(Resource):
    """A resource added in a test, the way a new endpoint would be added."""

    __slots__ = ()

    async def get(self) -> list[Node]:
        """GET /echo."""
        return await self._client._send("GET", "echo", cast_to=list[Node])


class _ClientWithEcho(LeanClient):
    """A LeanClient with one more resource attribute."""

    @cached_property
    def echo(self) -> _Echo:
        """The throwaway resource."""
        return _Echo(self)


async def test_with_options_applies_to_a_resource_added_later() -> None:
    """A resource no list names still sends with the settings of the with_options copy."""
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return httpx.Response(503)

    async with _ClientWithEcho(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        assert lean.echo is lean.echo
        copy = lean.with_options(max_retries=0)
        assert isinstance(copy, _ClientWithEcho)
        with pytest.raises(ServiceUnavailableError):
            await copy.echo.get()
        assert attempts == 1
        with pytest.raises(ServiceUnavailableError):
            await lean.echo.get()
        assert attempts == 1 + 4


@pytest.mark.parametrize("bad", [-1, True, 1.5])
async def test_with_options_checks_max_retries(bad: object) -> None:
    """with_options refuses the max_retries the constructor refuses."""
    async with LeanClient(api_key=KEY) as lean:
        with pytest.raises(LeanError, match="max_retries"):
            lean.with_options(max_retries=bad)  # type: ignore[arg-type]


async def test_pool_keeps_idle_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx's pool keeps as many idle connections as it may open."""
    limits: list[httpx.Limits] = []
    real = httpx.AsyncHTTPTransport

    def spy(**kwargs: Any) -> httpx.AsyncHTTPTransport:
        limits.append(kwargs["limits"])
        return real(**kwargs)

    monkeypatch.setattr(httpx, "AsyncHTTPTransport", spy)
    async with LeanClient(api_key=KEY, base_url=NOBODY, max_connections=7, backend="httpx") as lean:
        await _open_pool(lean)
    async with LeanClient(
        api_key=KEY,
        base_url=NOBODY,
        max_connections=7,
        max_keepalive_connections=2,
        backend="httpx",
    ) as lean:
        await _open_pool(lean)
    assert [(x.max_connections, x.max_keepalive_connections) for x in limits] == [(7, 7), (7, 2)]


async def test_closed_client_refuses_calls() -> None:
    """A call on a closed client raises LeanError; closing twice is harmless."""
    lean = LeanClient(api_key=KEY)
    await lean.aclose()
    await lean.aclose()
    with pytest.raises(LeanError, match="closed"):
        await lean.gigs.list()


async def test_unclosed_client_warns_without_cleanup() -> None:
    """Dropping a client whose pool is open in a running loop warns and schedules nothing."""
    lean = LeanClient(api_key=KEY, base_url=NOBODY)
    await _open_pool(lean)
    pool = lean._shared.pools
    assert pool is not None
    assert pool.open_pools == 1
    # What the garbage collector runs when the client goes. Called directly: on Python
    # 3.12+ the frames of the failed call in _open_pool stay referenced for a while after
    # it returned (not yet traced down), so dropping the last name does not collect it.
    with pytest.warns(ResourceWarning, match="unclosed"):
        lean.__del__()
    await pool.aclose()  # what the warning asks for; the inner pool warns otherwise


def test_a_client_that_never_opened_a_pool_does_not_warn() -> None:
    """A module-level client that was never used, or whose loops all finished, holds nothing."""
    LeanClient(api_key=KEY)
    gc.collect()


async def test_debug_logging_redacts_the_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """LEAN_LOG=debug logs each call and the retries, never the key or Authorization."""
    monkeypatch.setenv("LEAN_LOG", "debug")
    logger = logging.getLogger("lean_async")
    previous = logger.level
    try:
        with respx.mock(base_url=SANDBOX) as router:
            router.get("/gig").mock(
                side_effect=[httpx.ConnectError("boom"), httpx.Response(200, json=[])]
            )
            async with LeanClient(api_key=KEY, backend="httpx") as lean:
                assert logger.isEnabledFor(logging.DEBUG)
                with caplog.at_level(logging.DEBUG, logger="lean_async"):
                    await lean.gigs.list()
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "/gig" in text
        assert KEY not in text
        assert "Basic" not in text
    finally:
        logger.setLevel(previous)


async def test_connection_failure_is_an_api_connection_error() -> None:
    """A refused connection after all retries raises APIConnectionError with attempts."""
    transport = httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("no")))
    async with LeanClient(api_key=KEY, transport=transport, max_retries=2) as lean:
        with pytest.raises(APIConnectionError) as info:
            await lean.gigs.get("g1")
    assert info.value.attempts == 3
    assert info.value.url == SANDBOX + "/gig/g1"


def test_public_names_are_pinned() -> None:
    """The top-level surface is exactly the pinned public API (plus Environment)."""
    assert lean_async.__all__ == sorted(lean_async.__all__, key=str)
    expected = {
        "LeanClient",
        "Customer",
        "Application",
        "Gig",
        "SpecialPayment",
        "WebhookEvent",
        "BatchResult",
        "CustomerStatus",
        "ApplicationStatus",
        "PaymentStatus",
        "SpecialPaymentType",
        "EventType",
        "Environment",
        "__version__",
        "LeanError",
        "ValidationError",
        "SandboxOnlyError",
        "WebhookVerificationError",
        "APIError",
        "APIConnectionError",
        "APITimeoutError",
        "APIResponseValidationError",
        "APIStatusError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "RateLimitError",
        "InternalServerError",
        "ServiceUnavailableError",
        "UnprocessableEntityError",
    }
    assert set(lean_async.__all__) == expected
    for name in expected:
        assert getattr(lean_async, name) is not None


@pytest.mark.parametrize("status", [200, 500])
async def test_body_its_charset_cannot_decode_is_a_documented_error(status: int) -> None:
    """A body that its declared charset cannot decode still maps to a documented error."""
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            status,
            content=b"\x00\x00",
            headers={"content-type": "application/json; charset=utf-16"},
        )
    )
    async with LeanClient(api_key=KEY, transport=transport, max_retries=0) as lean:
        with pytest.raises(APIError) as info:
            await lean.customers.get("uid_1")
    expected = APIResponseValidationError if status == 200 else InternalServerError
    assert type(info.value) is expected
    assert info.value.body == "\x00\x00"


async def test_timeout_reaches_the_base_as_httpx_reads_it() -> None:
    """Each request carries its client's timeout as httpx's extension dict."""
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=[])

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        await lean.gigs.list()
        await lean.with_options(timeout=5.0).gigs.list()
        await lean.with_options(timeout=None).gigs.list()
    assert seen == [
        httpx.Timeout(30.0, connect=5.0).as_dict(),
        httpx.Timeout(5.0).as_dict(),
        httpx.Timeout(None).as_dict(),
    ]


async def test_requests_carry_the_default_headers_and_one_body() -> None:
    """A create sends the SDK's headers and its JSON body, compact and UTF-8, once."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "id": "sp_1",
                "partnerUserId": "uid_1",
                "amount": "1.00",
                "type": "bonus",
                "status": "PENDING",
            },
        )

    async with LeanClient(api_key=KEY, transport=httpx.MockTransport(handler)) as lean:
        await lean.special_payments.create(
            partner_user_id="uid_1", amount="1.00", type="bonus", description="caf\u00e9"
        )
    [request] = seen
    assert request.url == SANDBOX + "/specialpayment"
    assert request.headers["user-agent"] == f"lean-async/{lean_async.__version__}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == "app.staging.withlean.com"
    assert "caf\u00e9".encode() in request.content
    assert b", " not in request.content
    assert int(request.headers["content-length"]) == len(request.content)


async def test_responses_handed_out_are_complete() -> None:
    """request()'s response and an error's response have their request and elapsed time."""
    transport = httpx.MockTransport(
        lambda r: httpx.Response(404 if r.url.path.endswith("/1") else 200, json={})
    )
    async with LeanClient(api_key=KEY, transport=transport) as lean:
        response = await lean.request("GET", "gig")
        assert response.request.url == SANDBOX + "/gig"
        assert response.elapsed.total_seconds() >= 0
        with pytest.raises(APIError) as info:
            await lean.gigs.get("1")
    error_response = info.value.response  # type: ignore[attr-defined]
    assert error_response.elapsed.total_seconds() >= 0
    assert error_response.request.url == SANDBOX + "/gig/1"


def test_unknown_backend_is_refused() -> None:
    """backend= names one of the two pooled bases, or the client refuses to build."""
    with pytest.raises(LeanError, match="unknown backend 'requests'"):
        LeanClient(api_key=KEY, backend="requests")  # type: ignore[arg-type]


async def test_aiohttp_backend_owns_and_closes_its_base() -> None:
    """backend="aiohttp" puts lean-async's aiohttp base under the stack and closes it."""
    from lean_async.transport import AiohttpTransport

    seen: list[httpx.AsyncBaseTransport] = []
    original = AiohttpTransport.aclose

    async def spy(self: AiohttpTransport) -> None:
        seen.append(self)
        await original(self)

    lean = LeanClient(api_key=KEY, base_url=NOBODY, backend="aiohttp", max_connections=3)
    await _open_pool(lean)
    with mock.patch.object(AiohttpTransport, "aclose", spy):
        await lean.with_options(max_retries=0).aclose()  # a copy closes nothing
        assert seen == []
        await lean.aclose()
    assert len(seen) == 1


async def test_the_default_backend_is_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of the box a client sends over lean-async's aiohttp base, not httpx's pool."""
    from lean_async.transport import AiohttpTransport

    built: list[AiohttpTransport] = []
    original = AiohttpTransport.__init__

    def spy(self: AiohttpTransport, **kwargs: Any) -> None:
        built.append(self)
        original(self, **kwargs)

    monkeypatch.setattr(AiohttpTransport, "__init__", spy)
    async with LeanClient(api_key=KEY, base_url=NOBODY) as lean:
        assert lean.backend == "aiohttp"
        await _open_pool(lean)
    assert len(built) == 1
    async with LeanClient(api_key=KEY, base_url=NOBODY, backend="httpx") as lean:
        assert lean.backend == "httpx"
        await _open_pool(lean)
    assert len(built) == 1
