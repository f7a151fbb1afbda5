"""Tests for the errors layer, alone on a MockTransport."""

from __future__ import annotations

import base64
import gzip
import json
import logging
from typing import Any

import httpx
import pytest

from lean_async._config import Secret
from lean_async.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
)
from lean_async.transport import ErrorsTransport, ResponseLimitTransport
from lean_async.transport import extensions as ext
from lean_async.transport._redact import Redactor
from tests.transport.helpers import BODY_READ_ERROR, Server, build

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (418, APIStatusError),
    (429, RateLimitError),
    (500, InternalServerError),
    (501, InternalServerError),
    (502, InternalServerError),
    (503, ServiceUnavailableError),
    (504, InternalServerError),
    (302, APIStatusError),
]


async def call(response: httpx.Response, request: httpx.Request | None = None) -> APIStatusError:
    """Send *request* through the errors layer to a server answering *response*."""
    request = request or build("POST", "https://api.example/gig")
    with pytest.raises(APIStatusError) as caught:
        await ErrorsTransport(Server(response).transport()).handle_async_request(request)
    return caught.value


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
async def test_status_maps_to_class_with_every_attribute(
    status: int, cls: type[APIStatusError]
) -> None:
    """Each non-2xx status raises its class carrying every attribute."""
    request = build("POST", "https://api.example/gig")
    request.extensions[ext.ATTEMPTS] = 3
    request.extensions[ext.IDEMPOTENCY_KEY] = "key-1"
    headers = {"Retry-After": "12"}
    error = await call(httpx.Response(status, json={"message": "nope"}, headers=headers), request)
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == "nope"
    assert error.method == "POST"
    assert error.url == "https://api.example/gig"
    assert error.attempts == 3
    assert error.idempotency_key == "key-1"
    assert error.body == {"message": "nope"}
    assert error.retry_after == 12.0
    assert error.response.status_code == status
    assert error.response.request is request
    assert str(error) == (
        f"nope (POST https://api.example/gig, status {status}, 3 attempts, idempotency key key-1)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "Gig already exists"}, "Gig already exists"),
        ({"error": "invalid_state"}, "invalid_state"),
        ({"detail": "Not found."}, "Not found."),
        ({"error": {"message": "bad amount", "code": 7}}, "bad amount"),
        ({"errors": [{"message": "a"}, "b", {"code": 1}]}, "a; b"),
        ({"errors": "totalAmount must be > 0"}, "totalAmount must be > 0"),
        ({"message": "", "error": "fallback"}, "fallback"),
        ({"errors": [{"code": 1}]}, "HTTP 400 Bad Request"),
        ({"message": 42}, "HTTP 400 Bad Request"),
        (["not", "an", "object"], "HTTP 400 Bad Request"),
    ],
)
async def test_message_is_the_apis_error_text(body: Any, message: str) -> None:
    """The message is the API's own error text when the JSON has one, else the status."""
    error = await call(httpx.Response(400, json=body))
    assert error.message == message
    assert error.body == body


