"""Fault injection: what can go wrong with a request, per route and per call.

Add a rule with `Faults.add`::

    sandbox.faults.add(ServerError(retry_after=1), route="POST /specialpayment", times=2)
    sandbox.faults.add(DropAfterCommit(), route="POST /specialpayment")
    sandbox.faults.add(Latency(0.2), times=None)  # every request, forever

Each request on an API route checks the rules in the order they were added: every
matching `Latency` rule adds its delay, then the first matching rule of another kind
decides the outcome. A rule lets its first ``skip`` matching requests through, then
fires ``times`` times (``None``: for ever).
"""

from __future__ import annotations

from typing import Final

import attrs

from lean_async._endpoints.table import ENDPOINTS

__all__ = [
    "ROUTES",
    "ConnectionAborted",
    "ConnectionReset",
    "DropAfterCommit",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "Faults",
    "Latency",
    "ServerError",
]

ROUTES: Final = frozenset(row.route for row in ENDPOINTS)
"""Every API route a fault can target (``"POST /gig"``, ``"GET /gig/{gigId}"``...): the
endpoint table's routes."""


def _is_5xx(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 500 <= value <= 599:
        raise ValueError(f"{attribute.name} must be a 5xx status, got {value}")


@attrs.frozen(kw_only=True)
class ServerError:
    """Answer with a 5xx error.

    Attributes:
        status: the status, 500-599.
        retry_after: sent as ``Retry-After``: seconds, or an HTTP date string.
        after_commit: process the request first (its effects stay), then answer the
            error instead of the real response.
    """

    status: int = attrs.field(default=503, validator=_is_5xx)
    retry_after: float | str | None = None
    after_commit: bool = False


@attrs.frozen
class Latency:
    """Wait *seconds* of real time before handling the request."""

    seconds: float = attrs.field(validator=attrs.validators.ge(0))


@attrs.frozen
class ConnectionReset:
    """Reset the connection before the request is processed: nothing changes."""


@attrs.frozen
class DropAfterCommit:
    """Process the request fully (a payment is created), then close without answering."""


Fault = ServerError | Latency | ConnectionReset | DropAfterCommit
Outcome = ServerError | ConnectionReset | DropAfterCommit


@attrs.define(kw_only=True)
class FaultRule:
    """One fault, where it applies and how often; ``hits`` counts its firings."""

    fault: Fault
    route: str | None = None
    times: int | None = 1
    skip: int = 0
    seen: int = 0
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        """Whether the rule has fired all its ``times``."""
        return self.times is not None and self.hits >= self.times


@attrs.frozen
class FaultPlan:
    """What to do to one request: wait ``delay`` seconds, then apply ``outcome``."""

    delay: float = 0.0
    outcome: Outcome | None = None


class ConnectionAborted(Exception):
    """Raised by the app to break the connection instead of answering.

    The in-process transport turns it into an httpx error; the real server resets or
    closes the socket.
    """

    def __init__(self, *, after_commit: bool) -> None:
        super().__init__("drop after commit" if after_commit else "connection reset")
        self.after_commit = after_commit


class Faults:
    """The fault rules of one sandbox."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._requests: dict[str, int] = {}

    @property
    def requests(self) -> dict[str, int]:
        """API requests received so far by route (``{"POST /gig": 12, ...}``), a copy.

        Every API request passes here, faulted or not: a test counts what reached Lean.
        """
        return dict(self._requests)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """The rules that can still fire, oldest first."""
        return tuple(self._rules)

    def add(
        self, fault: Fault, *, route: str | None = None, times: int | None = 1, skip: int = 0
    ) -> FaultRule:
        """Inject *fault* into requests.

        Args:
            fault: a `ServerError`, `Latency`, `ConnectionReset` or `DropAfterCommit`.
            route: e.g. ``"POST /specialpayment"`` or ``"GET /gig/{gigId}"`` (see
                `ROUTES`); ``None`` for every API route.
            times: how many requests it fires on; ``None`` for every one.
            skip: how many matching requests pass untouched before it fires.

        Returns:
            The rule; its ``hits`` tells how often it fired.

        Raises:
            ValueError: an unknown route, ``times < 1`` or ``skip < 0``.
        """
        if route is not None and route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {sorted(ROUTES)}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1, or None for every request")
        if skip < 0:
            raise ValueError("skip must be >= 0")
        rule = FaultRule(fault=fault, route=route, times=times, skip=skip)
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def plan(self, route: str) -> FaultPlan:
        """Decide, and count, what happens to one request on *route*."""
        self._requests[route] = self._requests.get(route, 0) + 1
        delay = 0.0
        outcome: Outcome | None = None
        for rule in self._rules:
            if rule.exhausted or rule.route not in (None, route):
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            if isinstance(rule.fault, Latency):
                delay += rule.fault.seconds
            elif outcome is None:
                outcome = rule.fault
            else:
                continue  # shadowed by an earlier outcome: it does not fire
            rule.hits += 1
        self._rules = [rule for rule in self._rules if not rule.exhausted]
        return FaultPlan(delay, outcome)
