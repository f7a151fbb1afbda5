"""The retry layer: exponential backoff with full jitter, Retry-After, a budget, safe replays.

What is retried depends on how far the failed attempt got (README "Retries and exactly-once"):

- nothing was sent (`httpx.ConnectError`, `httpx.ConnectTimeout`, `httpx.PoolTimeout`):
  always, except a certificate that failed verification;
- a proxy that answered 407 (`lean_async.transport._connect_errors`): never;
- bytes may have reached the server (any other transport error, while sending or while
  reading the body) or the status is in ``RetryPolicy.retry_statuses``: only when
  `extensions.is_replay_safe` says a second send cannot act twice.

This is the only module that imports tenacity; no tenacity type is part of its API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Final, cast

import httpx
import tenacity as _t

from lean_async.transport._budget import RetryBudget
from lean_async.transport._connect_errors import NEVER_RETRIED
from lean_async.transport._policy import (
    STATUS_CAUSE,
    DeadlineExceeded,
    RetryDetails,
    RetryPolicy,
    clip_timeouts,
    decide,
    is_testing,
    set_testing,
)
from lean_async.transport.extensions import (
    ATTEMPTS,
    MAY_HAVE_ARRIVED,
    get_attempts,
    get_deadline,
    is_replay_safe,
)

__all__ = [
    "DeadlineExceeded",
    "RetryBudget",
    "RetryDetails",
    "RetryPolicy",
    "RetryTransport",
    "is_testing",
    "set_testing",
]

_log = logging.getLogger("lean_async")
_NOTHING_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_Timeouts = Mapping[str, float | None] | None


class _Call:
    """One logical call in the retry loop: what tenacity's hooks need to see."""

    __slots__ = ("decided", "delay", "first", "request", "timeouts")

    def __init__(
        self, request: httpx.Request, timeouts: _Timeouts, first: httpx.Response | Exception
    ) -> None:
        self.request = request
        self.timeouts = timeouts
        self.first: httpx.Response | Exception | None = first
        self.decided = 0
        self.delay: float | None = None


def _call(retry_state: _t.RetryCallState) -> _Call:
    return cast(_Call, retry_state.args[0])


def _outcome(retry_state: _t.RetryCallState) -> httpx.Response | BaseException:
    future = cast("Future[httpx.Response]", retry_state.outcome)
    exc = future.exception()
    return future.result() if exc is None else exc


class _ReplaySafe(_t.retry_base):
    """Tenacity predicate: the call's request may be sent again after bytes went out."""

    def __call__(self, retry_state: _t.RetryCallState) -> bool:
        return is_replay_safe(_call(retry_state).request)


def _nothing_sent(exc: BaseException) -> bool:
    return isinstance(exc, _NOTHING_SENT) and not isinstance(exc, NEVER_RETRIED)


def _sent_failure(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError) and not isinstance(
        exc, (DeadlineExceeded, *NEVER_RETRIED)
    )


def _last_outcome(retry_state: _t.RetryCallState) -> httpx.Response:
    return cast("Future[httpx.Response]", retry_state.outcome).result()


