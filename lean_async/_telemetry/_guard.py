"""The import guard: ``opentelemetry-api`` is optional (the ``[otel]`` extra).

`ENABLED` is True when the API is importable. It is a plain module global so that the
overhead benchmark can build a client on the code path taken without the API
(``benchmarks/bench_otel.py``); nothing else should change it.

`no_global_providers` is the per-call fast path: it says, in two attribute reads, that
neither a global tracer provider nor a global meter provider was set, so the API's
providers are its no-op proxies and a call can skip telemetry entirely. The public
getters (``trace.get_tracer_provider()``) cost about 2 us each, because they look an
environment variable up on every call; that alone would be a few percent of a call. The
module globals they read are private, so their presence is checked once here; when a
future API renames them, or a provider is configured through ``OTEL_PYTHON_*_PROVIDER``
environment variables, the fast check always answers False and every call resolves the
providers through the public getters instead (correct, a little slower).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

__all__ = [
    "ENABLED",
    "FAST_CHECK",
    "NOOP_METER_PROVIDERS",
    "NOOP_TRACER_PROVIDERS",
    "context",
    "metrics",
    "no_global_providers",
    "propagate",
    "trace",
]

if TYPE_CHECKING:
    from opentelemetry import context, metrics, propagate, trace

ENABLED: bool
NOOP_TRACER_PROVIDERS: tuple[type, ...] = ()
"""The API's own tracer providers, which record nothing (the proxy, until one is set)."""
NOOP_METER_PROVIDERS: tuple[type, ...] = ()
"""The API's own meter providers, which record nothing (the proxy, until one is set)."""
_trace_module: Any = None
_metrics_module: Any = None

try:
    from opentelemetry import context, metrics, propagate, trace
    from opentelemetry.metrics import _internal as _metrics_internal
except ImportError:  # pragma: no cover - the suite installs the [otel] extra
    ENABLED = False
else:
    ENABLED = True
    NOOP_TRACER_PROVIDERS = (trace.NoOpTracerProvider, trace.ProxyTracerProvider)
    # The proxy meter provider's class is private; without it a proxy counts as real,
    # which is correct (its instruments record nothing until a provider is set), only slower.
    _proxy_meters = getattr(_metrics_internal, "_ProxyMeterProvider", None)
    NOOP_METER_PROVIDERS = (metrics.NoOpMeterProvider,) + (
        (_proxy_meters,) if isinstance(_proxy_meters, type) else ()
    )
    _env_configured = any(
        name in os.environ for name in ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")
    )
    if (
        not _env_configured
        and hasattr(trace, "_TRACER_PROVIDER")
        and hasattr(_metrics_internal, "_METER_PROVIDER")
    ):
        _trace_module, _metrics_module = trace, _metrics_internal


FAST_CHECK = _trace_module is not None
"""Whether `no_global_providers` can tell; without it every call resolves the providers."""


def no_global_providers() -> bool:
    """Return True when it is known, cheaply, that no global provider has been set.

    `lean_async._telemetry._calls.traced` inlines this test on its hot path.
    """
    return (
        _trace_module is not None
        and _trace_module._TRACER_PROVIDER is None
        and _metrics_module._METER_PROVIDER is None
    )
