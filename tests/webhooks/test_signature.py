"""`sign` and `verify`: the HMAC-SHA1 signature, its rejections, rotation, Node parity."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_async.errors import WebhookVerificationError
from lean_async.webhooks import DEFAULT_MAX_BODY_BYTES, SIGNATURE_HEADER, parse, sign, verify
from lean_async.webhooks._signature import header_value, normalize_keys
from tests.webhooks._support import API_KEY, OLD_KEY, encode, event_body, signed

BODY = encode(event_body())

NODE_HMAC = (
    "const c=[];process.stdin.on('data',d=>c.push(d));process.stdin.on('end',()=>"
    "process.stdout.write(require('crypto').createHmac('sha1',process.env.LEAN_TEST_KEY)"
    ".update(Buffer.concat(c)).digest('base64')))"
)


def reason_of(call: Callable[[], Any]) -> str:
    """Run *call*, expecting a WebhookVerificationError, and return its reason."""
    with pytest.raises(WebhookVerificationError) as info:
        call()
    return info.value.reason


def test_sign_is_base64_hmac_sha1_of_the_raw_body() -> None:
    """`sign` is base64(HMAC-SHA1(key, body)), 28 characters."""
    expected = base64.b64encode(hmac.new(API_KEY.encode(), BODY, hashlib.sha1).digest()).decode()
    assert sign(BODY, API_KEY) == expected
    assert len(expected) == 28
    assert SIGNATURE_HEADER == "x-lean-signature"


def test_verify_accepts_the_signature_of_the_body() -> None:
    """A correct signature verifies and returns None."""
    verify(BODY, sign(BODY, API_KEY), API_KEY)  # returns None; raising would fail the test


@pytest.mark.parametrize("payload", [bytearray(BODY), memoryview(BODY)])
def test_verify_accepts_bytes_like_payloads(payload: bytes) -> None:
    """bytearray and memoryview bodies verify like bytes."""
    verify(payload, sign(BODY, API_KEY), API_KEY)


def test_verify_accepts_surrounding_whitespace_and_a_bytes_header() -> None:
    """Header whitespace is ignored and a raw ASCII bytes header value is accepted."""
    signature = sign(BODY, API_KEY)
    verify(BODY, f"  {signature}\t", API_KEY)
    verify(BODY, signature.encode("ascii"), API_KEY)  # type: ignore[arg-type]


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_signature(signature: str | None) -> None:
    """An absent, empty or blank header is missing_signature."""
    assert reason_of(lambda: verify(BODY, signature, API_KEY)) == "missing_signature"


@pytest.mark.parametrize(
    "signature",
    [
        "é" * 28,  # not ASCII
        b"\xff" * 28,  # raw bytes that are not ASCII
        "!" * 28,  # not base64
        "AAAAAAAAAAAAAAAAAAAAAAAAAA==",  # bad padding for 28 characters
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA",  # 27 characters
        base64.b64encode(bytes(32)).decode(),  # a SHA-256 sized digest
        "x",
    ],
)
def test_malformed_signature(signature: Any) -> None:
    """Non-ASCII, non-base64, wrongly sized or non-string headers are malformed_signature."""
    assert reason_of(lambda: verify(BODY, signature, API_KEY)) == "malformed_signature"


def test_signature_mismatch_for_a_tampered_body() -> None:
    """Changing one byte of the body breaks the signature."""
    signature = sign(BODY, API_KEY)
    assert reason_of(lambda: verify(BODY + b" ", signature, API_KEY)) == "signature_mismatch"


def test_signature_mismatch_for_another_key() -> None:
    """A delivery signed with a different key is signature_mismatch."""
    signature = sign(BODY, "someone-else")
    assert reason_of(lambda: verify(BODY, signature, API_KEY)) == "signature_mismatch"


@pytest.mark.parametrize("signer", [API_KEY, OLD_KEY])
@pytest.mark.parametrize("keys", [[API_KEY, OLD_KEY], (OLD_KEY, API_KEY)])
def test_key_rotation_accepts_any_listed_key(signer: str, keys: list[str]) -> None:
    """During a rotation a delivery signed with either key verifies, in any order."""
    verify(BODY, sign(BODY, signer), keys)


def test_key_rotation_rejects_unlisted_keys() -> None:
    """A rotation list still rejects a key outside it."""
    signature = sign(BODY, "retired-key")
    assert reason_of(lambda: verify(BODY, signature, [API_KEY, OLD_KEY])) == "signature_mismatch"


def test_every_key_is_tried_without_early_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each key is compared with hmac.compare_digest, even after one matched."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify(BODY, sign(BODY, API_KEY), [API_KEY, OLD_KEY, "third"])
    assert len(calls) == 3
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


@pytest.mark.parametrize("signature", [12345, 1.5, ["sig"], {"sig": 1}, object()])
def test_a_signature_that_is_not_a_string_is_invalid_argument(signature: Any) -> None:
    """A signature of the wrong type is a WebhookVerificationError, never a TypeError."""
    assert reason_of(lambda: verify(BODY, signature, API_KEY)) == "invalid_argument"


@pytest.mark.parametrize(
    ("api_key", "words"),
    [
        ([], "empty list"),
        ((), "empty list"),
        ("", "empty string"),
        ([API_KEY, ""], "empty string"),
        (None, "is None"),
        (b"bytes-key", "api_key must be a str"),
        (42, "api_key must be a str"),
        ([API_KEY, 7], "every api_key must be a str"),
    ],
)
def test_a_bad_key_is_invalid_argument(api_key: Any, words: str) -> None:
    """A missing, empty or non-str key is invalid_argument, never a TypeError or ValueError."""
    with pytest.raises(WebhookVerificationError) as info:
        verify(BODY, sign(BODY, API_KEY), api_key)
    assert info.value.reason == "invalid_argument"
    assert words in str(info.value)


@pytest.mark.parametrize("api_key", [[], "", None, 42])
def test_normalize_keys_stays_loud_for_configuration(api_key: Any) -> None:
    """The check the integrations run at build time raises TypeError/ValueError."""
    with pytest.raises((TypeError, ValueError), match="api_key") as info:
        normalize_keys(api_key)
    assert not isinstance(info.value, WebhookVerificationError)


@pytest.mark.parametrize("payload", [BODY.decode(), None, 42, [1, 2]])
def test_a_payload_that_is_not_bytes_is_invalid_argument(payload: Any) -> None:
    """Decoded text and other non-bytes are refused: only the raw bytes carry the signature."""
    with pytest.raises(WebhookVerificationError, match="raw body bytes") as info:
        verify(payload, sign(BODY, API_KEY), API_KEY)
    assert info.value.reason == "invalid_argument"


@pytest.mark.parametrize("limit", ["1024", 1.5, True, -1])
def test_a_bad_size_limit_is_invalid_argument(limit: Any) -> None:
    """max_body_bytes must be an int >= 0 or None."""
    error = reason_of(lambda: verify(BODY, sign(BODY, API_KEY), API_KEY, max_body_bytes=limit))
    assert error == "invalid_argument"


def test_verify_enforces_the_default_1_mib_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify alone refuses a body over 1 MiB by default, before any HMAC is computed."""
    created: list[object] = []
    big = b" " * (DEFAULT_MAX_BODY_BYTES + 1)
    signature = sign(big, API_KEY)
    monkeypatch.setattr(hmac, "digest", lambda *a, **k: created.append(a))
    assert reason_of(lambda: verify(big, signature, API_KEY)) == "payload_too_large"
    assert created == []
    monkeypatch.undo()
    verify(big[:-1], sign(big[:-1], API_KEY), API_KEY)  # exactly 1 MiB is fine
    verify(big, signature, API_KEY, max_body_bytes=None)  # None switches the limit off


