"""Lean's webhook signature: base64(HMAC-SHA1(key=api_key, msg=raw body)).

The reference's Node example creates the HMAC and digests it without ever calling
``hmac.update(payload)``, so it would sign the empty string; its prose says the payload
is signed with the API key, which is what `sign` and `verify` do, over the raw bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Final

from lean_async.errors import WebhookVerificationError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SIGNATURE_HEADER",
    "check_limit",
    "check_size",
    "header_value",
    "normalize_keys",
    "sign",
    "verify",
]

SIGNATURE_HEADER: Final = "x-lean-signature"
"""The request header that carries the signature (matched case-insensitively)."""

DEFAULT_MAX_BODY_BYTES: Final = 1_048_576
"""The largest body `verify` and `parse` accept by default (1 MiB)."""

_DIGEST_SIZE: Final = 20  # bytes of an HMAC-SHA1
_SIGNATURE_LENGTH: Final = 28  # its base64, with one "=" of padding


def _invalid_argument(message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, reason="invalid_argument")


def sign(payload: bytes, api_key: str) -> str:
    """Return the ``x-lean-signature`` value Lean sends with *payload*.

    The reference's Node example never feeds the body to the HMAC (it would sign the
    empty string); its prose says the payload is signed, which is what we do.

    Args:
        payload: the raw request body.
        api_key: the API key Lean signs with.

    Returns:
        The base64 HMAC-SHA1 of *payload* keyed with *api_key*.
    """
    # SHA-1 is what Lean signs with; HMAC-SHA1 is still sound as a MAC.
    digest = hmac.new(api_key.encode("utf-8"), payload, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def normalize_keys(api_key: str | Sequence[str]) -> tuple[bytes, ...]:
    """Return the UTF-8 bytes of one key or of each key of a rotation list.

    Args:
        api_key: one key, or several during a rotation (any of them verifies).

    Returns:
        The keys as bytes, in the order given.

    Raises:
        TypeError: *api_key* is not a string or a sequence of strings.
        ValueError: no key was given, or one of them is empty. These are configuration
            mistakes, so they fail loudly instead of rejecting every delivery.
    """
    given: object = api_key  # checked at run time: configuration often comes untyped
    if given is None:
        raise TypeError("api_key is None (is LEAN_API_KEY set?): give the key to verify with")
    if isinstance(given, str):
        keys: Sequence[object] = (given,)
    elif isinstance(given, Sequence) and not isinstance(given, bytes | bytearray):
        keys = given
    else:
        raise TypeError(f"api_key must be a str or a sequence of str, not {type(given).__name__}")
    if not keys:
        raise ValueError("api_key is an empty list: give at least one key to verify with")
    encoded: list[bytes] = []
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"every api_key must be a str, not {type(key).__name__}")
        if not key:
            raise ValueError("an api_key is the empty string (is the variable set?)")
        encoded.append(key.encode("utf-8"))
    return tuple(encoded)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Return the first value of header *name*, matched case-insensitively.

    Args:
        headers: a plain dict, starlette ``Headers``, aiohttp ``CIMultiDict``, werkzeug
            ``Headers``, or any object with ``get`` and ``items`` like a mapping.
        name: the lower-case header name.

    Returns:
        The value, or None when the header is absent.

    Raises:
        WebhookVerificationError: ``invalid_argument`` when *headers* is not a mapping.
    """
    try:
        value = headers.get(name)
        if value is not None:
            return value
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == name:
                return candidate
    except (AttributeError, TypeError, ValueError):  # None, a list, a string...
        raise _invalid_argument(
            f"headers must be a mapping of header names to values, not {type(headers).__name__}"
        ) from None
    return None


def check_limit(max_body_bytes: object) -> None:
    """Check that *max_body_bytes* is a size limit: an int >= 0, or None for no limit.

    Args:
        max_body_bytes: the value to check.

    Raises:
        TypeError: it is not an int (or None).
        ValueError: it is negative.
    """
    if max_body_bytes is None:
        return
    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
        raise TypeError(
            f"max_body_bytes must be an int or None, not {type(max_body_bytes).__name__}"
        )
    if max_body_bytes < 0:
        raise ValueError(f"max_body_bytes must not be negative, got {max_body_bytes}")


