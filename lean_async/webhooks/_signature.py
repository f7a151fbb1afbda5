"""Lean's webhook signature: base64(HMAC-SHA1(key=api_key, msg=raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign"]

SIGNATURE_HEADER = "x-lean-signature"


def sign(payload: bytes, api_key: str) -> str:
    """Return the ``x-lean-signature`` value Lean sends with *payload*.

    The reference's Node example never feeds the body to the HMAC (it would sign the
    empty string); its prose says the payload is signed, which is what we do.
    """
    digest = hmac.new(api_key.encode("utf-8"), payload, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
