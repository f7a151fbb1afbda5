"""The exception hierarchy: classes, attributes, messages and pickling."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx
import pytest

import lean_async
from lean_async import errors
from lean_async._config import Secret
from lean_async.models import CustomerStatus
from lean_async.transport import RetryPolicy, build_stack


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.InternalServerError),
        (502, errors.InternalServerError),
        (503, errors.ServiceUnavailableError),
        (418, errors.APIStatusError),
    ],
)
def test_status_maps_to_its_class(status: int, cls: type[errors.APIStatusError]) -> None:
    """Each documented status has its own class; others fall back by range."""
    assert errors.status_error_class(status) is cls


def test_hierarchy_matches_the_design() -> None:
    """The tree drawn in the errors module docstring and the README holds."""
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
    assert issubclass(errors.ServiceUnavailableError, errors.InternalServerError)
    for cls in (
        errors.APIStatusError,
        errors.APIConnectionError,
        errors.APIResponseValidationError,
    ):
        assert issubclass(cls, errors.APIError)
    for cls in (errors.APIError, errors.SandboxOnlyError, errors.WebhookVerificationError):
        assert issubclass(cls, errors.LeanError)
    assert issubclass(errors.UnprocessableEntityError, errors.APIStatusError)


def test_unprocessable_entity_is_exported() -> None:
    """UnprocessableEntityError is importable from lean_async and lean_async.errors."""
    assert lean_async.UnprocessableEntityError is errors.UnprocessableEntityError
    assert "UnprocessableEntityError" in errors.__all__


def test_status_error_message_and_attributes() -> None:
    """str() names the call, status, attempts and idempotency key; attributes are set."""
    response = httpx.Response(503, request=httpx.Request("POST", "https://h/api/specialpayment"))
    error = errors.ServiceUnavailableError(
        "down for maintenance",
        response=response,
        method="POST",
        url="https://h/api/specialpayment",
        attempts=4,
        idempotency_key="k-1",
        body={"message": "down for maintenance"},
        retry_after=30.0,
    )
    assert str(error) == (
        "down for maintenance (POST https://h/api/specialpayment, status 503, 4 attempts, "
        "idempotency key k-1)"
    )
    assert (error.status_code, error.retry_after, error.response) == (503, 30.0, response)


def test_connection_error_has_no_status() -> None:
    """A connection error carries no status and says one attempt in the singular."""
    error = errors.APIConnectionError("refused", method="GET", url="https://h/api/gig")
    assert error.status_code is None
    assert str(error) == "refused (GET https://h/api/gig, 1 attempt)"


def test_validation_error_lists_every_problem() -> None:
    """ValidationError keeps every (field, message) pair and summarises them."""
    error = errors.ValidationError([("tips", "must be >= 0"), ("state", "not a US state")])
    assert error.errors == [("tips", "must be >= 0"), ("state", "not a US state")]
    assert str(error) == "2 invalid fields: tips: must be >= 0; state: not a US state"
    assert str(errors.ValidationError([("a", "b")])) == "1 invalid field: a: b"


def test_webhook_error_reason() -> None:
    """WebhookVerificationError carries a machine-readable reason."""
    error = errors.WebhookVerificationError("no signature", reason="missing_signature")
    assert error.reason == "missing_signature"


def test_response_validation_error_path() -> None:
    """APIResponseValidationError carries the JSON path of the bad value."""
    error = errors.APIResponseValidationError(
        "bad", path="$.tips", method="GET", url="u", status_code=200
    )
    assert error.path == "$.tips"
    assert error.status_code == 200


URL = "https://h/api/specialpayment"


def _response(status: int) -> httpx.Response:
    return httpx.Response(
        status,
        json={"message": "nope"},
        headers={"Retry-After": "3"},
        request=httpx.Request("POST", URL, headers={"Authorization": "Basic c2s6"}),
    )


def _api_kwargs() -> dict[str, Any]:
    return {
        "method": "POST",
        "url": URL,
        "attempts": 3,
        "idempotency_key": "k-1",
        "body": {"message": "nope"},
    }


def _example(cls: type[errors.LeanError]) -> errors.LeanError:
    """Build an instance of *cls* with every attribute set to a non-default value."""
    if cls is errors.ValidationError:
        return errors.ValidationError([("tips", "must be >= 0"), ("state", "unknown")])
    if cls is errors.WebhookVerificationError:
        return errors.WebhookVerificationError("bad", reason="signature_mismatch")
    if cls is errors.ConflictError:
        return errors.ConflictError(
            "differs",
            existing={"gigId": "g1", "status": CustomerStatus.ACTIVE},
            sent={"gigId": "g1"},
            response=_response(409),
            retry_after=3.0,
            **_api_kwargs(),
        )
    if issubclass(cls, errors.APIStatusError):
        status = {errors.APIStatusError: 418, errors.InternalServerError: 500}.get(cls)
        status = status or next(s for s in range(400, 600) if errors.status_error_class(s) is cls)
        return cls("nope", response=_response(status), retry_after=3.0, **_api_kwargs())
    if cls is errors.APIResponseValidationError:
        return cls("bad shape", path="$.tips", status_code=200, **_api_kwargs())
    if issubclass(cls, errors.APIError):
        return cls("refused", **_api_kwargs())
    return cls("plain")


ERROR_CLASSES = [
    cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.LeanError)
]


def _fields(error: BaseException) -> dict[str, Any]:
    """Every attribute of *error*, with its response reduced to what must survive."""
    fields = dict(vars(error))
    response = fields.pop("response", None)
    if response is not None:
        fields["response"] = (
            response.status_code,
            response.json(),
            response.headers["Retry-After"],
            response.request.method,
            str(response.request.url),
        )
    return {"args": error.args, "str": str(error), **fields}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_round_trips_through_pickle(cls: type[errors.LeanError]) -> None:
    """Each error class unpickles as itself with every attribute, notes included."""
    error = _example(cls)
    error.add_note("a note")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is cls
    assert _fields(copy) == _fields(error)
    assert copy.__notes__ == ["a note"]


def test_every_class_has_an_example() -> None:
    """The round-trip test covers the whole tree, each class with its own fields."""
    assert len(ERROR_CLASSES) == 18
    assert isinstance(_example(errors.NotFoundError), errors.NotFoundError)
    shape_error = _example(errors.APIResponseValidationError)
    assert isinstance(shape_error, errors.APIResponseValidationError)
    assert shape_error.path == "$.tips"


def test_pickled_response_drops_the_request_headers() -> None:
    """The pickled response keeps status, headers and body; its request only method and URL."""
    error = _example(errors.NotFoundError)
    assert isinstance(error, errors.NotFoundError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert b"c2s6" not in pickle.dumps(error)
    assert copy.response.request.headers.get("authorization") is None
    assert copy.response.text == error.response.text


def test_response_without_request_or_body_pickles() -> None:
    """A hand-built status error whose response has no request and no read body pickles."""
    response = httpx.Response(404, stream=httpx.ByteStream(b"unread"))
    error = errors.NotFoundError("gone", response=response, method="GET", url="u")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert copy.response.status_code == 404
    assert copy.response.content == b""


def raise_not_found_in_worker() -> None:
    """Run in a worker process: a GET through the real stack answered 404."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "no such gig"})

    async def call() -> None:
        stack = build_stack(
            httpx.MockTransport(handler),
            api_key=Secret("sk_worker_secret"),
            policy=RetryPolicy(),
            budget=None,
        )
        async with httpx.AsyncClient(transport=stack) as client:
            await client.get("https://h/api/gig/g1")

    asyncio.run(call())


def test_error_raised_in_a_process_pool_worker_arrives_whole() -> None:
    """A NotFoundError raised in a ProcessPoolExecutor worker reaches the parent as itself."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(raise_not_found_in_worker)
        with pytest.raises(errors.NotFoundError) as caught:
            future.result(timeout=60)
    error = caught.value
    assert (error.status_code, error.message, error.method) == (404, "no such gig", "GET")
    assert (error.url, error.attempts, error.idempotency_key) == ("https://h/api/gig/g1", 1, None)
    assert error.body == {"message": "no such gig"}
    assert error.response.status_code == 404
    assert "sk_worker_secret" not in repr(vars(error))
