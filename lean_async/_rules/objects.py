"""Kinds of structured values: one of an enum's values, and a JSON object."""

from __future__ import annotations

import enum
import json
from typing import Any, Final

from lean_async._rules.base import Invalid, Kind
from lean_async._rules.text import NOT_UTF8, SURROGATE

__all__ = ["JSON_OBJECT", "one_of"]

_JSON_ONLY = "must hold only JSON values (string keys, finite numbers, lists, objects)"


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


def _json_copy(value: dict[Any, Any]) -> dict[str, Any]:
    """Return a copy of *value* as it survives JSON, or refuse a value it would change."""
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