def test_verify_size_limit_is_checked_before_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the limit is payload_too_large and no HMAC is computed."""
    created: list[object] = []
    real_new = hmac.digest

    def spy_new(*args: Any, **kwargs: Any) -> Any:
        created.append(args)
        return real_new(*args, **kwargs)

    signature = sign(b"another body", API_KEY)
    monkeypatch.setattr(hmac, "digest", spy_new)
    reason = reason_of(lambda: verify(b"x" * 11, signature, API_KEY, max_body_bytes=10))
    assert reason == "payload_too_large"
    assert created == []
    assert reason_of(lambda: verify(b"x" * 10, signature, API_KEY, max_body_bytes=10)) == (
        "signature_mismatch"
    )
    assert len(created) == 1


def test_parse_size_limit_is_checked_before_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """`parse` rejects a body one byte over its limit before any HMAC or JSON work."""
    created: list[object] = []
    payload, headers = signed(b"{" + b" " * 1_048_575 + b"}")
    monkeypatch.setattr(hmac, "digest", lambda *a, **k: created.append(a))
    assert len(payload) == 1_048_577
    assert reason_of(lambda: parse(payload, headers, API_KEY)) == "payload_too_large"
    assert created == []


def test_messages_and_reprs_never_contain_the_key() -> None:
    """No rejection message or repr mentions the key."""
    secret = "sk_live_do_not_print_me"
    attempts: list[Callable[[], Any]] = [
        lambda: verify(BODY, None, secret),
        lambda: verify(BODY, "é", secret),
        lambda: verify(BODY, sign(BODY, "x"), [secret, secret + "2"]),
        lambda: verify(BODY * 2, sign(BODY, secret), secret, max_body_bytes=len(BODY)),
        lambda: verify(BODY, sign(BODY, secret), [secret, 7]),  # type: ignore[list-item]
        lambda: verify(BODY.decode(), sign(BODY, secret), secret),  # type: ignore[arg-type]
    ]
    for attempt in attempts:
        with pytest.raises(WebhookVerificationError) as info:
            attempt()
        assert secret not in str(info.value)
        assert secret not in repr(info.value)


def test_header_value_is_case_insensitive_in_a_plain_dict() -> None:
    """A plain dict's header names are matched without regard to case."""
    assert header_value({"X-Lean-Signature": "v"}, SIGNATURE_HEADER) == "v"
    assert header_value({"x-lean-signature": "w"}, SIGNATURE_HEADER) == "w"
    assert header_value({1: "no", "other": "x"}, SIGNATURE_HEADER) is None  # type: ignore[dict-item]


