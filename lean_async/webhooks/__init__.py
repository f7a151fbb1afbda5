"""Verify, parse and de-duplicate Lean webhook deliveries."""

from lean_async.webhooks._signature import SIGNATURE_HEADER, sign

__all__ = ["SIGNATURE_HEADER", "sign"]
