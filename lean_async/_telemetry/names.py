"""The names lean-async's telemetry uses: instrumentation scope, spans, attributes, metrics.

They are a contract (README "Telemetry"; users build dashboards on them): change none.
Attribute keys of the HTTP semantic conventions are spelled out here rather than taken
from ``opentelemetry-semantic-conventions``, which the library does not depend on.
"""

from __future__ import annotations

from typing import Final

SCOPE: Final = "lean_async"
"""The instrumentation scope name of every tracer and meter (version: the package's)."""

CALL_SPAN_PREFIX: Final = "lean."
"""A logical call's span is this + its operation: ``lean.gigs.create``."""

RAW_REQUEST_OPERATION: Final = "request"
"""The operation of `LeanClient.request` (span ``lean.request``)."""

RETRY_EVENT: Final = "lean.retry"
"""The event added to a logical call's span when a backoff is decided."""

# -- attributes ------------------------------------------------------------------------
ATTEMPTS: Final = "lean.attempts"
IDEMPOTENCY_KEY: Final = "lean.idempotency_key"
OPERATION: Final = "lean.operation"
OUTCOME: Final = "lean.outcome"
RETRY_CAUSE: Final = "lean.retry.cause"
RETRY_DELAY: Final = "lean.retry.delay"
RETRY_ATTEMPT: Final = "lean.retry.attempt"
ERROR_TYPE: Final = "error.type"
HTTP_METHOD: Final = "http.request.method"
HTTP_STATUS: Final = "http.response.status_code"
HTTP_RESEND_COUNT: Final = "http.request.resend_count"
URL_TEMPLATE: Final = "url.template"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

OUTCOME_SUCCESS: Final = "success"
OUTCOME_ERROR: Final = "error"

# -- metrics ---------------------------------------------------------------------------
HTTP_CLIENT_DURATION: Final = "http.client.request.duration"
CALL_DURATION: Final = "lean.client.call.duration"
RETRIES: Final = "lean.client.retries"
RETRY_BUDGET_TOKENS: Final = "lean.client.retry_budget.tokens"
RATE_LIMIT_RATE: Final = "lean.client.rate_limit.rate"
RATE_LIMIT_WAIT: Final = "lean.client.rate_limit.wait"
WEBHOOK_DELIVERIES: Final = "lean.webhooks.deliveries"
WEBHOOK_EVENT_TYPE: Final = "lean.webhook.event_type"
WEBHOOK_OUTCOME: Final = "lean.webhook.outcome"
WEBHOOK_REASON: Final = "lean.webhook.reason"
CLIENT_ID: Final = "lean.client.id"

# The semantic conventions' advice for http.client.request.duration, in seconds.
DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
