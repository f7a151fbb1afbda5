"""Compiling a generated function so that a traceback through it shows its source.

attrs and dataclasses register the source of what they ``exec`` in `linecache`; this does
the same for lean_async's generated functions (the fast request bodies and the fast
structuring functions), so a traceback reads ``File "<lean_async fast body GigRequest>",
line 4, in body`` followed by the line itself, as for any other code.
"""

from __future__ import annotations

import itertools
import linecache
from typing import Any

__all__ = ["compile_function"]


def compile_function(source: str, filename: str, namespace: dict[str, Any], name: str) -> Any:
    """Compile and run *source* in *namespace*; register it and return its function *name*.

    *filename* names the source in tracebacks (``"<lean_async fast body GigRequest>"``);
    when that name already holds another source (a second converter compiling the same
    model differently), ``-1``, ``-2``... is appended, as attrs does.
    """
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    unique = filename
    for number in itertools.count(1):
        cached: tuple[Any, ...] | None = linecache.cache.get(unique)
        if cached is None or cached[2:3] == (lines,):
            break
        unique = f"{filename[:-1]}-{number}>" if filename.endswith(">") else f"{filename}-{number}"
    # (size, mtime, lines, name): an mtime of None keeps linecache.checkcache from
    # dropping the entry, since there is no file to compare it with.
    linecache.cache[unique] = (len(source), None, lines, unique)
    code = compile(source, unique, "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source
    return namespace[name]
