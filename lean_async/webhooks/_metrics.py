"""The ``lean.webhooks.deliveries`` counter: one point per delivery, by type and outcome.

Attributes: ``lean.webhook.outcome`` (the `DeliveryOutcome` value: ``processed``,
``duplicate``, ``rejected``, ``in_progress``, ``failed``), ``lean.webhook.event_type``
when the delivery was verified and parsed (a rejected one has no trustworthy type),
``lean.webhook.reason`` on a rejection (``signature_mismatch``, ``payload_too_large``...)
and ``error.type`` (the exception's class) when the handler raised. Never the event id,
the body, a header or the key.

It needs ``opentelemetry-api`` (the ``otel`` extra); without it every call here costs a
``None`` check. The counter comes from the global meter provider, or from the one given
as ``meter_provider=``.
"""

from __future__ import annotations

import weakref
from types import ModuleType
from typing import TYPE_CHECKING, Final, Protocol

from lean_async._telemetry import names
from lean_async._version import __version__

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, MeterProvider

    from lean_async.models import WebhookEvent

otel_metrics: ModuleType | None
try:
    from opentelemetry import metrics as otel_metrics
except ImportError:  # the optional extra is not installed: count nothing
    otel_metrics = None

__all__ = [
    "ATTR_ERROR_TYPE",
    "ATTR_EVENT_TYPE",
    "ATTR_OUTCOME",
    "ATTR_REASON",
    "DELIVERIES",
    "Decided",
    "record_delivery",
]

SCOPE: Final = names.SCOPE
DELIVERIES: Final = names.WEBHOOK_DELIVERIES
ATTR_EVENT_TYPE: Final = names.WEBHOOK_EVENT_TYPE
ATTR_OUTCOME: Final = names.WEBHOOK_OUTCOME
ATTR_REASON: Final = names.WEBHOOK_REASON
ATTR_ERROR_TYPE: Final = names.ERROR_TYPE

_global_counter: Counter | None = None
# One counter per explicit provider, built on first use: a router built once passes the
# same provider on every delivery, so this is a dict lookup per delivery.
_counters: weakref.WeakKeyDictionary[MeterProvider, Counter] = weakref.WeakKeyDictionary()


def _new_counter(api: ModuleType, meter_provider: MeterProvider | None) -> Counter:
    meter = (
        api.get_meter(SCOPE, __version__)
        if meter_provider is None
        else meter_provider.get_meter(SCOPE, __version__)
    )
    return meter.create_counter(
        DELIVERIES, unit="{delivery}", description="Webhook deliveries received, by outcome."
    )


def _counter(meter_provider: MeterProvider | None) -> Counter | None:
    global _global_counter
    if otel_metrics is None:
        return None
    if meter_provider is None:
        # The API's global meter is a proxy until the application sets a provider, so
        # building the counter before that is fine: it starts counting once one is set.
        if _global_counter is None:
            _global_counter = _new_counter(otel_metrics, None)
        return _global_counter
    counter = _counters.get(meter_provider)
    if counter is None:
        counter = _counters[meter_provider] = _new_counter(otel_metrics, meter_provider)
    return counter


class _Outcome(Protocol):
    @property
    def value(self) -> str: ...


class Decided(Protocol):
    """What `record_delivery` reads of a decided delivery; a `DeliveryResult` is one.

    A protocol rather than the class keeps this module below `_delivery`, which calls it.
    """

    @property
    def outcome(self) -> _Outcome:
        """What happened (its ``value`` is the metric's outcome)."""
        ...

    @property
    def event(self) -> WebhookEvent | None:
        """The parsed event, unless the delivery was rejected."""
        ...

    @property
    def reason(self) -> str | None:
        """Why it was rejected, if it was."""
        ...

    @property
    def error(self) -> BaseException | None:
        """The rejection error, or the exception the handler raised."""
        ...


def record_delivery(result: Decided, meter_provider: MeterProvider | None = None) -> None:
    """Add one to ``lean.webhooks.deliveries`` for *result* (nothing without the API).

    Args:
        result: the decided delivery.
        meter_provider: where the counter lives; default the global provider.
    """
    counter = _counter(meter_provider)
    if counter is None:
        return
    attributes: dict[str, str] = {ATTR_OUTCOME: result.outcome.value}
    if result.event is not None:
        attributes[ATTR_EVENT_TYPE] = str(result.event.type)
    if result.reason is not None:
        attributes[ATTR_REASON] = result.reason
    if result.error is not None and result.reason is None:  # the handler raised
        attributes[ATTR_ERROR_TYPE] = type(result.error).__qualname__
    counter.add(1, attributes)