class RetryTransport(httpx.AsyncBaseTransport):
    """Sends a request again after a failure that a retry can cure and cannot make worse.

    The first attempt runs outside tenacity, so a call that succeeds pays nothing for the
    retry machinery. The layer below reads each body (`ResponseLimitTransport`, which
    `build_stack` puts there, is the one that does), so a failure while reading it is an
    attempt failure too; this layer never reads one itself. ``extensions.ATTEMPTS`` is
    written on the request before each attempt and on the response;
    ``extensions.MAY_HAVE_ARRIVED`` on the request before a retry that follows an attempt
    which may have reached the server. With a deadline (``extensions.DEADLINE``) each
    attempt's httpx timeouts are clipped to the time left, no wait that would end past it
    starts, and an attempt that would start after it raises `DeadlineExceeded`.

    Args:
        inner: the transport that sends each attempt and returns its response read
            (normally the response-limit layer).
        policy: the waits and limits; the defaults when omitted.
        budget: the client's retry budget, or ``None`` for no budget.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy = policy if policy is not None else RetryPolicy()
        self._budget = budget
        statuses = policy.retry_statuses
        # Positive predicates only: anything unlisted, CancelledError included, is final.
        retry = _t.retry_if_exception(_nothing_sent) | (
            _ReplaySafe()
            & (
                _t.retry_if_exception(_sent_failure)
                | _t.retry_if_result(lambda response: response.status_code in statuses)
            )
        )
        self._retrying = _t.AsyncRetrying(
            sleep=policy.sleep,
            retry=retry,
            stop=lambda state: self._decide(state) is None,
            wait=lambda state: self._decide(state) or 0.0,
            before_sleep=self._before_sleep,
            retry_error_callback=_last_outcome,
        )

    def __repr__(self) -> str:
        return f"RetryTransport({self._inner!r}, {self._policy!r}, {self._budget!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send *request*, retrying as the policy allows, and return the read response.

        Args:
            request: the request to send.

        Returns:
            The last attempt's response, as the layer below returned it; a retryable
            status when retrying stopped early.

        Raises:
            DeadlineExceeded: the deadline passed before an attempt could start.
            httpx.TransportError: the last attempt failed.
        """
        timeouts = request.extensions.get("timeout")
        first: httpx.Response | Exception
        try:
            first = await self._send(request, timeouts, 1)
        except httpx.TransportError as exc:
            first = exc
        else:
            if first.status_code not in self._policy.retry_statuses:
                self._settle(first)
                return first
        response: httpx.Response = await self._retrying.copy()(
            self._attempt, _Call(request, timeouts, first)
        )
        self._settle(response)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    async def _send(
        self, request: httpx.Request, timeouts: _Timeouts, attempt: int
    ) -> httpx.Response:
        deadline = get_deadline(request)
        if deadline is not None:
            left = deadline - self._policy.clock()
            if left <= 0:
                request.extensions[ATTEMPTS] = attempt - 1
                raise DeadlineExceeded(f"deadline passed before attempt {attempt}", request=request)
            request.extensions["timeout"] = clip_timeouts(timeouts, left)
        request.extensions[ATTEMPTS] = attempt
        response = await self._inner.handle_async_request(request)
        response.extensions[ATTEMPTS] = attempt
        return response

    async def _attempt(self, call: _Call) -> httpx.Response:
        first, call.first = call.first, None
        if first is None:
            return await self._send(call.request, call.timeouts, get_attempts(call.request) + 1)
        # The first attempt ran outside tenacity; replay its outcome as tenacity's first.
        if isinstance(first, httpx.Response):
            return first
        raise first

    def _settle(self, response: httpx.Response) -> None:
        if self._budget is not None and response.status_code < 400:
            self._budget.record_success()

    def _decide(self, retry_state: _t.RetryCallState) -> float | None:
        # Tenacity asks stop and wait apart, in an order that changed across its versions:
        # decide once per attempt so the jitter is drawn and the budget charged once.
        call = _call(retry_state)
        if call.decided != retry_state.attempt_number:
            call.decided = retry_state.attempt_number
            call.delay = decide(
                self._policy,
                self._budget,
                call.request,
                retry_state.attempt_number,
                _outcome(retry_state),
            )
        return call.delay

    def _before_sleep(self, retry_state: _t.RetryCallState) -> None:
        call, outcome = _call(retry_state), _outcome(retry_state)
        if not isinstance(outcome, _NOTHING_SENT):
            # The failed attempt may have acted: whoever reads the call's outcome must know.
            call.request.extensions[MAY_HAVE_ARRIVED] = True
        if isinstance(outcome, httpx.Response):
            cause = f"{STATUS_CAUSE}{outcome.status_code}"
        else:
            cause = type(outcome).__name__
        method, path, delay = call.request.method, call.request.url.path, call.delay or 0.0
        attempt = retry_state.attempt_number
        _log.info(
            "retrying %s %s in %.3f s: attempt %d failed (%s)", method, path, delay, attempt, cause
        )
        if self._policy.on_retry is not None:
            self._policy.on_retry(
                RetryDetails(method=method, path=path, attempt=attempt, delay=delay, cause=cause)
            )
