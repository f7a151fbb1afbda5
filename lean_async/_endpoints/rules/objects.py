"""Kinds of structured values: one of an enum's values, and a JSON object."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from typing import Any, Final

from lean_async._endpoints.rules.base import Invalid, Kind
from lean_async._endpoints.rules.text import NOT_UTF8, SURROGATE

__all__ = ["JSON_OBJECT", "MAX_JSON_DEPTH", "one_of"]

_JSON_ONLY = "must hold only JSON values (string keys, finite numbers, lists, objects)"

MAX_JSON_DEPTH: Final = 32
"""How deeply objects and lists may nest inside a JSON object field such as ``userdata``.

Far beyond what "additional information" needs, and far below the depth at which
encoding or the converter would exhaust Python's recursion limit.
"""


def one_of(choices: type[enum.Enum]) -> Kind:
    """Return the kind of a member of *choices*, given as the member or its value."""
    listed = ", ".join(str(member.value) for member in choices)

    def parse(value: object) -> enum.Enum:
        if isinstance(value, str):
            try:
                return choices(value)
            except ValueError:
                pass
        raise Invalid(f"must be one of: {listed}")

    return Kind(parse)


def _nesting_within(value: object, limit: int) -> bool:
    """Return whether lists and dicts nest at most *limit* deep in *value* (no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _json_copy(value: dict[Any, Any]) -> dict[str, Any]:
    """Return a copy of *value* as it survives JSON, or refuse a value it would change."""
    if not _nesting_within(value, MAX_JSON_DEPTH):
        raise Invalid(f"must not nest objects and lists more than {MAX_JSON_DEPTH} deep")
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        copy = json.loads(text)
        same = bool(copy == value)
    except (TypeError, ValueError, RecursionError):
        raise Invalid(_JSON_ONLY) from None
    if not same:
        raise Invalid(_JSON_ONLY)
    if SURROGATE.search(text):
        raise Invalid(NOT_UTF8)
    return copy  # type: ignore[no-any-return]


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("must be a JSON object")
    return _json_copy(value)


def _object_argument(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("must be a dict (a JSON object)")
    return _json_copy(value)


JSON_OBJECT: Final = Kind(_object, _object_argument)
"""A JSON object, copied as it survives JSON (a value JSON would change is refused)."""