NODE_BODIES = [
    b"",
    BODY,
    json.dumps({"event": "customer.active", "data": {"firstName": "Zoë 🚀 日本"}}).encode(),
    json.dumps({"name": "Zoë"}, ensure_ascii=False).encode("utf-8"),
    bytes(range(256)),
    b"\x00\xff\xfe\r\n" * 1000,
]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("key", [API_KEY, "ключ-🔑", "k" * 100])
@pytest.mark.parametrize("payload", NODE_BODIES, ids=range(len(NODE_BODIES)))
def test_node_signatures_verify(payload: bytes, key: str) -> None:
    """Signatures computed by Node's crypto verify, and `sign` produces the same string."""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "-e", NODE_HMAC],
        input=payload,
        capture_output=True,
        env={**os.environ, "LEAN_TEST_KEY": key},
        timeout=30,
        check=True,
    )
    node_signature = done.stdout.decode("ascii")
    assert sign(payload, key) == node_signature
    verify(payload, node_signature, key)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
EVENT_NAMES = st.sampled_from(
    ["customer.active", "gig.completed", "specialpayment.failed", "GIG.FAILED", "x.y", ""]
)


@settings(max_examples=300, deadline=None, database=None)
@given(payload=st.binary(max_size=512), signature=st.text(max_size=64) | st.none())
def test_verify_on_arbitrary_input_raises_only_verification_errors(
    payload: bytes, signature: str | None
) -> None:
    """Arbitrary bytes and header text never escape as anything but WebhookVerificationError."""
    with contextlib.suppress(WebhookVerificationError):
        verify(payload, signature, API_KEY)


