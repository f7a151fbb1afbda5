"""lean-async's OpenTelemetry instrumentation (private; the names are in `names`).

Only ``opentelemetry-api`` is used, and only when it is installed (`_guard`). A client
holds one `Telemetry` (`_setup`); public methods are `traced` logical calls (`_calls`);
the transport stack's attempt layer (`lean_async.transport._attempt`) traces and
measures each HTTP attempt and injects ``traceparent``, and its retry hook there reports
each backoff to `current_call`: the stack reports up through hooks, never imported here.
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
