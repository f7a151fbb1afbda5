"""The exception hierarchy: classes, attributes and messages."""

from __future__ import annotations

import httpx
import pytest

from lean_async import errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
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
