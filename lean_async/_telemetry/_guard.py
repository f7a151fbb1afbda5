"""The import guard: ``opentelemetry-api`` is optional (the ``[otel]`` extra).

`ENABLED` is True when the API is importable. It is a plain module global so that the
overhead benchmark can build a client on the code path taken without the API
(``benchmarks/bench_otel.py``); nothing else should change it.

Only the API's public names are used. `records_nothing` tells the API's own providers
(the no-op ones, and the proxies the getters hand out until an SDK is set) from an
SDK's: through the public classes, and for the proxy meter provider, whose class is not
public, through the module the class is defined in (any provider of the API package
itself records nothing). Should the API move its classes, a provider is taken for one
that records: calls are then traced through the API's no-op machinery, correct and a
little slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["ENABLED", "context", "metrics", "propagate", "records_nothing", "trace"]

if TYPE_CHECKING:
    from opentelemetry import context, metrics, propagate, trace

ENABLED: bool
_NOOP_PROVIDERS: tuple[type, ...] = ()
_API_MODULES = ("opentelemetry.trace", "opentelemetry.metrics")

try:
    from opentelemetry import context, metrics, propagate, trace
except ImportError:  # pragma: no cover - the suite installs the [otel] extra
    ENABLED = False
else:
    ENABLED = True
    _NOOP_PROVIDERS = (
        trace.NoOpTracerProvider,
        trace.ProxyTracerProvider,
        metrics.NoOpMeterProvider,
    )


def records_nothing(provider: object) -> bool:
    """Return whether *provider* is one of the API's own, which record nothing."""
    if isinstance(provider, _NOOP_PROVIDERS):
        return True
    module = type(provider).__module__
    return any(module == name or module.startswith(name + ".") for name in _API_MODULES)
