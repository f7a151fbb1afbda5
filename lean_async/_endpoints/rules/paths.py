"""Identifiers as URL path segments, encoded so that they can only name one object."""

from __future__ import annotations

import re
import urllib.parse

from lean_async._endpoints.rules.text import MAX_IDENTIFIER, NOT_UTF8, SURROGATE
from lean_async.errors import ValidationError

__all__ = ["path_segment"]

# Characters quote() leaves alone (and "." is not one of them): most ids are only these.
_UNRESERVED = re.compile(r"[A-Za-z0-9_~-]+")


def path_segment(field: str, value: object) -> str:
    """Percent-encode an identifier for use as one URL path segment.

    Everything but letters, digits and ``_-~`` is encoded, ``/`` and ``.`` included, so
    an identifier can never act as ``..`` or ``.`` or reach another path.

    Args:
        field: the argument's name, for the error.
        value: the identifier.

    Raises:
        ValidationError: *value* is not a non-empty string, is longer than
            `MAX_IDENTIFIER`, or holds a lone surrogate.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError([(field, "must be a non-empty string")])
    if len(value) <= MAX_IDENTIFIER and _UNRESERVED.fullmatch(value):
        return value  # nothing to encode: the common case, on every call's hot path
    if len(value) > MAX_IDENTIFIER:
        raise ValidationError(
            [(field, f"must be at most {MAX_IDENTIFIER} characters (got {len(value)})")]
        )
    if SURROGATE.search(value):
        raise ValidationError([(field, NOT_UTF8)])
    return urllib.parse.quote(value, safe="").replace(".", "%2E")
