"""Reconciliation's comparison: does the object the API holds agree with what was sent?

A create retried after a lost answer, or a re-run batch, meets "already exists"; the
object found under the same key is the one we sent when every field that was sent
agrees with it. Both sides are read through the one cattrs converter, with the types
of the model's fields, so ``"15.0"`` equals ``"15.00"`` (amounts compare by value) and
``"...04.000Z"`` equals ``"...04"`` (timestamps compare as instants).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Any, Final

import attrs

from lean_async._codec.convert import camel, converter

__all__ = ["matches"]


# Marks a value its field's type cannot hold: it then equals only the same raw value.
_UNREADABLE: Final = object()


def matches(sent: Mapping[str, Any], existing: Mapping[str, Any], model: type) -> bool:
    """Return whether the object the API holds agrees with every field that was sent.

    Fields the API does not echo back (the reference's gig has no partnerUserId) cannot
    disagree and are skipped. A value its field's type cannot hold equals only the same
    raw value.

    Args:
        sent: the camelCase wire body that was sent.
        existing: the decoded JSON of the object the API holds under the same key.
        model: an attrs model typing those fields (the response model, e.g. `Gig`).
    """
    types = _wire_types(model)
    for wire, value in sent.items():
        if wire not in existing:
            continue
        tp = types.get(wire)
        if tp is None:
            if existing[wire] != value:
                return False
        elif _read(existing[wire], tp) != _read(value, tp):
            return False
    return True


@functools.cache
def _wire_types(model: type) -> dict[str, Any]:
    hints = typing.get_type_hints(model)
    return {camel(field.name): hints[field.name] for field in attrs.fields(model)}


def _read(value: object, tp: Any) -> object:
    try:
        return converter.structure(value, tp)
    except Exception:  # cattrs raises several unrelated types; any means "unreadable"
        return (_UNREADABLE, value)
