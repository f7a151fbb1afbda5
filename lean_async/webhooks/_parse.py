"""`parse`: a verified delivery's body -> `WebhookEvent`.

The reference does not fix the body. The SDK and the sandbox use::

    {"id": "evt_...", "event": "gig.completed", "data": {<the Gig>}, "createdAt": "<ts>"}

and read it tolerantly, because a refused delivery is retried 5 times and then lost:
once the signature is right and the body is a JSON object with an event type, the
event is handed over. ``"type"`` is accepted for ``"event"``; ``id`` and ``createdAt``
may be missing (the id is then the SHA-256 of the body); extra fields are ignored; an
unknown event type is kept as its string with its raw ``data``. What does not fit —
``data`` that is not the event's model, a ``createdAt`` that is not a timestamp, an
``id`` that is not a string — is kept as received, listed in `WebhookEvent.problems`
with its JSON path, and logged at WARNING (paths and reasons only, never the body's
values).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lean_async._codec.convert import StructureError, parse_datetime, structure
from lean_async._endpoints.table import ENDPOINTS
from lean_async._secrets import WebhookKeys, take_webhook_keys
from lean_async.errors import WebhookVerificationError
from lean_async.models import Customer, EventType, Gig, SpecialPayment, WebhookEvent
from lean_async.webhooks._signature import (
    DEFAULT_MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    check_arguments,
    header_value,
    verify,
)

__all__ = ["parse"]

logger = logging.getLogger("lean_async.webhooks")

# The object kind an event type names ("gig" of "gig.completed") -> the model of its
# data: the endpoint table's rows that return that object.
_DATA_MODELS: Final[Mapping[str, type[Customer | Gig | SpecialPayment]]] = {
    row.event_kind: row.model for row in ENDPOINTS if row.event_kind is not None
}

_Data = Customer | Gig | SpecialPayment | dict[str, Any]

# json.loads builds exactly these types, so a lookup by type() is enough.
_JSON_KINDS: Final[Mapping[type, str]] = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _kind(value: object) -> str:
    """Name *value*'s JSON type, as a reader of the body would."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


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
        raise _invalid_shape(f"expected a JSON object, got {_kind(body)} @ $")
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


def _data(event_type: EventType | str, body: Mapping[str, Any]) -> tuple[_Data, list[str]]:
    """Return the typed object (or the raw mapping) and what did not fit."""
    data = body.get("data")
    if not isinstance(data, dict):
        if data is None and not isinstance(event_type, EventType):
            return {}, []  # an unknown event may carry nothing
        return {}, [f"expected a JSON object, got {_kind(data)} @ $.data"]
    if not isinstance(event_type, EventType):
        return data, []
    model = _DATA_MODELS[event_type.value.split(".", 1)[0]]
    try:
        return structure(data, model), []
    except StructureError as exc:
        return data, [_under_data(problem) for problem in exc.problems]


def _under_data(problem: str) -> str:
    """Re-root a converter problem (``"... @ $.totalAmount"``) under ``$.data``."""
    text, sep, path = problem.rpartition(" @ $")
    return f"{text}{sep}.data{path}" if sep else f"{problem} @ $.data"


def _created_at(body: Mapping[str, Any]) -> tuple[dt.datetime | None, list[str]]:
    value = body.get("createdAt")
    if value is None:
        return None, []
    if not isinstance(value, str):
        return None, [f"expected a timestamp string, got {_kind(value)} @ $.createdAt"]
    try:
        return parse_datetime(value), []
    except ValueError:  # the value itself is body content: it stays out of the message
        return None, ["not an ISO 8601 timestamp @ $.createdAt"]


def _event_id(body: Mapping[str, Any], payload: bytes) -> tuple[str, list[str]]:
    value = body.get("id")
    if isinstance(value, str) and value:
        return value, []
    # Lean's retries resend the same bytes, so the body's hash identifies the event.
    digest = hashlib.sha256(payload).hexdigest()
    if value is None:  # no id at all is a shape the reference allows: nothing to report
        return digest, []
    return digest, [f"expected a non-empty string, got {_kind(value)} @ $.id"]


def parse(
    payload: bytes,
    headers: Mapping[str, str],
    api_key: str | Sequence[str] | WebhookKeys,
    *,
    max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
) -> WebhookEvent:
    """Verify a delivery's signature and return its event.

    The size limit is checked first (nothing is hashed or decoded beyond it), then the
    signature, then the JSON body. A signed JSON object with an event type always gives
    an event: what does not fit the models is kept raw, listed in ``problems`` and
    logged at WARNING on ``lean_async.webhooks``.

    Args:
        payload: the raw request body, exactly as received.
        headers: the request headers; ``x-lean-signature`` is found case-insensitively
            in a dict, starlette ``Headers``, aiohttp ``CIMultiDict`` or any mapping.
        api_key: your API key, or several during a rotation (any of them verifies),
            or `WebhookKeys` holding them.
        max_body_bytes: the largest body accepted (default 1 MiB; None: no limit).

    Returns:
        The event: ``.type`` an `EventType` (or the unknown type's string), ``.data`` a
        `Customer`, `Gig` or `SpecialPayment` when it fits (else the raw mapping),
        ``.id`` the body's ``id`` or else the SHA-256 hex of *payload*, ``.raw`` the
        body, ``.problems`` what did not fit.

    Raises:
        WebhookVerificationError: with ``.reason`` ``payload_too_large``,
            ``missing_signature``, ``malformed_signature``, ``signature_mismatch``,
            ``invalid_json`` (not UTF-8 JSON), ``invalid_shape`` (not a JSON object, or
            no event type; the message names the JSON path) or ``invalid_argument``
            (a wrong-typed argument, see `verify`). Nothing else is raised.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # no raw key in this frame when a refusal below passes through it
    signature = header_value(headers, SIGNATURE_HEADER)
    keys = check_arguments(payload, keys, problem, max_body_bytes)
    verify(payload, signature, keys, max_body_bytes=max_body_bytes)
    payload = bytes(payload)
    body = _decode(payload)
    event_type = _event_type(body)
    event_id, id_problems = _event_id(body, payload)
    data, data_problems = _data(event_type, body)
    created_at, time_problems = _created_at(body)
    problems = (*id_problems, *data_problems, *time_problems)
    if problems:
        logger.warning(
            "webhook event %s (%s) handed over as received where it did not fit: %s",
            event_id,
            event_type,
            "; ".join(problems),
        )
    return WebhookEvent(
        id=event_id,
        type=event_type,
        data=data,
        created_at=created_at,
        raw=body,
        problems=problems,
    )
