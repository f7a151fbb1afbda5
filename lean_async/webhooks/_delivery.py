"""`handle_delivery`: verify -> parse -> claim -> handler -> complete, or release.

Every integration (FastAPI, aiohttp, a sandbox listener, your own) goes through this
one function and answers with the status it decides:

===========  ======  ==========================================================
outcome      status  meaning
===========  ======  ==========================================================
processed    200     the handler ran and returned
duplicate    200     processed earlier: the handler is not called again
in_progress  409     another delivery of the event is running its handler now;
                     a non-2xx makes Lean retry later, when the first delivery
                     has either completed (-> duplicate) or failed (-> runs)
rejected     401     missing, malformed or wrong signature
rejected     413     body larger than ``max_body_bytes`` (checked before hashing)
rejected     400     body not JSON, not a JSON object, or without an event type
rejected     500     ``invalid_argument``: the receiver called us wrongly (say, a
                     str body); a server-side bug, so not the sender's 4xx
failed       500     the handler raised: the claim is released, so Lean's retry
                     runs the handler again
===========  ======  ==========================================================

A correctly signed JSON object with an event type is never rejected for its shape:
data that does not fit its model reaches the handler raw (see `parse`). Every rejection
is logged at WARNING on ``lean_async.webhooks`` with its reason and status — never the
key, the signature or the body.

The handler may be ``async def`` (awaited) or a plain ``def``, which runs in a worker
thread so it cannot block the event loop (as FastAPI runs ``def`` endpoints).

If marking the event complete fails after the handler succeeded (say Redis blipped),
the answer is still 200: the handler did its work, and a 5xx would only make Lean
retry into a handler that may run again once the lease expires.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import attrs

from lean_async._secrets import WebhookKeys, take_webhook_keys
from lean_async.errors import WebhookVerificationError
from lean_async.models import WebhookEvent
from lean_async.webhooks._dedup import ClaimStatus, DedupStore
from lean_async.webhooks._metrics import record_delivery
from lean_async.webhooks._parse import parse
from lean_async.webhooks._signature import DEFAULT_MAX_BODY_BYTES, check_arguments

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = [
    "DeliveryOutcome",
    "DeliveryResult",
    "WebhookHandler",
    "handle_delivery",
    "rejected",
    "too_large",
]

logger = logging.getLogger("lean_async.webhooks")

WebhookHandler = Callable[[WebhookEvent], Awaitable[object] | None]
"""Your code: ``async def`` or ``def``, taking the verified event; its return is ignored.

Returning means "done" (the event is recorded and Lean gets 200); raising means "not
done" (Lean gets 500 and its retry runs the handler again). A ``def`` handler runs in a
worker thread.
"""

_REJECTION_STATUS: Final[Mapping[str, int]] = {
    "missing_signature": 401,
    "malformed_signature": 401,
    "signature_mismatch": 401,
    "payload_too_large": 413,
    "invalid_json": 400,
    "invalid_shape": 400,
    "invalid_argument": 500,
}


class DeliveryOutcome(enum.StrEnum):
    """What `handle_delivery` did with one delivery."""

    PROCESSED = "processed"
    """The handler ran and returned (200)."""
    DUPLICATE = "duplicate"
    """Processed earlier; the handler was not called (200)."""
    IN_PROGRESS = "in_progress"
    """Another delivery of the event is running the handler (409: Lean retries)."""
    REJECTED = "rejected"
    """Failed verification or parsing (401, 400 or 413; 500 for ``invalid_argument``)."""
    FAILED = "failed"
    """The handler raised; the event was released for Lean's retry (500)."""


@attrs.frozen(kw_only=True)
class DeliveryResult:
    """The outcome of one delivery and the HTTP status to answer Lean with.

    Attributes:
        status_code: 200, 400, 401, 409, 413 or 500 (see the module docs).
        outcome: what happened.
        event: the parsed event, unless the delivery was rejected.
        reason: the `WebhookVerificationError.reason` of a rejection.
        error: the rejection error, or the exception the handler raised.
    """

    status_code: int
    outcome: DeliveryOutcome
    event: WebhookEvent | None = None
    reason: str | None = None
    error: BaseException | None = attrs.field(default=None, repr=False)

    @property
    def body(self) -> dict[str, str]:
        """The small JSON object to answer with, e.g. ``{"status": "duplicate", ...}``.

        Returns:
            ``status`` (the outcome), and ``event_id`` and ``reason`` when known.
        """
        body = {"status": self.outcome.value}
        if self.event is not None:
            body["event_id"] = self.event.id
        if self.reason is not None:
            body["reason"] = self.reason
        return body


