"""``Idempotency-Key`` records for POST /specialpayment, kept for 24 hours of clock time.

Only successful (200) answers are recorded, as Stripe does: a request that failed
validation or met an inactive customer may be corrected and sent again under the same
key. A key seen again with the same body gets the recorded answer back byte for byte
(plus ``Idempotent-Replayed: true``); with a different body it gets a 422, as the IETF
``Idempotency-Key`` draft recommends. Keys are compared after canonicalising the JSON
body, so whitespace and key order do not matter.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

import attrs

from lean_async.sandbox._clock import Clock
from lean_async.sandbox._http import HTTPError, Response

__all__ = ["DAY", "MAX_KEY_LENGTH", "IdempotencyStore", "fingerprint"]

DAY: Final = 24 * 60 * 60.0
MAX_KEY_LENGTH: Final = 255


def fingerprint(body: bytes) -> str:
    """Return a digest of *body* that ignores JSON formatting."""
    try:
        canonical = json.dumps(
            json.loads(body.decode("utf-8")), sort_keys=True, separators=(",", ":")
        ).encode("utf-8")
    except (UnicodeDecodeError, ValueError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


@attrs.frozen
class _Entry:
    fingerprint: str
    response: Response
    expires: float


class IdempotencyStore:
    """Recorded answers by key, each forgotten *ttl* seconds after it was made."""

    def __init__(self, clock: Clock, *, ttl: float = DAY) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}

    def replay(self, key: str, body: bytes) -> Response | None:
        """Return the recorded answer for *key*, or None if there is none (any more).

        Raises:
            HTTPError: 400 for an empty or too long key; 422 when the key was used
                with a different body.
        """
        if not key or len(key) > MAX_KEY_LENGTH:
            raise HTTPError(
                400,
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                errors=[("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters")],
            )
        self._expire()
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.fingerprint != fingerprint(body):
            raise HTTPError(
                422,
                f"Idempotency-Key {key!r} was already used with a different request body",
                errors=[("Idempotency-Key", "already used with a different request body")],
            )
        return entry.response.with_header("idempotent-replayed", "true")

    def record(self, key: str, body: bytes, response: Response) -> None:
        """Remember *response* as the answer to *key* with *body*."""
        expires = self._clock.time() + self._ttl
        self._entries[key] = _Entry(fingerprint(body), response, expires)

    def _expire(self) -> None:
        # Entries are inserted in time order with one ttl, so the oldest come first.
        now = self._clock.time()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                break
            del self._entries[key]
