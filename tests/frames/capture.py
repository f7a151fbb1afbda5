"""The real `sentry-sdk`, at its default options, sending events to a list instead of a server.

`SentryCapture` is what an application's ``sentry_sdk.init(dsn=...)`` does, with an
in-memory transport: every envelope the SDK would send is kept as the JSON text that
would go over the wire, so a test counts secrets in exactly what the tracker receives.
`locals_text` is the standard library's equivalent (``capture_locals=True``).
"""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import traceback
import types
from collections.abc import Iterator, Sequence
from typing import Any, Final

import sentry_sdk
from sentry_sdk.transport import Transport

from lean_async._secrets import Secret, WebhookKeys
from lean_async.transport._redact import Redactor

__all__ = [
    "SentryCapture",
    "count_secrets",
    "locals_text",
    "needles_for",
    "reachable_in_frames",
    "sentry_version",
]

_DSN = "http://public@127.0.0.1:9/1"  # never dialled: the transport below is in memory


def sentry_version() -> str:
    """The sentry-sdk version this process runs (3.x in the venv, 2.x in the subprocess)."""
    return str(sentry_sdk.VERSION)


def needles_for(keys: Sequence[str]) -> tuple[str, ...]:
    """Every form of *keys* that must never leave: each key and its HTTP Basic token.

    The token is searched with and without its ``=`` padding, and as bytes' repr
    would show it (the same text), so a header kept as bytes counts too.
    """
    forms: set[str] = set()
    for key in keys:
        token = base64.b64encode(f"{key}:".encode()).decode("ascii")
        forms.update({key, token, token.rstrip("=")})
    return tuple(sorted(forms, key=len, reverse=True))


def count_secrets(text: str, needles: Sequence[str]) -> int:
    """Occurrences of any needle in *text* (a token is not counted again as its key)."""
    return sum(text.count(needle) for needle in needles)


class _MemoryTransport(Transport):
    """Keeps each envelope's serialized items instead of sending them."""

    def __init__(self, sink: list[str], options: Any = None) -> None:
        super().__init__(options)
        self._sink = sink

    def capture_envelope(self, envelope: Any) -> None:
        for item in envelope.items:
            payload = item.payload
            if payload.json is not None:
                self._sink.append(json.dumps(payload.json))
            elif payload.bytes is not None:
                self._sink.append(payload.bytes.decode("utf-8", "replace"))

    def flush(self, timeout: float, callback: Any = None) -> None:
        return None

    def kill(self) -> None:
        return None


class SentryCapture:
    """A live ``sentry_sdk.init`` at default options whose events land in `events`."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[SentryCapture]:
        """Initialise Sentry (default integrations included) for the block, then close it."""
        sink = self.events
        sentry_sdk.init(dsn=_DSN, transport=_MemoryTransport(sink))
        try:
            yield self
        finally:
            client = sentry_sdk.get_client()
            client.flush()
            client.close()

    def capture(self, error: BaseException) -> None:
        """``sentry_sdk.capture_exception(error)``, as an application's handler calls it."""
        sentry_sdk.capture_exception(error)

    def text(self) -> str:
        """Everything captured so far, as sent."""
        return "\n".join(self.events)

    def exception_events(self) -> int:
        """How many captured items carry an exception."""
        return sum('"exception"' in event for event in self.events)


def locals_text(error: BaseException) -> str:
    """The error formatted with every frame's locals, causes and contexts included."""
    return "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())


# The redacting holders are the one place a secret may live: their repr is redacted and
# they cannot be pickled, which is all a tracker or a user gets of them. Code objects,
# modules and the event loop's machinery lead to the whole process: not entered.
_HOLDERS: Final = (Secret, WebhookKeys, Redactor)
_OPAQUE: Final = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    types.TracebackType,
    types.CoroutineType,
    types.AsyncGeneratorType,
)
_OPAQUE_MODULES: Final = ("asyncio", "_asyncio", "socket", "ssl", "_ssl", "selectors", "anyio")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)


def reachable_in_frames(error: BaseException, needles: Sequence[str], limit: int = 200_000) -> int:
    """Secrets reachable from *error*: its chain, their attributes, and every local and
    closure variable of every frame in their tracebacks (outside the redacting holders).
    """
    roots: list[object] = []
    for current in _chain(error):
        roots.append(current)
        tb = current.__traceback__
        while tb is not None:
            roots.append(dict(tb.tb_frame.f_locals))
            tb = tb.tb_next
    byte_needles = [needle.encode() for needle in needles]
    hits = 0
    seen: set[int] = set()
    todo = roots
    while todo and len(seen) < limit:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, str):
            hits += count_secrets(node, needles)
        elif isinstance(node, bytes | bytearray | memoryview):
            data = bytes(node)
            hits += sum(data.count(needle) for needle in byte_needles)
        elif not isinstance(node, _HOLDERS + _OPAQUE) and (
            (type(node).__module__ or "").split(".")[0] not in _OPAQUE_MODULES
        ):
            todo.extend(gc.get_referents(node))
    return hits
