"""Arguments checked beside a body: the ``Idempotency-Key`` and a wait's bounds."""

from __future__ import annotations

import math
import re
from typing import Final

from lean_async._endpoints.rules.base import Problem
from lean_async._endpoints.rules.paths import path_segment
from lean_async.errors import ValidationError

__all__ = [
    "MAX_IDEMPOTENCY_KEY",
    "check_idempotency_key",
    "idempotency_key_problem",
    "wait_arguments",
]

MAX_IDEMPOTENCY_KEY: Final = 255
"""The longest ``Idempotency-Key`` accepted, as the sandbox (and the IETF draft) allow."""

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]+")
_IDEMPOTENCY_RULE = (
    f"must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters "
    "(letters, digits, punctuation; no spaces or control characters)"
)


def idempotency_key_problem(value: object) -> str | None:
    """Return what is wrong with an ``Idempotency-Key`` value, or None when it is valid."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY or not _IDEMPOTENCY_KEY.fullmatch(value):
        return _IDEMPOTENCY_RULE
    return None


def check_idempotency_key(key: object) -> list[Problem]:
    """Return the problem with an ``Idempotency-Key`` value, if any; never raises.

    A key is 1 to `MAX_IDEMPOTENCY_KEY` visible ASCII characters (``!`` to ``~``): no
    spaces, which HTTP trims from the ends of a header, and no control characters,
    which would split the header.

    Returns:
        ``[("Idempotency-Key", message)]``, or an empty list when the key is valid.
    """
    problem = idempotency_key_problem(key)
    return [] if problem is None else [("Idempotency-Key", problem)]


def _seconds_problem(value: object, *, finite: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of seconds, not {type(value).__name__}"
    try:
        seconds = float(value)  # the clock arithmetic is in floats
    except OverflowError:
        return "is too large to be a number of seconds"
    if math.isnan(seconds) or seconds < 0 or (finite and math.isinf(seconds)):
        return "must be a finite number of seconds >= 0" if finite else "must be >= 0"
    return None


def wait_arguments(
    field: str, identifier: object, *, timeout: object, poll_interval: object
) -> None:
    """Check the arguments of a ``wait_until_*`` method before the first poll.

    *field* names the identifier argument (``partner_user_id``, ``gig_id``, ``id``).

    *timeout* is a number of seconds >= 0 (infinity waits for ever); *poll_interval* a
    finite number of seconds >= 0.

    Raises:
        ValidationError: every argument that breaks a rule.
    """
    problems: list[Problem] = []
    try:
        path_segment(field, identifier)
    except ValidationError as exc:
        problems.extend(exc.errors)
    for name, value, finite in (
        ("timeout", timeout, False),
        ("poll_interval", poll_interval, True),
    ):
        problem = _seconds_problem(value, finite=finite)
        if problem is not None:
            problems.append((name, problem))
    if problems:
        raise ValidationError(problems)
