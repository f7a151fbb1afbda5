"""Helpers for testing code that uses lean-async.

- `set_testing` switches every retry backoff to zero, for your own test suites (the
  retries still happen, only the waiting goes), as stamina's ``set_testing`` does.
- `follow_sandbox_clock` makes the SDK's waits (``customers.wait_until_active``,
  ``gigs.wait_until_settled``, ``special_payments.wait_until_settled``) move a sandbox's
  `ManualClock` instead of sleeping: approvals, settlements and webhook deliveries
  happen at once. `set_wait_clock` installs any other `WaitClock`.
- `sign` and `signed_delivery` build webhook deliveries your receiver will accept
  (``signed_delivery(event.raw, key)`` replays an event the sandbox emitted).
- The `lean_sandbox` and `lean_client` pytest fixtures come from the plugin that
  installing lean-async registers (`lean_async.sandbox.pytest_plugin`); they do both
  of the above for the duration of each test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lean_async._secrets import WebhookKeys, take_webhook_keys
from lean_async.resources._wait import RealWaitClock, WaitClock, get_wait_clock, set_wait_clock
from lean_async.transport import is_testing, set_testing
from lean_async.webhooks import SIGNATURE_HEADER, sign

if TYPE_CHECKING:
    from lean_async.sandbox import Sandbox

__all__ = [
    "RealWaitClock",
    "SandboxWaitClock",
    "WaitClock",
    "follow_sandbox_clock",
    "get_wait_clock",
    "is_testing",
    "set_testing",
    "set_wait_clock",
    "sign",
    "signed_delivery",
]


def signed_delivery(
    event: dict[str, Any], api_key: str | WebhookKeys
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers Lean would send for *event*, signed with *api_key*.

    Post them to your receiver to test it: ``body, headers = signed_delivery(event.raw,
    sandbox.api_key)`` replays a `WebhookEvent` the sandbox emitted (``sandbox.events``)
    through its ``raw`` JSON body.

    Args:
        event: the JSON body as a dict, e.g. ``{"event": "gig.completed", "data": {...}}``;
            for a `WebhookEvent`, its ``event.raw``.
        api_key: the key Lean signs with (your API key).

    Returns:
        The raw body and a headers dict with ``Content-Type`` and ``x-lean-signature``.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # a body that is not JSON raises below with only the redacting holder here
    if keys is None:
        raise problem or TypeError("no key to sign with")
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, keys)}


class SandboxWaitClock:
    """A `WaitClock` on a sandbox's `ManualClock`: sleeping advances the sandbox.

    ``await clock.sleep(1.0)`` is ``await sandbox.advance(1.0)``: every approval,
    settlement and webhook delivery due in that second runs, and no real time passes.

    Raises:
        TypeError: the sandbox runs on a real clock (there is nothing to advance).
    """

    def __init__(self, sandbox: Sandbox) -> None:
        from lean_async.sandbox import ManualClock

        if not isinstance(sandbox.clock, ManualClock):
            raise TypeError("follow_sandbox_clock needs a Sandbox(clock=ManualClock())")
        self._sandbox = sandbox

    def monotonic(self) -> float:
        """Return the sandbox's clock time."""
        return self._sandbox.clock.time()

    async def sleep(self, seconds: float) -> None:
        """Let other tasks run, then advance the sandbox by *seconds*."""
        await asyncio.sleep(0)
        await self._sandbox.advance(seconds)

    def __repr__(self) -> str:
        return f"SandboxWaitClock({self._sandbox!r})"


@contextlib.contextmanager
def follow_sandbox_clock(sandbox: Sandbox) -> Iterator[SandboxWaitClock]:
    """Within the block, the SDK's waits advance *sandbox*'s manual clock instead of sleeping.

    The ``lean_sandbox`` fixture does this for you; use it with a sandbox of your own::

        async with Sandbox(clock=ManualClock()) as sandbox:
            with follow_sandbox_clock(sandbox):
                await lean.customers.wait_until_active("uid_1")   # instant

    The switch is process-wide (as `set_testing` is) and restored on exit.

    Raises:
        TypeError: the sandbox runs on a real clock.
    """
    clock = SandboxWaitClock(sandbox)
    previous = set_wait_clock(clock)
    try:
        yield clock
    finally:
        set_wait_clock(previous)
