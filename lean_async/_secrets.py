"""Holders for secrets that no repr, str, pickle or frame-capturing error tracker shows.

Error trackers send the local variables of every frame an exception passes through,
and the repr of each object they find there. So the API key, its Basic header and the
webhook keys travel in holders whose repr is redacted, which have no ``__dict__`` and
refuse to be pickled; the raw value is taken out only inside the expression that
writes a header or computes an HMAC. A public function that receives a raw key wraps
it first (`take_api_key`, `take_webhook_keys`), deletes its parameter, and only then
raises about anything: those two never raise, they return the problem to raise.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Final, Generic, TypeVar

__all__ = [
    "Secret",
    "WebhookKeys",
    "basic_authorization",
    "secret_kwargs",
    "take_api_key",
    "take_webhook_keys",
]

T = TypeVar("T")

_MASK: Final = "**********"


class Secret(Generic[T]):
    """Holds a secret value; its repr and str never show it, and it cannot be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value = value

    def get_secret_value(self) -> T:
        """Return the secret itself (only where it is written or hashed)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def _key_problem(value: str) -> str | None:
    """Why *value* cannot be an API key, in words that do not repeat it; None if it can."""
    if not value:
        return "the API key is empty (is the variable set?)"
    # isprintable() is False for a lone surrogate too, the one str UTF-8 cannot encode.
    if not value.isprintable() or value != value.strip():
        return (
            "the API key holds whitespace, control characters or invalid text "
            "(a trailing newline from a file?)"
        )
    return None


def take_api_key(given: object, fallback: str | None = None) -> tuple[Secret[str] | None, str]:
    """Wrap an API key argument (or *fallback*, e.g. the environment's) without raising.

    Args:
        given: what the caller passed: a str, a `Secret`, or None for *fallback*.
        fallback: the key to use when *given* is None.

    Returns:
        ``(secret, "")`` for a usable key, or ``(None, problem)``: a message naming what
        is wrong without repeating the key, for the caller to raise once it has
        deleted its own reference to the raw value.
    """
    value = given.get_secret_value() if isinstance(given, Secret) else given
    if value is None:
        value = fallback
    if value is None:
        return None, "no API key"
    if not isinstance(value, str):
        return None, f"the API key must be a str, not {type(value).__name__}"
    problem = _key_problem(value)
    if problem is not None:
        return None, problem
    return Secret(value), ""


def basic_authorization(api_key: Secret[str]) -> Secret[str]:
    """The ``Authorization`` value for *api_key*: ``Basic base64(key + ":")``.

    Raises:
        ValueError: the key holds whitespace, control characters or invalid text
            (`take_api_key` refuses such keys).
    """
    if _key_problem(api_key.get_secret_value()) is not None:
        raise ValueError("the API key cannot be sent in an HTTP header")
    return Secret(
        "Basic " + base64.b64encode(api_key.get_secret_value().encode() + b":").decode("ascii")
    )


class WebhookKeys:
    """The keys a webhook may be signed with: one, or several during a rotation.

    Build it with `take_webhook_keys` (or pass one wherever an ``api_key`` for webhooks
    is taken). Its repr names how many keys it holds, never them.
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: Secret[tuple[bytes, ...]]) -> None:
        self._keys = keys

    def __repr__(self) -> str:
        return f"WebhookKeys({len(self)} key{'s' if len(self) != 1 else ''}, redacted)"

    __str__ = __repr__

    def __len__(self) -> int:
        return len(self._keys.get_secret_value())

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("WebhookKeys hold secrets and cannot be pickled")

    def sign(self, body: bytes) -> bytes:
        """The HMAC-SHA1 digest of *body* under the first key (the one Lean signs with)."""
        return hmac.digest(self._keys.get_secret_value()[0], body, "sha1")

    def matches(self, body: bytes, digest: bytes) -> bool:
        """Whether *digest* is the HMAC-SHA1 of *body* under any key, in constant time.

        Every key is tried (no early exit), so timing does not tell which one matched.
        """
        matched = False
        for index in range(len(self)):
            matched |= hmac.compare_digest(
                hmac.digest(self._keys.get_secret_value()[index], body, "sha1"), digest
            )
        return matched


def take_webhook_keys(given: object) -> tuple[WebhookKeys | None, Exception | None]:
    """Wrap one webhook key or a rotation list of them, without raising.

    Args:
        given: a str, a sequence of str, or `WebhookKeys` (returned as it is).

    Returns:
        ``(keys, None)``, or ``(None, error)``: a `TypeError` (not a str or a sequence of
        them; None, when the variable is unset) or `ValueError` (empty) naming what is
        wrong without the keys, for the caller to raise once it has deleted its own
        reference to them.
    """
    if isinstance(given, WebhookKeys):
        return given, None
    if given is None:
        return None, TypeError(
            "api_key is None (is LEAN_API_KEY set?): give the key to verify with"
        )
    if isinstance(given, str):
        items: Sequence[object] = (given,)
    elif isinstance(given, Sequence) and not isinstance(given, bytes | bytearray):
        items = given
    else:
        return None, TypeError(
            f"api_key must be a str or a sequence of str, not {type(given).__name__}"
        )
    try:
        keys = tuple(_encoded(item) for item in items)
    except (TypeError, ValueError) as exc:  # a fresh error: nothing of the keys in it
        return None, (TypeError if isinstance(exc, TypeError) else ValueError)(str(exc))
    if not keys:
        return None, ValueError("api_key is an empty list: give at least one key to verify with")
    return WebhookKeys(Secret(keys)), None


def _encoded(item: object) -> bytes:
    if not isinstance(item, str):
        raise TypeError(f"every api_key must be a str, not {type(item).__name__}")
    if not item:
        raise ValueError("an api_key is the empty string (is the variable set?)")
    try:
        return item.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("an api_key is not valid text (it holds a lone surrogate)") from None


def secret_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """*kwargs* for `LeanClient` with a raw ``api_key`` wrapped in a `Secret`.

    For closures that build a client later (framework lifespans): the closure then
    holds no raw key for an error tracker to find.
    """
    copy = dict(kwargs)
    if isinstance(copy.get("api_key"), str):
        copy["api_key"] = Secret(copy["api_key"])
    return copy