def rejected(
    exc: WebhookVerificationError, *, meter_provider: MeterProvider | None = None
) -> DeliveryResult:
    """Return the result that answers a delivery rejected with *exc*, and count it.

    Every rejection, wherever it is decided, is counted here (``lean.webhooks.deliveries``
    with outcome ``rejected`` and its reason); `handle_delivery` counts the other outcomes.

    Args:
        exc: the verification or parsing failure.
        meter_provider: where the counter lives; default the global provider.

    Returns:
        A REJECTED result with the status for ``exc.reason`` (401, 400, 413 or 500).
    """
    status = _REJECTION_STATUS.get(exc.reason, 400)
    # The message names lengths, types and JSON paths only: never the key, the
    # signature or the body's content (see _signature and _parse).
    level = logging.ERROR if status >= 500 else logging.WARNING  # 500: our side is wrong
    logger.log(level, "rejected webhook delivery (%s, answered %d): %s", exc.reason, status, exc)
    result = DeliveryResult(
        status_code=status, outcome=DeliveryOutcome.REJECTED, reason=exc.reason, error=exc
    )
    record_delivery(result, meter_provider)
    return result


def too_large(
    max_body_bytes: int, *, meter_provider: MeterProvider | None = None
) -> DeliveryResult:
    """Return the 413 result for a body announced or read beyond *max_body_bytes*.

    Args:
        max_body_bytes: the limit that was exceeded.
        meter_provider: where the counter lives; default the global provider.

    Returns:
        A REJECTED result with status 413 and reason ``payload_too_large``.
    """
    return rejected(
        WebhookVerificationError(
            f"webhook body is larger than {max_body_bytes} bytes", reason="payload_too_large"
        ),
        meter_provider=meter_provider,
    )


def _is_async(handler: WebhookHandler) -> bool:
    """Whether calling *handler* gives an awaitable (functions, partials, objects)."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with async __call__
    )


async def _run(handler: WebhookHandler, event: WebhookEvent) -> None:
    """Await an async handler; run a plain one in a worker thread."""
    if _is_async(handler):
        result = handler(event)
    else:
        result = await asyncio.to_thread(handler, event)
    if inspect.isawaitable(result):  # also a def that returns a coroutine
        await result


async def _release(store: DedupStore, event_id: str, token: str) -> None:
    try:
        await store.release(event_id, token)
    except Exception:  # the lease expires on its own; the handler's error matters more
        logger.exception("could not release webhook event %s; its lease will expire", event_id)


async def handle_delivery(
    payload: bytes,
    headers: Mapping[str, str],
    *,
    api_key: str | Sequence[str] | WebhookKeys,
    handler: WebhookHandler,
    store: DedupStore,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    meter_provider: MeterProvider | None = None,
) -> DeliveryResult:
    """Verify, parse and de-duplicate one delivery, and run *handler* at most once.

    Each delivery adds one to the ``lean.webhooks.deliveries`` counter (OpenTelemetry,
    when ``opentelemetry-api`` is installed) with its outcome, event type and, for a
    rejection, its reason.

    Args:
        payload: the raw request body (read at most ``max_body_bytes + 1`` bytes of it).
        headers: the request headers (any case-insensitive or plain mapping).
        api_key: your API key, or several during a rotation, or `WebhookKeys`.
        handler: ``async def handler(event: WebhookEvent) -> None`` (or a plain
            ``def``, run in a worker thread); return = done, raise = retry.
        store: the `DedupStore` shared by every receiver of these webhooks.
        max_body_bytes: the largest body accepted.
        meter_provider: the OpenTelemetry meter provider to count deliveries in;
            default the global one.

    Returns:
        The `DeliveryResult`; answer Lean with its ``status_code``.

    Raises:
        Exception: whatever ``store.claim`` raises (the store is unreachable); the
            framework's 500 then makes Lean retry.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # an error passing through this frame finds only the redacting holder
    try:
        keys = check_arguments(payload, keys, problem, max_body_bytes)
        event = parse(payload, headers, keys, max_body_bytes=max_body_bytes)
    except WebhookVerificationError as exc:
        return rejected(exc, meter_provider=meter_provider)
    result = await _dispatch(event, handler, store)
    record_delivery(result, meter_provider)
    return result


async def _dispatch(
    event: WebhookEvent, handler: WebhookHandler, store: DedupStore
) -> DeliveryResult:
    """Claim *event*, run *handler* unless it is a duplicate, and complete or release."""
    token = uuid.uuid4().hex
    claim = await store.claim(event.id, token)
    if claim is ClaimStatus.DONE:
        logger.debug("webhook event %s already processed", event.id)
        return DeliveryResult(status_code=200, outcome=DeliveryOutcome.DUPLICATE, event=event)
    if claim is ClaimStatus.IN_PROGRESS:
        logger.debug("webhook event %s is being processed by another delivery", event.id)
        return DeliveryResult(status_code=409, outcome=DeliveryOutcome.IN_PROGRESS, event=event)

    try:
        await _run(handler, event)
    except Exception as exc:
        logger.exception("webhook handler failed for event %s; released for a retry", event.id)
        await _release(store, event.id, token)
        return DeliveryResult(
            status_code=500, outcome=DeliveryOutcome.FAILED, event=event, error=exc
        )
    except BaseException:  # cancelled: nothing completed, let a retry run it
        await _release(store, event.id, token)
        raise

    try:
        await store.complete(event.id, token)
    except Exception:
        logger.exception("webhook event %s processed but not recorded as done", event.id)
    logger.debug("webhook event %s processed", event.id)
    return DeliveryResult(status_code=200, outcome=DeliveryOutcome.PROCESSED, event=event)
