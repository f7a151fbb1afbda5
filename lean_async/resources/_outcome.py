"""Whether a create paid, or found the payment already there, told from the call itself.

``create_many`` (and the import, the Temporal activities and the demo, through it or
through `recording`) asks each create for its outcome; the client answers while it makes
the call. Nothing here reads this machine's wall clock.

The call path settles most cases:

* a 201 to a create protected by a unique key (``POST /gig``): this call paid;
* a 201 to a special payment under a key this call made (a fresh uuid4): this call paid;
* a gig found by reconciliation when no earlier attempt of the call could have reached
  Lean (every one failed before a byte was sent, or there was none): it was there already.

Two cases it cannot settle alone: an ``Idempotency-Key`` the caller chose, repeated,
returns the original answer unmarked (reference, "Idempotency Header"); and a gig
reconciled after an attempt whose answer was lost may be this call's own.

* A repeat of a key whose answer this client already received before the call started
  (the same payment id under the same key: a re-run in the same process) was there
  already (`AnsweredKeys`, the last `AnsweredKeys.SIZE` keys).
* Otherwise the payment's ``createdAt`` is compared with the instant the call started
  *on Lean's clock*, never this machine's: the answer's ``Date`` header less the call's
  elapsed time (a duration on the monotonic clock, not a time of day). A payment
  stamped at or after it was made by this call.

The one-second edge: ``Date`` has a resolution of one second (it is truncated), so the
instant worked out is up to one second (plus the answer's trip back, plus the
millisecond ``createdAt`` is truncated to) before the true start of the call. A payment
made by someone else (another process, an earlier run this client did not see) within
that second before the call started counts as paid by this call; a payment made by the
call itself is never counted as "already there". An answer without a usable ``Date``
(every origin server with a clock must send one, RFC 9110 section 6.6.1) leaves the
outcome unknown (``None``).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import email.utils
from collections.abc import Iterator
from typing import Final

__all__ = ["AnsweredKeys", "Outcome", "current", "http_date", "made_since", "recording"]


class Outcome:
    """What one create reported: ``created`` is True (paid by this call), False (already
    there) or None (not reported yet, the call failed, or it cannot be told).

    Args:
        earlier: seconds the operation began before this call (an earlier attempt of a
            Temporal activity may have paid it): a payment found is then judged on
            Lean's clock against that earlier start.
    """

    __slots__ = ("created", "earlier")

    def __init__(self, earlier: float = 0.0) -> None:
        self.created: bool | None = None
        self.earlier = earlier

    def __repr__(self) -> str:
        return f"Outcome(created={self.created!r}, earlier={self.earlier!r})"


_current: Final[contextvars.ContextVar[Outcome | None]] = contextvars.ContextVar(
    "lean_async_outcome", default=None
)


@contextlib.contextmanager
def recording(earlier: float = 0.0) -> Iterator[Outcome]:
    """Record the outcome of the create made inside the block (in this task or a task
    started inside it) into the `Outcome` yielded.

    Args:
        earlier: see `Outcome`; seconds, >= 0.
    """
    outcome = Outcome(max(0.0, earlier))
    token = _current.set(outcome)
    try:
        yield outcome
    finally:
        _current.reset(token)


def current() -> Outcome | None:
    """Return the `Outcome` a create should fill in, or None when nobody asked."""
    return _current.get()


class AnsweredKeys:
    """The caller-chosen keys whose create this client saw answered, and when.

    Only ``hash((key, payment id))`` and the monotonic instant are kept, for the last
    `SIZE` keys (about 1.5 MB at most); an older one falls back to the clock, which
    settles it unless it was answered within the second before the repeat started.
    """

    __slots__ = ("_answered",)

    SIZE: Final = 16384

    def __init__(self) -> None:
        self._answered: dict[int, float] = {}

    def add(self, key: str, payment_id: object, received: float) -> None:
        """Record that the create under *key* was answered *payment_id* at *received*."""
        answered = self._answered
        entry = hash((key, payment_id))
        if entry not in answered:
            if len(answered) >= self.SIZE:
                del answered[next(iter(answered))]  # the oldest (dicts keep insertion order)
            answered[entry] = received

    def answered_before(self, key: str, payment_id: object, instant: float) -> bool:
        """Return whether *key* was answered *payment_id* before monotonic *instant*."""
        received = self._answered.get(hash((key, payment_id)))
        return received is not None and received < instant


_MILLISECOND: Final = dt.timedelta(milliseconds=1)


def made_since(created_at: dt.datetime | None, date: str | None, elapsed: float) -> bool | None:
    """Return whether a payment stamped *created_at* was made since the call started.

    The start is taken on Lean's clock: *date* (the answer's ``Date`` header) less
    *elapsed* (seconds from the call's start to that answer, earlier attempts of the
    same operation included). See the module docstring for the one-second edge.

    Returns:
        True or False; None when *created_at* or a readable *date* is missing.
    """
    lean_now = http_date(date)
    if created_at is None or created_at.tzinfo is None or lean_now is None:
        return None
    # createdAt is truncated to the millisecond: the stamp stands for its whole millisecond.
    return created_at + _MILLISECOND > lean_now - dt.timedelta(seconds=elapsed)


def http_date(value: str | None) -> dt.datetime | None:
    """Return an HTTP ``Date`` header's instant (UTC), or None if it is missing or bad."""
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC, with no claim about the local zone
        moment = moment.replace(tzinfo=dt.UTC)
    return moment
