"""Cutting the frames below a layer off an exception on its way up.

The frames of the HTTP library under the auth layer hold the request as it was
written, ``Authorization`` included (aiohttp's ``ClientRequest``, httpcore's request,
h11's events), and an exception's traceback keeps those frames alive: an error
tracker sends their locals, and anything holding the exception can reach them.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["without_frames"]

E = TypeVar("E", bound=BaseException)


def without_frames(error: E) -> E:
    """Drop the traceback of *error* and of every exception chained to it; return it.

    Raised again from the caller, *error* starts a traceback at the caller's frame:
    the frames below are gone from it and from its causes and contexts (their
    messages and types stay). Exception groups are walked too.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        todo.extend(
            linked for linked in (current.__cause__, current.__context__) if linked is not None
        )
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return error
