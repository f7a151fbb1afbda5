"""Bulk creates: run a resource's ``create(**item)`` over many items, a few at a time.

`create_many` is what ``lean.gigs.create_many`` and ``lean.special_payments.create_many``
delegate to. It only calls the resource's public ``create``, so every rule, retry,
idempotency key and reconciliation of a single call applies to each item unchanged.

How it runs:

* Items are pulled from a sync or async iterable only when a slot is free, so at most
  *concurrency* items (and their tasks) exist at once: memory does not grow with the
  number of items.
* Each finished call becomes a `BatchResult`, yielded as it finishes, with whether the
  call paid or found its payment already there (`lean_async.resources._outcome`). A `LeanError`
  (a bad item's `ValidationError`, an `APIError`) is a result and the batch goes on;
  any other exception is a bug and propagates, cancelling the calls still in flight.
* Leaving the ``async for`` early, ``aclose()`` or cancelling the consuming task
  cancels the calls in flight and waits for them, so no task or connection outlives
  the batch. ``aclose()`` does it at once; after a plain ``break`` Python does it when
  the iterator is collected (at once in CPython, through the loop's async-generator
  finalizer), hence ``contextlib.aclosing`` for code that must not depend on that.
* `asyncio.CancelledError` always propagates, also when one call was cancelled from
  elsewhere: a cancelled call has no outcome to report (it may or may not have paid).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
)
from typing import Any, Final, TypeAlias, TypeVar

from lean_async._endpoints import validate as _validate
from lean_async._logging import logger
from lean_async.errors import LeanError, ValidationError
from lean_async.models import BatchResult
from lean_async.resources._outcome import recording

__all__ = [
    "BATCH_KEY_PREFIX",
    "DEFAULT_CONCURRENCY",
    "Items",
    "Prepare",
    "batch_key",
    "create_many",
    "special_payment_keys",
]

T = TypeVar("T")

_END: Final = object()

DEFAULT_CONCURRENCY: Final = 16
"""Calls in flight at once unless the caller says otherwise."""

BATCH_KEY_PREFIX: Final = "lean-batch-"
"""The start of every key `batch_key` derives (then 64 hex digits: 75 characters)."""

Items: TypeAlias = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
"""What ``create_many`` takes: mappings of ``create()`` keyword arguments."""

Prepare: TypeAlias = Callable[[int, Mapping[str, Any]], Mapping[str, Any]]
"""Turns item *index*'s checked arguments into the ``create()`` arguments to send."""


def create_many(
    create: Callable[..., Awaitable[T]],
    items: Items,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    prepare: Prepare | None = None,
    earlier: Callable[[], float] | None = None,
) -> AsyncGenerator[BatchResult[T], None]:
    """Call ``create(**item)`` for every item, *concurrency* at a time, as results finish.

    The arguments are checked here, at call time; the items are read lazily as the
    returned iterator is consumed.

    Args:
        create: a resource's bound ``create`` method (keyword arguments only).
        items: a sync or async iterable of mappings of *create*'s keyword arguments.
        concurrency: the most calls in flight at once, an int >= 1.
        prepare: applied to each item's arguments once they are known to fit *create*
            (adds derived idempotency keys); a `LeanError` it raises is the item's result.
        earlier: called as each call starts, returns the seconds its operation began
            before it (see `lean_async.resources._outcome.Outcome`): a Temporal slice
            retried after its worker died, whose earlier attempt may have paid the item.

    Returns:
        An async iterator of one `BatchResult` per item, in the order calls finish.

    Raises:
        ValidationError: *concurrency* is not an int >= 1, or *items* is not iterable.
    """
    problems = []
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems.append(("concurrency", f"must be an int >= 1, not {concurrency!r}"))
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable | AsyncIterable):
        problems.append(("items", f"must be an iterable of mappings, not {type(items).__name__}"))
    if problems:
        raise ValidationError(problems)
    shape = _Shape.of(create)
    return _run(create, shape, items, concurrency, prepare, earlier)


async def _run(
    create: Callable[..., Awaitable[T]],
    shape: _Shape,
    items: Items,
    concurrency: int,
    prepare: Prepare | None,
    earlier: Callable[[], float] | None = None,
) -> AsyncGenerator[BatchResult[T], None]:
    """The async generator behind `create_many`."""

    async def call(index: int, item: object) -> tuple[T, bool | None]:
        arguments: Mapping[str, Any] = shape.check(item)
        if prepare is not None:
            arguments = prepare(index, arguments)
        with recording(0.0 if earlier is None else earlier()) as outcome:
            value = await create(**arguments)
        return value, outcome.created

    finished: asyncio.Queue[asyncio.Task[tuple[T, bool | None]]] = asyncio.Queue()
    in_flight: dict[asyncio.Task[tuple[T, bool | None]], tuple[int, object]] = {}
    next_item = _reader(items)
    index = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(in_flight) < concurrency:
                item = await next_item()
                if item is _END:
                    exhausted = True
                    break
                task = asyncio.create_task(call(index, item))
                task.add_done_callback(finished.put_nowait)
                in_flight[task] = (index, item)
                index += 1
            if not in_flight:
                return
            task = await finished.get()
            task_index, item = in_flight.pop(task)
            yield _result(task_index, item, task)
    finally:
        await _cancel(in_flight)


