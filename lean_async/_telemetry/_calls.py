"""The logical call: one INTERNAL span and one duration point around a public method.

`traced` decorates each resource method. It decides once, when the method is called,
whether telemetry is configured (`Telemetry.active`, through the API's public getters);
when it is not, the method's own coroutine is awaited at once. Otherwise the coroutine
runs inside `run_call`, under a span named ``lean.<operation>`` that is current while it
runs (so validation errors are on it and each attempt's span is its child), with a
`CallRecord` in a context variable that the attempt layer and the retry layer report to.

The logical span is ``INTERNAL``: only an attempt's span (one HTTP request, see
`lean_async.transport._attempt`) is ``CLIENT``, so a tracing backend counts each request
once, and a wait (``lean.customers.wait_until_active``) over its polls
(``lean.customers.get``) over their attempts is not read as three outgoing calls. A call
nested in another adds its attempts to the outer call's ``lean.attempts`` too, so a wait
reports every request its polls made.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from lean_async._telemetry import _guard, names

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from lean_async._telemetry._setup import Active, Telemetry

__all__ = ["CallRecord", "current_call", "error_type", "run_call", "traced"]

P = ParamSpec("P")
T = TypeVar("T")

_current: ContextVar[CallRecord | None] = ContextVar("lean_async_call", default=None)


class CallRecord:
    """What the layers below report to during one traced logical call."""

    __slots__ = ("active", "attempts", "operation", "span")

    def __init__(self, active: Active, operation: str, span: Span) -> None:
        self.active = active
        self.operation = operation
        self.span = span
        self.attempts = 0

    def paced(self, waited: float) -> None:
        """Record the seconds an attempt waited for its turn in the rate limiter."""
        self.active.instruments.rate_wait.record(waited, {names.OPERATION: self.operation})

    def retried(self, cause: str, delay: float, attempt: int) -> None:
        """Record the backoff decided after failed attempt *attempt*."""
        self.span.add_event(
            names.RETRY_EVENT,
            {names.RETRY_CAUSE: cause, names.RETRY_DELAY: delay, names.RETRY_ATTEMPT: attempt},
        )
        self.active.instruments.retries.add(
            1, {names.OPERATION: self.operation, names.RETRY_CAUSE: cause}
        )


# The context variable's own getter: no Python frame of ours on every attempt's path.
current_call: Callable[[], CallRecord | None] = _current.get
"""Return the traced logical call running in this context, if any."""


def error_type(error: BaseException) -> str:
    """Return the `error.type` of *error*: its class's qualified name, never its message."""
    return type(error).__qualname__


async def run_call(active: Active, operation: str, call: Coroutine[Any, Any, T]) -> T:
    """Await *call* as logical call *operation*: span, record and duration around it."""
    trace = _guard.trace
    span = active.tracer.start_span(
        names.CALL_SPAN_PREFIX + operation,
        kind=trace.SpanKind.INTERNAL,
        attributes={names.OPERATION: operation},
    )
    record = CallRecord(active, operation, span)
    outer = _current.get()
    attributes: dict[str, str] = {names.OPERATION: operation}
    context_token = _guard.context.attach(trace.set_span_in_context(span))
    record_token = _current.set(record)
    started = time.perf_counter()
    try:
        result = await call
    except BaseException as exc:
        kind = error_type(exc)
        span.set_attribute(names.ERROR_TYPE, kind)
        span.set_status(trace.Status(trace.StatusCode.ERROR, kind))
        attributes[names.OUTCOME] = names.OUTCOME_ERROR
        attributes[names.ERROR_TYPE] = kind
        raise
    else:
        attributes[names.OUTCOME] = names.OUTCOME_SUCCESS
        return result
    finally:
        active.instruments.call_duration.record(time.perf_counter() - started, attributes)
        span.set_attribute(names.ATTEMPTS, record.attempts)
        if outer is not None:
            outer.attempts += record.attempts
        _current.reset(record_token)
        _guard.context.detach(context_token)
        span.end()


class _HasTelemetry(Protocol):
    @property
    def _telemetry(self) -> Telemetry | None: ...


S = TypeVar("S", bound=_HasTelemetry)


def traced(
    operation: str,
) -> Callable[
    [Callable[Concatenate[S, P], Coroutine[Any, Any, T]]],
    Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
]:
    """Decorate an async resource method as logical call *operation* (``"gigs.create"``).

    The decorated method is still a coroutine function (``inspect.iscoroutinefunction``
    and ``unittest.mock.create_autospec`` see it as one); its ``__wrapped__`` is the
    method. The operation is reported as `names.OPERATION`.
    """

    def decorate(
        method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
        @functools.wraps(method)
        async def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
            telemetry = self._telemetry
            if telemetry is None:  # no API installed
                return await method(self, *args, **kwargs)
            active = telemetry.active()
            if active is None:
                return await method(self, *args, **kwargs)
            return await run_call(active, operation, method(self, *args, **kwargs))

        return call

    return decorate
