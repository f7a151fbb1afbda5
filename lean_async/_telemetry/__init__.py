"""lean-async's OpenTelemetry instrumentation (private; the names are in `names`).

Only ``opentelemetry-api`` is used, and only when it is installed (`_guard`). A client
holds one `Telemetry` (`_setup`); public methods are `traced` logical calls (`_calls`);
the transport stack's attempt layer (`lean_async.transport._attempt`) traces and
measures each HTTP attempt and injects ``traceparent``; the retry layer reports each
backoff through its ``on_retry`` hook (`lean_async.transport._attempt.retry_reporter`),
so it imports nothing from here.
"""

from lean_async._telemetry import names
from lean_async._telemetry._calls import CallRecord, current_call, error_type, run_call, traced
from lean_async._telemetry._setup import Active, Telemetry, telemetry_for

__all__ = [
    "Active",
    "CallRecord",
    "Telemetry",
    "current_call",
    "error_type",
    "names",
    "run_call",
    "telemetry_for",
    "traced",
]
