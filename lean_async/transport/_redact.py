"""Redaction of the API key from what the server sends back, used on error paths only."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Final, cast

from lean_async._config import Secret

__all__ = ["REDACTED", "REDACTED_AUTHORIZATION", "Redactor"]

REDACTED: Final = "[REDACTED]"
"""What replaces the API key, or its Basic token, in text the SDK hands back."""

REDACTED_AUTHORIZATION: Final = f"Basic {REDACTED}"
"""The Authorization value a request holds once it has been sent."""


class Redactor:
    """Replaces the API key and its HTTP Basic token in server text; built once per client.

    A server may echo the credential back (``"key sk_live_… is not allowed from this
    IP"``); errors carry its message and body, so they pass through here first. The
    forms replaced are the key, the base64 token of ``key + ":"`` (with and without its
    ``=`` padding) and the token with ``/`` escaped as JSON allows (``\\/``).

    Args:
        api_key: the Lean API key.
        more: other secret strings to replace as they are (the proxy credentials and
            their forms).
    """

    __slots__ = ("_byte_forms", "_forms")

    def __init__(self, api_key: Secret[str], more: Iterable[str] = ()) -> None:
        key = api_key.get_secret_value()
        token = base64.b64encode(f"{key}:".encode()).decode("ascii")
        forms = {key, token, token.rstrip("="), token.replace("/", "\\/"), *more}
        forms.discard("")
        # Longest first, so a token is replaced whole before any shorter form inside it.
        self._forms: tuple[str, ...] = tuple(sorted(forms, key=len, reverse=True))
        self._byte_forms = tuple(form.encode() for form in self._forms)

    def __repr__(self) -> str:
        return "Redactor(api_key=Secret('**********'))"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Redactor holds the API key and cannot be pickled")

    def text(self, value: str) -> str:
        """Return *value* with every form of the key replaced by `REDACTED`."""
        for form in self._forms:
            if form in value:
                value = value.replace(form, REDACTED)
        return value

    def found_in_bytes(self, content: bytes) -> bool:
        """Return whether *content* holds any form of the key."""
        return any(form in content for form in self._byte_forms)

    def content(self, content: bytes) -> bytes:
        """Return *content* with every form of the key replaced by `REDACTED`."""
        for form in self._byte_forms:
            content = content.replace(form, REDACTED.encode())
        return content

    def value(self, data: object) -> object:
        """Return decoded JSON with the key replaced in every string, keys included.

        The walk uses an explicit stack, so no nesting depth can exhaust recursion.
        """
        if isinstance(data, str):
            return self.text(data)
        if not isinstance(data, dict | list):
            return data
        root: list[object] = [data]
        # Each entry: a container rebuilt in place (a list, or a dict's new items).
        stack: list[tuple[dict[object, object] | list[object], object, object]] = [(root, 0, data)]
        while stack:
            parent, slot, node = stack.pop()
            if isinstance(node, dict):
                copy: dict[object, object] = {}
                _assign(parent, slot, copy)
                for key, item in node.items():
                    new_key = self.text(key) if isinstance(key, str) else key
                    copy[new_key] = None
                    stack.append((copy, new_key, item))
            elif isinstance(node, list):
                items: list[object] = [None] * len(node)
                _assign(parent, slot, items)
                stack.extend((items, index, item) for index, item in enumerate(node))
            else:
                _assign(parent, slot, self.text(node) if isinstance(node, str) else node)
        return root[0]


def _assign(parent: dict[object, object] | list[object], slot: object, value: object) -> None:
    if isinstance(parent, list):
        parent[cast(int, slot)] = value
    else:
        parent[slot] = value