async def test_non_json_body_is_kept_as_text() -> None:
    """A body that is not JSON is kept as text and the message names the status."""
    error = await call(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert error.body == "<html>Bad gateway</html>"
    assert error.message == "HTTP 502 Bad Gateway"
    assert error.retry_after is None


async def test_undecodable_body_is_kept_as_text() -> None:
    """A body that is not valid UTF-8 JSON still gives an error, with its text."""
    error = await call(httpx.Response(500, content=b"\xff\xfe{", headers={"Content-Type": "x"}))
    assert isinstance(error.body, str)


async def test_empty_body_is_none() -> None:
    """An empty body is recorded as None."""
    error = await call(httpx.Response(404))
    assert error.body is None
    assert error.message == "HTTP 404 Not Found"


async def test_defaults_without_retry_or_idempotency_layers() -> None:
    """Alone, the layer reports one attempt and no idempotency key for a GET."""
    error = await call(httpx.Response(404), build("GET"))
    assert error.attempts == 1
    assert error.idempotency_key is None


async def test_idempotency_key_read_from_header() -> None:
    """Without the extension, the key comes from the request's header."""
    request = build("POST")
    request.headers["Idempotency-Key"] = "from-header"
    error = await call(httpx.Response(500), request)
    assert error.idempotency_key == "from-header"


async def test_userinfo_is_stripped_from_url() -> None:
    """User info in the request URL never reaches the error."""
    request = build("GET", "https://user:s3cret@api.example/gig/1?x=1")
    error = await call(httpx.Response(404), request)
    assert error.url == "https://api.example/gig/1?x=1"
    assert "s3cret" not in str(error)


@pytest.mark.parametrize("status", [200, 201, 204])
async def test_2xx_passes_through(status: int) -> None:
    """A 2xx response is returned unchanged."""
    transport = ErrorsTransport(Server(status).transport())
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get("https://api.example/gig")
    assert response.status_code == status


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError, APIConnectionError),
        (httpx.ReadError, APIConnectionError),
        (httpx.RemoteProtocolError, APIConnectionError),
        (httpx.DecodingError, APIConnectionError),
        (httpx.ConnectTimeout, APITimeoutError),
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.PoolTimeout, APITimeoutError),
    ],
)
async def test_exceptions_map_to_api_errors(
    exc: type[httpx.RequestError], cls: type[APIError]
) -> None:
    """httpx exceptions become the matching APIError, chained to the original."""
    request = build("POST", "https://u:p@api.example/specialpayment")
    request.extensions[ext.ATTEMPTS] = 4
    request.extensions[ext.IDEMPOTENCY_KEY] = "k"
    with pytest.raises(cls) as caught:
        await ErrorsTransport(Server(exc).transport()).handle_async_request(request)
    error = caught.value
    assert type(error) is cls
    assert isinstance(error.__cause__, exc)
    assert (error.method, error.url, error.attempts) == (
        "POST",
        "https://api.example/specialpayment",
        4,
    )
    assert error.idempotency_key == "k"
    assert error.status_code is None
    assert error.message == "scripted failure"


async def test_exception_without_message_is_named() -> None:
    """An httpx exception with no text is described by its type."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("")

    with pytest.raises(APIConnectionError, match="ConnectError"):
        await ErrorsTransport(httpx.MockTransport(handler)).handle_async_request(build())


async def test_body_read_failure_on_error_response_is_mapped() -> None:
    """A non-2xx whose body breaks while the layer below reads it: an APIConnectionError."""
    broken = Server(BODY_READ_ERROR).transport()

    class Failing(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await broken.handle_async_request(request)
            response.status_code = 500
            return response

    with pytest.raises(APIConnectionError):
        await ErrorsTransport(ResponseLimitTransport(Failing())).handle_async_request(build())


async def test_other_exceptions_pass_unchanged() -> None:
    """An exception that is not httpx's is not mapped."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        await ErrorsTransport(httpx.MockTransport(handler)).handle_async_request(build())


async def test_debug_log_of_every_call(caplog: pytest.LogCaptureFixture) -> None:
    """Each call logs method, path, outcome, attempts, time and key at DEBUG, nothing more."""
    caplog.set_level(logging.DEBUG, logger="lean_async")
    transport = ErrorsTransport(Server(200, 404, httpx.ConnectError).transport())
    request = build("POST", "https://api.example/gig?secret=1")
    request.extensions[ext.IDEMPOTENCY_KEY] = "k-9"
    await transport.handle_async_request(request)
    with pytest.raises(NotFoundError):
        await transport.handle_async_request(build("GET", "https://api.example/gig/7"))
    with pytest.raises(APIConnectionError):
        await transport.handle_async_request(build("GET", "https://api.example/gig/8"))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert messages[0].startswith("POST /gig -> 200 in ")
    assert messages[0].endswith(" ms (attempts 1, idempotency key k-9)")
    assert messages[1].startswith("GET /gig/7 -> 404 in ")
    assert messages[2].startswith("GET /gig/8 -> ConnectError in ")
    assert all(r.levelno == logging.DEBUG for r in caplog.records)
    assert "secret" not in caplog.text
    assert "amount" not in caplog.text


async def test_no_log_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    """Above DEBUG the layer logs nothing."""
    caplog.set_level(logging.INFO, logger="lean_async")
    transport = ErrorsTransport(Server(200, httpx.ConnectError).transport())
    await transport.handle_async_request(build())
    with pytest.raises(APIConnectionError):
        await transport.handle_async_request(build())
    assert [r for r in caplog.records if r.name == "lean_async"] == []


async def test_repr_and_aclose() -> None:
    """The repr names the layer and closing it closes the inner transport."""
    closed: list[bool] = []

    class Inner(httpx.AsyncBaseTransport):
        async def aclose(self) -> None:
            closed.append(True)

    transport = ErrorsTransport(Inner())
    assert repr(transport).startswith("ErrorsTransport(")
    await transport.aclose()
    assert closed == [True]


