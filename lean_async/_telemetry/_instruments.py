"""The metric instruments, made once per meter provider and shared by its clients.

A meter provider registers an instrument name once: a second ``create_*`` of the same
name returns the first instrument (or, for an observable one, drops the new callback).
So each provider gets one `Instruments`, kept in a weak mapping, and one retry-budget
gauge (and one pacing-rate gauge) whose callback reads every live client's budget (and
rate limiter) through weak references: a gauge never keeps a client alive.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lean_async._telemetry import names
from lean_async._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

    from lean_async.ratelimit import RateLimiter
    from lean_async.transport._budget import RetryBudget

__all__ = ["Instruments", "instruments_for"]

_client_ids = itertools.count(1)


class Instruments:
    """The instruments of one meter provider.

    Args:
        provider: the meter provider to create them with.
    """

    __slots__ = ("_budgets", "_limiters", "call_duration", "http_duration", "rate_wait", "retries")

    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter(names.SCOPE, __version__)
        self.http_duration = meter.create_histogram(
            names.HTTP_CLIENT_DURATION,
            unit="s",
            description="Duration of HTTP client requests (one point per attempt).",
            explicit_bucket_boundaries_advisory=names.DURATION_BUCKETS,
        )
        self.call_duration = meter.create_histogram(
            names.CALL_DURATION,
            unit="s",
            description="Duration of lean-async logical calls, retries and backoff included.",
            explicit_bucket_boundaries_advisory=names.DURATION_BUCKETS,
        )
        self.retries = meter.create_counter(
            names.RETRIES,
            unit="{retry}",
            description="Retries lean-async decided to make, by operation and cause.",
        )
        self.rate_wait = meter.create_histogram(
            names.RATE_LIMIT_WAIT,
            unit="s",
            description="Time an attempt waited for its turn in the client's rate limiter.",
            explicit_bucket_boundaries_advisory=names.DURATION_BUCKETS,
        )
        self._budgets: weakref.WeakValueDictionary[int, RetryBudget] = weakref.WeakValueDictionary()
        self._limiters: weakref.WeakValueDictionary[int, RateLimiter] = (
            weakref.WeakValueDictionary()
        )
        meter.create_observable_gauge(
            names.RATE_LIMIT_RATE,
            callbacks=[self._observe_limiters],
            unit="{request}/s",
            description="Each live client's pace in requests/s, while its rate limiter limits.",
        )
        meter.create_observable_gauge(
            names.RETRY_BUDGET_TOKENS,
            callbacks=[self._observe_budgets],
            unit="{token}",
            description="Tokens left in each live client's retry budget.",
        )

    def watch_budget(self, budget: RetryBudget) -> None:
        """Report *budget* on the gauge for as long as something else keeps it alive."""
        if budget not in self._budgets.values():
            self._budgets[next(_client_ids)] = budget

    def watch_limiter(self, limiter: RateLimiter) -> None:
        """Report *limiter*'s rate on the gauge for as long as something keeps it alive."""
        if limiter not in self._limiters.values():
            try:
                self._limiters[next(_client_ids)] = limiter
            except TypeError:  # a limiter of the user's without weak references
                return

    def _observe_limiters(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        observations = []
        for client_id, limiter in list(self._limiters.items()):
            rate = limiter.rate
            if rate is not None:
                observations.append(Observation(rate, {names.CLIENT_ID: client_id}))
        return observations

    def _observe_budgets(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        return [
            Observation(budget.tokens, {names.CLIENT_ID: client_id})
            for client_id, budget in list(self._budgets.items())
        ]


_by_provider: weakref.WeakKeyDictionary[MeterProvider, Instruments] = weakref.WeakKeyDictionary()


def instruments_for(provider: MeterProvider) -> Instruments:
    """Return the `Instruments` of *provider*, creating them on first use."""
    instruments = _by_provider.get(provider)
    if instruments is None:
        instruments = _by_provider[provider] = Instruments(provider)
    return instruments
