"""`Telemetry`: one client's view of its tracer and meter providers, resolved per call.

Providers are looked up when a call starts, not when the client is built, so a client
made before the application configured OpenTelemetry still reports once it has. Each
call asks `Telemetry.active`; the answer is ``None`` (skip everything) while the
providers are the API's no-op defaults, and otherwise an `Active` holding the tracer
and the instruments, cached until a provider changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lean_async._telemetry import _guard, names
from lean_async._telemetry._instruments import Instruments, instruments_for
from lean_async._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Tracer, TracerProvider

    from lean_async.ratelimit import RateLimiter
    from lean_async.transport._budget import RetryBudget

__all__ = ["Active", "Telemetry", "telemetry_for"]


class Active:
    """What a call reports to, once telemetry is known to be configured."""

    __slots__ = ("instruments", "telemetry", "tracer")

    def __init__(self, telemetry: Telemetry, tracer: Tracer, instruments: Instruments) -> None:
        self.telemetry = telemetry
        self.tracer = tracer
        self.instruments = instruments


class Telemetry:
    """The telemetry of one `LeanClient`, shared by its `with_options` copies.

    Args:
        tracer_provider: the provider to trace with, or ``None`` for the global one.
        meter_provider: the provider to measure with, or ``None`` for the global one.
        budget: the client's retry budget, reported on the budget gauge.
        base_path: the path of the client's base URL (``/api/``), for `url.template`.
        limiter: the client's rate limiter, reported on the pacing-rate gauge.
    """

    __slots__ = (
        "__weakref__",
        "_active",
        "_budget",
        "_limiter",
        "_meter_provider",
        "_seen",
        "_tracer_provider",
        "base_path",
    )

    def __init__(
        self,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        budget: RetryBudget | None,
        base_path: str,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._budget = budget
        self._limiter = limiter
        self.base_path = base_path
        self._seen: tuple[Any, Any] = (None, None)
        self._active: Active | None = None

    def __repr__(self) -> str:
        return (
            f"Telemetry(tracer_provider={self._tracer_provider!r}, "
            f"meter_provider={self._meter_provider!r})"
        )

    def active(self) -> Active | None:
        """Return where this call reports to, or ``None`` when nothing would record it."""
        # The global providers through the API's public getters, at each call: a global
        # provider set after the client was made is used from the next call on.
        tracer_provider, meter_provider = self._tracer_provider, self._meter_provider
        if tracer_provider is None:
            tracer_provider = _guard.trace.get_tracer_provider()
        if meter_provider is None:
            meter_provider = _guard.metrics.get_meter_provider()
        seen = self._seen
        if tracer_provider is seen[0] and meter_provider is seen[1]:
            return self._active
        return self._resolve(tracer_provider, meter_provider)

    def _resolve(
        self, tracer_provider: TracerProvider, meter_provider: MeterProvider
    ) -> Active | None:
        if _guard.records_nothing(tracer_provider) and _guard.records_nothing(meter_provider):
            active = None
        else:
            instruments = instruments_for(meter_provider)
            if self._budget is not None:
                instruments.watch_budget(self._budget)
            if self._limiter is not None:
                instruments.watch_limiter(self._limiter)
            tracer = tracer_provider.get_tracer(names.SCOPE, __version__)
            active = Active(self, tracer, instruments)
        self._seen = (tracer_provider, meter_provider)
        self._active = active
        return active


def telemetry_for(
    tracer_provider: Any,
    meter_provider: Any,
    budget: RetryBudget | None,
    base_path: str,
    limiter: RateLimiter | None = None,
) -> Telemetry | None:
    """Return a client's `Telemetry`, or ``None`` when the API is not installed.

    Raises:
        LeanError: a provider was given but ``opentelemetry-api`` is not installed.
    """
    if not _guard.ENABLED:
        if tracer_provider is not None or meter_provider is not None:
            from lean_async.errors import LeanError

            raise LeanError(
                "tracer_provider=/meter_provider= need opentelemetry-api: "
                "pip install 'lean-async[otel]'"
            )
        return None
    return Telemetry(tracer_provider, meter_provider, budget, base_path, limiter)
