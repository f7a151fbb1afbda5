"""Looks for the API key everywhere a user of the SDK can see or store something.

Two needles: the key itself and its HTTP Basic token (``base64("<key>:")``, what the
``Authorization`` header carries). Haystacks: every log record of the ``lean_async``
loggers at DEBUG (message, arguments, traceback), the repr of clients and results, the
str, repr and formatted traceback of errors, the local variables of every lean_async
frame an error passed through (``capture_locals=True``, what error trackers send), the
pickle of errors, and ``error.response.request.headers``. Errors are also checked to
survive a pickle round trip (as they must to cross a process pool or a task queue).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import pickle
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import httpx

__all__ = ["LeakScanner"]

_LOGGER: Final = "lean_async"
_PACKAGE: Final = str(Path(__file__).resolve().parents[2] / "lean_async")


class _Capture(logging.Handler):
    def __init__(self, scanner: LeakScanner) -> None:
        super().__init__(logging.DEBUG)
        self._scanner = scanner

    def emit(self, record: logging.LogRecord) -> None:
        self._scanner.records += 1
        parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        self._scanner.scan_text("log", "\n".join(parts))


def _request_of(response: object) -> httpx.Request | None:
    if not isinstance(response, httpx.Response):
        return None
    try:
        return response.request
    except RuntimeError:  # httpx: the response has no request attached
        return None


def _sdk_frame_locals(error: BaseException) -> str:
    """The locals of every lean_async frame *error* and its chain passed through, as an
    error tracker capturing local variables would send them (the caller's frames are
    the caller's business)."""
    parts: list[str] = []
    todo: list[traceback.TracebackException] = [
        traceback.TracebackException.from_exception(error, capture_locals=True)
    ]
    while todo:
        current = todo.pop()
        parts.extend(
            repr(frame.locals) for frame in current.stack if frame.filename.startswith(_PACKAGE)
        )
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return "\n".join(parts)


class LeakScanner:
    """Counts occurrences of one API key (and its Basic token) in what it is shown.

    Attributes:
        found: occurrences by haystack (``"log"``, ``"repr"``, ``"error.str"``,
            ``"error.pickle"``, ``"error.request_headers"``, ...).
        unpicklable: errors that could not be pickled and unpickled, by
            ``"<ErrorClass>: <exception class>"``.
        records: log records seen; ``objects``: objects and errors inspected;
        ``errors``: errors inspected; ``status_errors``: those holding a response.
    """

    def __init__(self, api_key: str) -> None:
        basic = base64.b64encode(f"{api_key}:".encode()).decode()
        self.needles: tuple[str, ...] = (api_key, basic)
        self.found: Counter[str] = Counter()
        self.unpicklable: Counter[str] = Counter()
        self.records = 0
        self.objects = 0
        self.errors = 0
        self.status_errors = 0

    @property
    def total(self) -> int:
        """All occurrences found."""
        return sum(self.found.values())

    def scan_text(self, where: str, text: str) -> None:
        """Count the needles in *text*."""
        hits = sum(text.count(needle) for needle in self.needles)
        if hits:
            self.found[where] += hits

    def scan_bytes(self, where: str, data: bytes) -> None:
        """Count the needles in *data* (as UTF-8 and as pickle's latin-1 text)."""
        hits = sum(data.count(needle.encode()) for needle in self.needles)
        if hits:
            self.found[where] += hits

    def inspect_object(self, obj: object) -> None:
        """Scan the repr and str of a client, a result or any object a user holds."""
        self.objects += 1
        self.scan_text("repr", repr(obj))
        self.scan_text("str", str(obj))

    def inspect_error(self, error: BaseException) -> None:
        """Scan an error, its causes, its pickle and its response's request headers."""
        self.objects += 1
        self.errors += 1
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self.scan_text("error.str", str(current))
            self.scan_text("error.repr", repr(current))
            current = current.__cause__ or current.__context__
        self.scan_text("error.traceback", "".join(traceback.format_exception(error)))
        self.scan_text("error.frame_locals", _sdk_frame_locals(error))
        self.scan_text("error.vars", repr(getattr(error, "__dict__", {})))
        request = _request_of(getattr(error, "response", None))
        if request is not None:
            self.status_errors += 1
            self.scan_text("error.request_headers", repr(list(request.headers.raw)))
            self.scan_text("error.request_headers", str(dict(request.headers)))
        self._pickle(error)

    def _pickle(self, error: BaseException) -> None:
        name = type(error).__name__
        try:
            data = pickle.dumps(error)
        except Exception as exc:
            self.unpicklable[f"{name}: dumps {type(exc).__name__}"] += 1
            return
        self.scan_bytes("error.pickle", data)
        try:
            copy = pickle.loads(data)  # noqa: S301 - our own bytes, just made
        except Exception as exc:
            self.unpicklable[f"{name}: loads {type(exc).__name__}"] += 1
            return
        if type(copy) is not type(error) or str(copy) != str(error):
            self.unpicklable[f"{name}: round trip changed it"] += 1

    @contextlib.contextmanager
    def capturing_logs(self) -> Iterator[None]:
        """Capture every record of the ``lean_async`` loggers at DEBUG while inside."""
        logger = logging.getLogger(_LOGGER)
        handler = _Capture(self)
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)

    def summary(self) -> str:
        """One line per finding, for a report."""
        lines = [f"key occurrences: {self.total} ({dict(self.found) or 'none'})"]
        lines.append(f"errors that do not survive pickle: {dict(self.unpicklable) or 'none'}")
        lines.append(
            f"inspected: {self.records} log records, {self.objects} objects and errors "
            f"({self.errors} errors, {self.status_errors} holding a response)"
        )
        return "\n".join(lines)
