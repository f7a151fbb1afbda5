"""Lean's webhook signature: base64(HMAC-SHA1(key=api_key, msg=raw body)).

The reference's Node example creates the HMAC and digests it without ever calling
``hmac.update(payload)``, so it would sign the empty string; its prose says the payload
is signed with the API key, which is what `sign` and `verify` do, over the raw bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Final

from lean_async._secrets import WebhookKeys, take_webhook_keys
from lean_async.errors import WebhookVerificationError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SIGNATURE_HEADER",
    "WebhookKeys",
    "check_arguments",
    "check_limit",
    "check_size",
    "checked_config",
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


def sign(payload: bytes, api_key: str | WebhookKeys) -> str:
    """Return the ``x-lean-signature`` value Lean sends with *payload*.

    The reference's Node example never feeds the body to the HMAC (it would sign the
    empty string); its prose says the payload is signed, which is what we do.

    Args:
        payload: the raw request body.
        api_key: the API key Lean signs with (or `WebhookKeys`: the first one signs).

    Returns:
        The base64 HMAC-SHA1 of *payload* keyed with *api_key*.

    Raises:
        TypeError: *payload* is not bytes, or *api_key* not a str.
        ValueError: *api_key* is empty.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # from here on only the redacting holder is in this frame
    if keys is None:
        raise problem or TypeError("no key to sign with")
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError(f"payload must be the raw body bytes, not {type(payload).__name__}")
    # SHA-1 is what Lean signs with; HMAC-SHA1 is still sound as a MAC.
    return base64.b64encode(keys.sign(bytes(payload))).decode("ascii")


def normalize_keys(api_key: str | Sequence[str] | WebhookKeys) -> WebhookKeys:
    """Return one key, or each key of a rotation list, in a redacting `WebhookKeys`.

    Args:
        api_key: one key, or several during a rotation (any of them verifies).

    Returns:
        The keys, in the order given.

    Raises:
        TypeError: *api_key* is not a string or a sequence of strings.
        ValueError: no key was given, or one of them is empty. These are configuration
            mistakes, so they fail loudly instead of rejecting every delivery.
    """
    keys, problem = take_webhook_keys(api_key)
    del api_key  # an error raised below must not find the raw keys in this frame
    if keys is None:
        raise problem or TypeError("no webhook key")
    return keys


def checked_config(
    keys: WebhookKeys | None, problem: Exception | None, max_body_bytes: object
) -> WebhookKeys:
    """Return *keys* when an integration's settings are right; raise loudly otherwise.

    For receivers built at startup: a wrong key or limit fails when the app is built,
    not on every delivery. Takes what `take_webhook_keys` returned, so the caller has
    dropped the raw keys from its frame first.

    Raises:
        TypeError: the keys are not str(s), or *max_body_bytes* is not an int.
        ValueError: no key, an empty one, or *max_body_bytes* < 0.
    """
    if keys is None:
        raise problem or TypeError("no webhook key")
    check_limit(max_body_bytes)
    return keys


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


def check_arguments(
    payload: object,
    keys: WebhookKeys | None,
    problem: Exception | None,
    max_body_bytes: object,
) -> WebhookKeys:
    """Return *keys* once the call's arguments are right, or raise ``invalid_argument``.

    Takes what `take_webhook_keys` returned, so that the caller has dropped the raw
    keys from its frame before anything is raised.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise _invalid_argument(
            f"payload must be the raw body bytes, not {type(payload).__name__} "
            "(re-encoding decoded JSON changes the bytes and breaks the signature)"
        )
    if keys is None:
        raise _invalid_argument(str(problem))
    try:
        check_limit(max_body_bytes)
    except (TypeError, ValueError) as exc:
        raise _invalid_argument(str(exc)) from None
    return keys


def verify(
    payload: bytes,
    signature: str | None,
    api_key: str | Sequence[str] | WebhookKeys,
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
        api_key: your API key, or a sequence of keys any of which may have signed (or
            `WebhookKeys` holding them).
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
    keys, problem = take_webhook_keys(api_key)
    del api_key  # no raw key in this frame when a refusal below passes through it
    keys = check_arguments(payload, keys, problem, max_body_bytes)
    check_size(payload, max_body_bytes)  # before copying or hashing anything
    given = _decode_signature(signature)
    if not keys.matches(bytes(payload), given):
        raise WebhookVerificationError(
            "x-lean-signature does not match the body", reason="signature_mismatch"
        )
