"""What every field rule is made of: `Invalid`, a field's `Kind`, and `rule()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs

__all__ = ["BODY", "KIND", "Invalid", "Kind", "Problem", "rule"]

Problem = tuple[str, str]
"""``(field, message)``: camelCase wire names from ``check_*``, snake_case in errors."""

BODY: Final = "body"
"""The field named when the whole body is wrong (not a JSON object)."""

KIND: Final = "lean.kind"
"""The attrs metadata key under which a request model's field keeps its `Kind`."""


class Invalid(Exception):
    """A value breaks a rule; ``args[0]`` is the message for the user."""


@attrs.frozen
class Kind:
    """How one field's value is read, from the wire and from a Python argument.

    Both functions return the typed value the request model holds (`str`, `Decimal`
    in whole cents, a `date`, a UTC `datetime`, an enum member, a JSON-safe dict) or
    raise `Invalid` with the message for the user.

    Attributes:
        parse: decoded JSON value -> typed value (the sandbox's checks).
        coerce: the argument a caller passes -> typed value (the client's checks);
            the same as *parse* when not given.
    """

    parse: Callable[[object], Any]
    coerce: Callable[[object], Any] = attrs.field()

    @coerce.default
    def _like_parse(self) -> Callable[[object], Any]:
        return self.parse


def rule(kind: Kind, *, optional: bool = False) -> Any:
    """Declare a request model's field read by *kind*; an optional one defaults to None.

    Returns:
        An `attrs.field`, typed `Any` so it fits any annotation.
    """
    if optional:
        return attrs.field(default=None, metadata={KIND: kind})
    return attrs.field(metadata={KIND: kind})
