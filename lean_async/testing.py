"""Helpers for testing code that uses lean-async.

- `set_testing` switches every retry backoff to zero, for your own test suites (the
  retries still happen, only the waiting goes), as stamina's ``set_testing`` does.
- `sign` and `signed_delivery` build webhook deliveries your receiver will accept.
- The `lean_sandbox` and `lean_client` pytest fixtures come from the plugin that
  installing lean-async registers (`lean_async.sandbox.pytest_plugin`).
"""

from __future__ import annotations

import json
from typing import Any

from lean_async.transport import is_testing, set_testing
from lean_async.webhooks import SIGNATURE_HEADER, sign

__all__ = ["is_testing", "set_testing", "sign", "signed_delivery"]


def signed_delivery(event: dict[str, Any], api_key: str) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers Lean would send for *event*.

    Args:
        event: the JSON body, e.g. ``{"event": "gig.completed", "data": {...}}``.
        api_key: the key Lean signs with (your API key).

    Returns:
        The raw body and a headers dict with ``Content-Type`` and ``x-lean-signature``.
    """
    body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, api_key)}
