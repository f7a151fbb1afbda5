"""Verify, parse and de-duplicate Lean webhook deliveries.

Lean POSTs each event with ``x-lean-signature: base64(HMAC-SHA1(key=api_key, msg=raw
body))`` and retries up to 5 times until it gets a 2xx. The reference's Node example
never feeds the payload to the HMAC (it signs the empty string); we sign and verify the
raw body, as its prose says.

- `verify` and `parse` check one delivery (`parse` also returns the typed event).
- `handle_delivery` runs the whole receive path once per event: verify, parse, claim
  the event in a `DedupStore`, call your handler, complete or release the claim.
- `MemoryDedupStore` is the in-process default; ``lean_async.webhooks.redis`` has
  `RedisDedupStore` for receivers spread over several processes.
- ``lean_async.webhooks.fastapi`` and ``lean_async.webhooks.aiohttp`` wire it into
  those frameworks in a few lines. None of redis, FastAPI or aiohttp is needed to
  import this package.
"""

from lean_async._secrets import WebhookKeys
from lean_async.webhooks._dedup import (
    DEFAULT_LEASE,
    DEFAULT_TTL,
    ClaimStatus,
    DedupStore,
    MemoryDedupStore,
)
from lean_async.webhooks._delivery import (
    DeliveryOutcome,
    DeliveryResult,
    WebhookHandler,
    handle_delivery,
)
from lean_async.webhooks._parse import parse
from lean_async.webhooks._signature import DEFAULT_MAX_BODY_BYTES, SIGNATURE_HEADER, sign, verify

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TTL",
    "SIGNATURE_HEADER",
    "ClaimStatus",
    "DedupStore",
    "DeliveryOutcome",
    "DeliveryResult",
    "MemoryDedupStore",
    "WebhookHandler",
    "WebhookKeys",
    "handle_delivery",
    "parse",
    "sign",
    "verify",
]
