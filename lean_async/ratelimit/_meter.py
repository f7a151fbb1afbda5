"""How many events per second happened lately: a sliding-window counter."""

from __future__ import annotations

from typing import Final

__all__ = ["Meter"]

WINDOW: Final = 0.5
"""Seconds the rate is measured over."""

_SHORTEST: Final = 0.05  # before one window has passed, divide by at least this


class Meter:
    """Counts events in fixed windows; the rate blends the last window into the current.

    Not thread-safe on its own: the limiter calls it under its lock (or accepts that a
    count may be lost where it does not).
    """

    __slots__ = ("_current", "_previous", "_seen_window", "_start")

    def __init__(self, now: float) -> None:
        self._start = now
        self._current = 0
        self._previous = 0
        self._seen_window = False

    def add(self, now: float, count: int = 1) -> None:
        """Count *count* events at *now*."""
        if now - self._start >= WINDOW:
            self._roll(now)
        self._current += count

    def rate(self, now: float) -> float:
        """Return the events per second over about the last *WINDOW* seconds."""
        if now - self._start >= WINDOW:
            self._roll(now)
        into = now - self._start
        if not self._seen_window:
            return self._current / max(into, _SHORTEST)
        return (self._previous * (1.0 - into / WINDOW) + self._current) / WINDOW

    def _roll(self, now: float) -> None:
        elapsed = now - self._start
        if elapsed < 2 * WINDOW:
            self._previous = self._current
            self._start += WINDOW
        else:  # a whole window passed without events
            self._previous = 0
            self._start = now
        self._current = 0
        self._seen_window = True