def check_size(payload: bytes | bytearray | memoryview, max_body_bytes: int | None) -> None:
    """Reject *payload* when it is longer than *max_body_bytes* (None: no limit).

    Args:
        payload: the raw body.
        max_body_bytes: the largest size accepted, or None for no limit.

    Raises:
        WebhookVerificationError: ``payload_too_large``.
    """
    if max_body_bytes is not None and len(payload) > max_body_bytes:
        raise WebhookVerificationError(
            f"webhook body is larger than {max_body_bytes} bytes", reason="payload_too_large"
        )


def _decode_signature(signature: object) -> bytes:
    if isinstance(signature, bytes):
        try:
            signature = signature.decode("ascii")
        except UnicodeDecodeError:
            raise WebhookVerificationError(
                "x-lean-signature is not ASCII", reason="malformed_signature"
            ) from None
    if signature is None or (isinstance(signature, str) and not signature.strip()):
        raise WebhookVerificationError(
            "the x-lean-signature header is missing or empty", reason="missing_signature"
        )
    if not isinstance(signature, str):
        raise _invalid_argument(
            f"the signature must be the header's str value, not {type(signature).__name__}"
        )
    text = signature.strip()
    if not text.isascii():
        raise WebhookVerificationError(
            "x-lean-signature is not ASCII", reason="malformed_signature"
        )
    if len(text) != _SIGNATURE_LENGTH:
        raise WebhookVerificationError(
            f"x-lean-signature has {len(text)} characters; a base64 HMAC-SHA1 has "
            f"{_SIGNATURE_LENGTH}",
            reason="malformed_signature",
        )
    try:
        digest = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise WebhookVerificationError(
            "x-lean-signature is not valid base64", reason="malformed_signature"
        ) from None
    if len(digest) != _DIGEST_SIZE:
        raise WebhookVerificationError(
            f"x-lean-signature decodes to {len(digest)} bytes; an HMAC-SHA1 has {_DIGEST_SIZE}",
            reason="malformed_signature",
        )
    return digest


def _checked_arguments(
    payload: object, api_key: object, max_body_bytes: object
) -> tuple[bytes | bytearray | memoryview, tuple[bytes, ...]]:
    """Return the payload and the encoded keys, or raise ``invalid_argument``."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise _invalid_argument(
            f"payload must be the raw body bytes, not {type(payload).__name__} "
            "(re-encoding decoded JSON changes the bytes and breaks the signature)"
        )
    try:
        keys = normalize_keys(api_key)  # type: ignore[arg-type]  # checked at run time
        check_limit(max_body_bytes)
    except (TypeError, ValueError) as exc:
        raise _invalid_argument(str(exc)) from None
    return payload, keys


def verify(
    payload: bytes,
    signature: str | None,
    api_key: str | Sequence[str],
    *,
    max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Check that *signature* is Lean's HMAC of *payload*, or raise.

    The size limit is checked first, so nothing is copied or hashed beyond it. The
    signature is decoded and compared as bytes with `hmac.compare_digest`, against every
    key given, so a key rotation can accept the old and the new key at once.

    Args:
        payload: the raw request body, exactly as received (not re-encoded JSON).
        signature: the ``x-lean-signature`` header value (str, or ASCII bytes), or
            None when absent.
        api_key: your API key, or a sequence of keys any of which may have signed.
        max_body_bytes: reject longer bodies before hashing them (default 1 MiB;
            None: no limit).

    Raises:
        WebhookVerificationError: with ``.reason`` ``missing_signature``,
            ``malformed_signature`` (not ASCII, not base64, wrong length),
            ``signature_mismatch``, ``payload_too_large``, or ``invalid_argument`` (the
            call itself is wrong: *payload* not bytes, *signature* not a str, *api_key*
            not a non-empty str or list of them, *max_body_bytes* not an int >= 0).
            Nothing else is raised, whatever the arguments.
    """
    raw, keys = _checked_arguments(payload, api_key, max_body_bytes)
    check_size(raw, max_body_bytes)  # before copying or hashing anything
    body = bytes(raw)
    given = _decode_signature(signature)
    matched = False
    for key in keys:
        expected = hmac.new(key, body, hashlib.sha1).digest()
        # No early exit: every key is tried, so timing does not tell which one matched.
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise WebhookVerificationError(
            "x-lean-signature does not match the body", reason="signature_mismatch"
        )