ANYTHING = JSON | st.binary(max_size=40) | st.builds(object)


@settings(max_examples=300, deadline=None, database=None)
@given(payload=ANYTHING, signature=ANYTHING, api_key=ANYTHING, limit=ANYTHING)
def test_verify_with_arguments_of_any_type_raises_only_verification_errors(
    payload: Any, signature: Any, api_key: Any, limit: Any
) -> None:
    """Whatever the types of its arguments, verify raises only WebhookVerificationError."""
    with contextlib.suppress(WebhookVerificationError):
        verify(payload, signature, api_key, max_body_bytes=limit)


@settings(max_examples=300, deadline=None, database=None)
@given(payload=ANYTHING, headers=ANYTHING, api_key=ANYTHING)
def test_parse_with_arguments_of_any_type_raises_only_verification_errors(
    payload: Any, headers: Any, api_key: Any
) -> None:
    """Whatever the types of its arguments, parse raises only WebhookVerificationError."""
    with contextlib.suppress(WebhookVerificationError):
        parse(payload, headers, api_key)


@settings(max_examples=300, deadline=None, database=None)
@given(
    payload=st.binary(max_size=512),
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4),
    name=st.sampled_from(["x-lean-signature", "X-LEAN-SIGNATURE", "X-Lean-Signature"]),
    value=st.text(max_size=40),
)
def test_parse_on_arbitrary_input_raises_only_verification_errors(
    payload: bytes, headers: dict[str, str], name: str, value: str
) -> None:
    """Arbitrary bodies and header strings only ever raise WebhookVerificationError."""
    for candidate in (headers, {**headers, name: value}):
        with contextlib.suppress(WebhookVerificationError):
            parse(payload, candidate, API_KEY)


@settings(max_examples=300, deadline=None, database=None)
@given(
    body=JSON
    | st.fixed_dictionaries(
        {"event": EVENT_NAMES, "data": JSON},
        optional={
            "id": JSON,
            "createdAt": JSON | st.sampled_from(["2024-01-01", "nope", "2024-13-01T00:00"]),
        },
    )
)
def test_parse_of_signed_arbitrary_json_raises_only_verification_errors(body: Any) -> None:
    """Correctly signed but arbitrary JSON either parses or is invalid_json/invalid_shape."""
    payload, headers = signed(body)
    try:
        event = parse(payload, headers, API_KEY)
    except WebhookVerificationError as exc:
        reason = exc.reason
    else:
        reason = "parsed"
        assert event.raw == json.loads(payload)
        assert event.id
    assert reason in {"parsed", "invalid_json", "invalid_shape"}
    event_type = body.get("event") if isinstance(body, dict) else None
    if isinstance(event_type, str) and event_type:  # a signed event is never refused
        assert reason == "parsed"


@pytest.mark.parametrize(
    ("key", "error", "message"),
    [
        ("", ValueError, "empty string"),
        (None, TypeError, "is None"),
        (b"key", TypeError, "not bytes"),
        ([], ValueError, "empty list"),
    ],
)
def test_sign_refuses_a_key_it_cannot_sign_with(key: Any, error: type, message: str) -> None:
    """sign() with no usable key raises the configuration error, not a wrong signature."""
    with pytest.raises(error, match=message):
        sign(BODY, key)


def test_sign_takes_the_raw_body_bytes_only() -> None:
    """A str payload is refused: the signature is over the exact bytes Lean sent."""
    with pytest.raises(TypeError, match="payload must be the raw body bytes, not str"):
        sign(BODY.decode(), API_KEY)  # type: ignore[arg-type]
    assert sign(bytearray(BODY), API_KEY) == sign(BODY, API_KEY)


@pytest.mark.parametrize(("key", "error"), [(3, TypeError), ([API_KEY, ""], ValueError)])
def test_normalize_keys_refuses_what_cannot_verify(key: Any, error: type) -> None:
    """A key that is not text, or an empty one in a rotation list, fails loudly at setup."""
    with pytest.raises(error) as info:
        normalize_keys(key)
    assert API_KEY not in str(info.value)
