"""`parse`: a verified delivery's body -> `WebhookEvent`.

The reference does not fix the body. The SDK and the sandbox use::

    {"id": "evt_...", "event": "gig.completed", "data": {<the Gig>}, "createdAt": "<ts>"}

and read it tolerantly: ``"type"`` is accepted for ``"event"``, ``id`` and ``createdAt``
may be missing, unknown event types are kept as strings with their raw ``data``, and
extra fields are ignored. What is there must make sense, though: a known event whose
``data`` does not fit its model, or a ``createdAt`` that is not a timestamp, is
``invalid_shape`` with the JSON path of the problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lean_async._convert import StructureError, parse_datetime, structure
from lean_async.errors import WebhookVerificationError
from lean_async.models import Customer, EventType, Gig, SpecialPayment, WebhookEvent
from lean_async.webhooks._signature import (
    DEFAULT_MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    header_value,
    verify,
)

__all__ = ["parse"]

_DATA_MODELS: Final[Mapping[str, type[Customer | Gig | SpecialPayment]]] = {
    "customer": Customer,
    "gig": Gig,
    "specialpayment": SpecialPayment,
}


def _invalid_shape(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(f"webhook body: {message}", reason="invalid_shape")


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError too
        raise WebhookVerificationError(
            "webhook body is not UTF-8 JSON", reason="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise _invalid_shape(f"expected a JSON object, got {type(body).__name__} @ $")
    return body


def _event_type(body: Mapping[str, Any]) -> EventType | str:
    field = "event" if body.get("event") is not None else "type"
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise _invalid_shape(f"the event type must be a non-empty string @ $.{field}")
    try:
        return EventType(value)
    except ValueError:
        return value  # a type this SDK does not know yet: keep it, do not fail


def _data(event_type: EventType | str, body: Mapping[str, Any]) -> Any:
    data = body.get("data")
    if not isinstance(event_type, EventType):
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise _invalid_shape(f"expected a JSON object, got {type(data).__name__} @ $.data")
        return data
    model = _DATA_MODELS[event_type.value.split(".", 1)[0]]
    if not isinstance(data, dict):
        raise _invalid_shape(
            f"{event_type.value} needs a {model.__name__} object, got "
            f"{type(data).__name__} @ $.data"
        )
    try:
        return structure(data, model)
    except StructureError as exc:
        problems = "; ".join(_under_data(problem) for problem in exc.problems)
        message = f"{event_type.value} data is not a {model.__name__}: {problems}"
        raise _invalid_shape(message) from None


def _under_data(problem: str) -> str:
    """Re-root a converter problem (``"... @ $.totalAmount"``) under ``$.data``."""
    text, sep, path = problem.rpartition(" @ $")
    return f"{text}{sep}.data{path}" if sep else f"{problem} @ $.data"


def _created_at(body: Mapping[str, Any]) -> dt.datetime | None:
    value = body.get("createdAt")
    if value is None:
        return None
    if not isinstance(value, str):
        kind = type(value).__name__
        raise _invalid_shape(f"expected a timestamp string, got {kind} @ $.createdAt")
    try:
        return parse_datetime(value)
    except ValueError:
        raise _invalid_shape(f"not an ISO 8601 timestamp: {value[:40]!r} @ $.createdAt") from None


def _event_id(body: Mapping[str, Any], payload: bytes) -> str:
    value = body.get("id")
    if isinstance(value, str) and value:
        return value
    # Lean's retries resend the same bytes, so the body's hash identifies the event.
    return hashlib.sha256(payload).hexdigest()


def parse(
    payload: bytes,
    headers: Mapping[str, str],
    api_key: str | Sequence[str],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookEvent:
    """Verify a delivery's signature and return its typed event.

    The size limit is checked first (nothing is hashed or decoded beyond it), then the
    signature, then the JSON body.

    Args:
        payload: the raw request body, exactly as received.
        headers: the request headers; ``x-lean-signature`` is found case-insensitively
            in a dict, starlette ``Headers`` or aiohttp ``CIMultiDict``.
        api_key: your API key, or several during a rotation (any of them verifies).
        max_body_bytes: the largest body accepted.

    Returns:
        The event: ``.type`` an `EventType` (or the unknown type's string), ``.data`` a
        `Customer`, `Gig` or `SpecialPayment` (or the raw mapping of an unknown type),
        ``.id`` the body's ``id`` or else the SHA-256 hex of *payload*, ``.raw`` the body.

    Raises:
        WebhookVerificationError: with ``.reason`` ``payload_too_large``,
            ``missing_signature``, ``malformed_signature``, ``signature_mismatch``,
            ``invalid_json`` (not UTF-8 JSON) or ``invalid_shape`` (not an object, no
            event type, or data that does not fit; the message names the JSON path).
        TypeError: *payload* is not bytes, or *api_key* is not str(s).
        ValueError: *api_key* is empty or an empty list.
    """
    signature = header_value(headers, SIGNATURE_HEADER)
    verify(payload, signature, api_key, max_body_bytes=max_body_bytes)
    payload = bytes(payload)
    body = _decode(payload)
    event_type = _event_type(body)
    return WebhookEvent(
        id=_event_id(body, payload),
        type=event_type,
        data=_data(event_type, body),
        created_at=_created_at(body),
        raw=body,
    )