def _reader(items: Items) -> Callable[[], Awaitable[object]]:
    """Return a function reading the next item of a sync or async iterable, or `_END`.

    The caller's iterator is left open, as ``async for`` leaves it, so what a stopped
    batch did not consume can still be read.
    """
    if isinstance(items, AsyncIterable):
        async_iterator = aiter(items)

        async def next_async() -> object:
            return await anext(async_iterator, _END)

        return next_async
    iterator = iter(items)

    async def next_sync() -> object:
        return next(iterator, _END)

    return next_sync


def _result(index: int, item: object, task: asyncio.Task[tuple[T, bool | None]]) -> BatchResult[T]:
    """Turn a finished call into its result; a bug or a cancellation propagates."""
    error = task.exception()  # raises CancelledError when the call was cancelled
    if error is None:
        value, created = task.result()
        return BatchResult(index=index, item=item, value=value, created=created)
    if isinstance(error, LeanError):
        return BatchResult(index=index, item=item, error=error)
    raise error


async def _cancel(tasks: Mapping[asyncio.Task[Any], object]) -> None:
    """Cancel *tasks* and wait until every one has finished."""
    if not tasks:
        return
    for task in tasks:
        # Also on tasks already done: cancel() then marks their exception as seen, so a
        # failed call that was never yielded logs no "exception was never retrieved".
        task.cancel()
    await asyncio.wait(tasks)


class _Shape:
    """Which keyword arguments a ``create`` method takes, and which it needs."""

    __slots__ = ("accepted", "name", "required")

    def __init__(self, name: str, accepted: frozenset[str], required: frozenset[str]) -> None:
        self.name = name
        self.accepted = accepted
        self.required = required

    @staticmethod
    def of(create: Callable[..., object]) -> _Shape:
        """Return the shape of a (bound) ``create`` method, computed once per function."""
        return _shape_of_function(getattr(create, "__func__", create))

    def check(self, item: object) -> dict[str, Any]:
        """Return *item* as keyword arguments, or raise `ValidationError` saying what is off."""
        if not isinstance(item, Mapping):
            raise ValidationError(
                [
                    (
                        "item",
                        f"must be a mapping of {self.name}() arguments, not {type(item).__name__}",
                    )
                ]
            )
        problems = [
            (str(key), f"is not an argument of {self.name}()")
            for key in item
            if not isinstance(key, str) or key not in self.accepted
        ]
        problems += [(key, "is required") for key in sorted(self.required - item.keys())]
        if problems:
            raise ValidationError(problems)
        return dict(item)


@functools.cache
def _shape_of_function(function: Callable[..., object]) -> _Shape:
    parameters = list(inspect.signature(function).parameters.values())[1:]  # skip self
    keyword = [p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return _Shape(
        function.__qualname__,
        frozenset(p.name for p in keyword),
        frozenset(p.name for p in keyword if p.default is inspect.Parameter.empty),
    )


# --- special payments: idempotency keys for a re-run --------------------------------------


def batch_key(batch_id: str, index: int, body: Mapping[str, Any]) -> str:
    """Return the ``Idempotency-Key`` of item *index* of batch *batch_id*.

    The key is ``"lean-batch-"`` followed by the SHA-256 hex digest of the compact JSON
    array ``[batch_id, index, body]`` with sorted keys and ASCII escapes, where *body*
    is the item's validated wire body (camelCase, amounts as ``"5.00"``). Encoding the
    three as one JSON array keeps them apart: no batch id can be crafted to collide
    with another (batch id, index) pair. 75 visible ASCII characters, within the key
    rules (1 to 255).
    """
    canonical = json.dumps(
        [batch_id, index, body], sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return BATCH_KEY_PREFIX + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def special_payment_keys(batch_id: str | None) -> Prepare:
    """Return the `Prepare` step giving each special payment its idempotency key.

    An item's own ``idempotency_key`` wins. Otherwise, with a *batch_id*, the key is
    `batch_key` of the item's validated body; without one, the item is sent as it is
    (its call makes one key for all of its retries) and a WARNING is logged once per
    batch, since a re-run of such a batch is not protected.

    Raises:
        ValidationError: *batch_id* is not a non-empty string.
    """
    if batch_id is not None and (not isinstance(batch_id, str) or not batch_id):
        raise ValidationError([("batch_id", f"must be a non-empty string, not {batch_id!r}")])
    warned = False

    def prepare(index: int, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        nonlocal warned
        if arguments.get("idempotency_key") is not None:
            return arguments
        if batch_id is None:
            if not warned:
                warned = True
                logger.warning(
                    "special_payments.create_many: item %d has no idempotency_key and no "
                    "batch_id was given; running this batch again may pay it twice",
                    index,
                )
            return arguments
        body = _validate.special_payment_body(**arguments)
        return {**arguments, "idempotency_key": batch_key(batch_id, index, body)}

    return prepare
