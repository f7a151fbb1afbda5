"""What the stack reports to telemetry: each attempt (a layer) and each retry (a hook).

`AttemptTelemetryTransport` sits just below `RetryTransport`, so every attempt of a call
passes through it (reconciliation lookups included), and above the response-limit layer,
so an attempt lasts until its body is read: an HTTP client span and a duration point
per attempt. Attributes follow the OpenTelemetry HTTP client semantic conventions; the
path is reported only as a `url_template`. The attempt span's context is injected into
the request headers (``traceparent``) by the API's global propagator. Outside a traced
logical call (see `lean_async._telemetry._calls`) the layer hands the request straight
to the next one: `handle_async_request` then returns the inner layer's coroutine itself.

`retry_reporter` is the retry layer's ``on_retry`` hook that puts each backoff on the
call's span and retry counter, so the retry layer never imports telemetry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from lean_async._telemetry import _guard, names
from lean_async._telemetry._calls import CallRecord, error_type
from lean_async._telemetry._calls import _current as _current_call
from lean_async._telemetry._routes import url_template
from lean_async._telemetry._setup import Telemetry
from lean_async.transport._policy import STATUS_CAUSE as _STATUS_CAUSE
from lean_async.transport._policy import RetryDetails
from lean_async.transport.extensions import get_attempts, get_idempotency_key

__all__ = ["AttemptTelemetryTransport", "retry_reporter"]

_DEFAULT_PORTS = {"https": 443, "http": 80}


class AttemptTelemetryTransport(httpx.AsyncBaseTransport):
    """Traces and measures each attempt of the client's traced calls.

    Args:
        inner: the transport that sends the attempt (normally the response-limit layer).
        telemetry: the client's telemetry; calls of other clients pass through.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, telemetry: Telemetry) -> None:
        self._inner = inner
        self._telemetry = telemetry

    def __repr__(self) -> str:
        return f"AttemptTelemetryTransport({self._inner!r})"

    def handle_async_request(self, request: httpx.Request) -> Coroutine[Any, Any, httpx.Response]:
        """Send one attempt of *request*, traced when its logical call is."""
        record = _current_call.get()
        if record is None or record.active.telemetry is not self._telemetry:
            return self._inner.handle_async_request(request)
        return self._traced(record, request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    async def _traced(self, record: CallRecord, request: httpx.Request) -> httpx.Response:
        trace = _guard.trace
        record.attempts += 1
        key = get_idempotency_key(request)
        if key:
            record.span.set_attribute(names.IDEMPOTENCY_KEY, key)
        url = request.url
        # raw_path keeps an id's escapes (a "/" inside an id stays %2F); drop the query.
        path = url.raw_path.decode("ascii").partition("?")[0]
        template = url_template(path, self._telemetry.base_path)
        attributes: dict[str, str | int] = {
            names.HTTP_METHOD: request.method,
            names.URL_TEMPLATE: template,
            names.SERVER_ADDRESS: url.host,
            names.SERVER_PORT: url.port or _DEFAULT_PORTS.get(url.scheme, 443),
        }
        span_attributes = dict(attributes)
        resends = get_attempts(request) - 1
        if resends > 0:
            span_attributes[names.HTTP_RESEND_COUNT] = resends
        span = record.active.tracer.start_span(
            f"{request.method} {template}",
            kind=trace.SpanKind.CLIENT,
            attributes=span_attributes,
        )
        _guard.propagate.inject(request.headers, context=trace.set_span_in_context(span))
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:
            attributes[names.ERROR_TYPE] = kind = error_type(exc)
            span.set_attribute(names.ERROR_TYPE, kind)
            span.set_status(trace.Status(trace.StatusCode.ERROR, kind))
            raise
        else:
            status = response.status_code
            attributes[names.HTTP_STATUS] = status
            span.set_attribute(names.HTTP_STATUS, status)
            if status >= 400:
                attributes[names.ERROR_TYPE] = kind = str(status)
                span.set_attribute(names.ERROR_TYPE, kind)
                span.set_status(trace.Status(trace.StatusCode.ERROR, kind))
            return response
        finally:
            record.active.instruments.http_duration.record(
                time.perf_counter() - started, attributes
            )
            span.end()


def retry_reporter(
    telemetry: Telemetry, then: Callable[[RetryDetails], None] | None = None
) -> Callable[[RetryDetails], None]:
    """Return an ``on_retry`` hook recording each backoff on the traced call, then *then*.

    The backoff is an event on the call's span and a point of its retry counter, its
    cause in `error.type`'s vocabulary: the status code (``"503"``), or the exception's
    class (``"ReadTimeout"``). Calls of other clients, and untraced calls, are left alone.

    Args:
        telemetry: the client's telemetry.
        then: the policy's own hook, called after (the caller's ``on_retry``).
    """

    def on_retry(details: RetryDetails) -> None:
        record = _current_call.get()
        if record is not None and record.active.telemetry is telemetry:
            cause = details.cause
            kind = cause[len(_STATUS_CAUSE) :] if cause.startswith(_STATUS_CAUSE) else cause
            record.retried(kind, details.delay, details.attempt)
        if then is not None:
            then(details)

    return on_retry