KEY = "sk_live_??_echoed"  # its Basic token holds a "/", which JSON may escape
TOKEN = base64.b64encode(f"{KEY}:".encode()).decode()


@pytest.mark.parametrize("status", [400, 503])
async def test_deep_error_body_is_a_response_validation_error(status: int) -> None:
    """An error body nested too deeply to decode raises APIResponseValidationError."""
    request = build("POST", "https://api.example/specialpayment")
    request.extensions[ext.ATTEMPTS] = 2
    request.extensions[ext.IDEMPOTENCY_KEY] = "k-deep"
    server = Server(httpx.Response(status, content=b"[" * 100_000))
    with pytest.raises(APIResponseValidationError) as caught:
        await ErrorsTransport(server.transport()).handle_async_request(request)
    error = caught.value
    assert (error.status_code, error.attempts, error.idempotency_key) == (status, 2, "k-deep")
    assert error.__cause__ is None


async def test_echoed_key_is_redacted_from_message_body_and_response() -> None:
    """With a redactor, every form of the key in an error body becomes [REDACTED]."""
    escaped = TOKEN.replace("/", "\\/")
    text = json.dumps({"message": f"key {KEY} refused", "detail": "x"})
    raw = text[:-1] + f', "auth": "Basic {escaped}", "{KEY}": "{TOKEN.rstrip("=")}"}}'
    assert "\\/" in raw
    response = httpx.Response(
        403,
        content=gzip.compress(raw.encode()),
        headers={"Content-Encoding": "gzip", "Retry-After": "5"},
    )
    request = build("GET")
    with pytest.raises(PermissionDeniedError) as caught:
        await ErrorsTransport(
            Server(response).transport(), redactor=Redactor(Secret(KEY))
        ).handle_async_request(request)
    error = caught.value
    assert error.message == "key [REDACTED] refused"
    assert error.body == {
        "message": "key [REDACTED] refused",
        "detail": "x",
        "auth": "Basic [REDACTED]",
        "[REDACTED]": "[REDACTED]",
    }
    assert error.response.json() == error.body
    assert error.response.request is request
    assert error.response.headers["Retry-After"] == "5"
    assert error.retry_after == 5.0
    for text in (str(error), repr(error), error.response.text, repr(error.body)):
        assert KEY not in text
        assert TOKEN.rstrip("=") not in text


async def test_non_json_echo_is_redacted() -> None:
    """A plain-text error quoting the key keeps its text with the key replaced."""
    response = httpx.Response(401, text=f"bad key {KEY}")
    with pytest.raises(AuthenticationError) as caught:
        await ErrorsTransport(
            Server(response).transport(), redactor=Redactor(Secret(KEY))
        ).handle_async_request(build())
    assert caught.value.body == "bad key [REDACTED]"


async def test_connection_error_text_is_redacted_with_its_cause() -> None:
    """An httpx exception quoting the key is redacted in the error and in the cause."""

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise OSError(32, f"broken pipe after {KEY}")
        except OSError as low:
            raise httpx.ConnectError(f"cannot send Basic {TOKEN}") from low

    transport = ErrorsTransport(httpx.MockTransport(handler), redactor=Redactor(Secret(KEY)))
    with pytest.raises(APIConnectionError) as caught:
        await transport.handle_async_request(build())
    assert caught.value.message == "cannot send Basic [REDACTED]"
    cause = caught.value.__cause__
    assert cause is not None
    assert str(cause) == "cannot send Basic [REDACTED]"
    assert cause.__cause__ is not None
    assert cause.__cause__.args == (32, "broken pipe after [REDACTED]")
    assert str(cause.__cause__) == "[Errno 32] broken pipe after [REDACTED]"


def test_redactor_walks_any_depth_without_recursion() -> None:
    """Redacting decoded JSON nested far past the recursion limit neither fails nor loses data."""
    deep: Any = [KEY]
    for _ in range(50_000):
        deep = {"k": [deep, 1, None]}
    cleaned = Redactor(Secret(KEY)).value(deep)
    for _ in range(50_000):
        assert isinstance(cleaned, dict)
        assert cleaned["k"][1:] == [1, None]
        cleaned = cleaned["k"][0]
    assert cleaned == ["[REDACTED]"]


def test_redactor_hides_the_key() -> None:
    """The redactor's repr shows no key and it refuses to be pickled."""
    redactor = Redactor(Secret(KEY))
    assert KEY not in repr(redactor)
    with pytest.raises(TypeError):
        redactor.__reduce__()
    assert redactor.text("plain") == "plain"
    assert redactor.value(7) == 7
