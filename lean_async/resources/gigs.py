"""`lean.gigs`: pay workers for finished gigs."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncGenerator
from decimal import Decimal

from lean_async._endpoints import validate as _validate
from lean_async._endpoints.requests import GIG
from lean_async._endpoints.table import GIGS_CREATE, GIGS_GET, GIGS_LIST
from lean_async._telemetry import traced
from lean_async.models import BatchResult, Gig
from lean_async.resources import _batch
from lean_async.resources._base import Resource
from lean_async.resources._wait import is_settled, poll_until

__all__ = ["Gigs"]


class Gigs(Resource):
    """The Gig API; each gig starts a payout to the worker."""

    __slots__ = ()

    @traced(GIGS_CREATE.name)
    async def create(
        self,
        *,
        partner_user_id: str,
        gig_id: str,
        total_amount: Decimal | int | str,
        tips: Decimal | int | str,
        expenses: Decimal | int | str,
        description: str,
        start_time: dt.datetime,
        end_time: dt.datetime,
    ) -> Gig:
        """Record a finished gig and pay its total to the worker.

        ``gig_id`` is your unique key for the gig: sending the same gig again returns
        the existing one instead of paying twice, and a different gig under the same
        ``gig_id`` raises `ConflictError`. Amounts are `Decimal`, int or a string such
        as ``"15.00"``; floats are refused. Times must be timezone-aware.

        Raises:
            ValidationError: an argument breaks an API rule; nothing was sent.
            ConflictError: the gig id names a gig with other details.
            APIError: the call failed.
        """
        body = GIG.body(locals())  # the declaration picks its arguments
        lookup = GIGS_GET.path_prefix + _validate.path_segment("gig_id", gig_id)
        return await self._client._create(
            GIGS_CREATE.path_prefix, body, lookup_path=lookup, cast_to=GIGS_CREATE.response
        )

    @traced(GIGS_GET.name)
    async def get(self, gig_id: str) -> Gig:
        """Fetch a gig by your gig id.

        Raises:
            NotFoundError: no such gig.
        """
        segment = _validate.path_segment("gig_id", gig_id)
        return await self._client._send(
            GIGS_GET.method, GIGS_GET.path_prefix + segment, cast_to=GIGS_GET.response
        )

    @traced("gigs.wait_until_settled")
    async def wait_until_settled(
        self, gig_id: str, *, timeout: float = 120.0, poll_interval: float = 1.0
    ) -> Gig:
        """Poll a gig until its payout settles (SUCCESS or FAILED) and return it.

        Meant for tests and scripts: a service learns of settlement from the
        ``gig.completed``/``gig.failed`` webhooks. Under the ``lean_sandbox``/``lean_client``
        pytest fixtures the wait moves the sandbox's manual clock instead of sleeping.

        Raises:
            ValidationError: a bad id, *timeout* or *poll_interval*; nothing was sent.
            TimeoutError: still PENDING after *timeout* seconds.
            APIError: a read failed (``NotFoundError``: no such gig).
        """
        _validate.wait_arguments("gig_id", gig_id, timeout=timeout, poll_interval=poll_interval)
        return await poll_until(
            lambda: self.get(gig_id),
            is_settled,
            timeout=timeout,
            poll_interval=poll_interval,
            describe=lambda gig: f"gig {gig_id!r} still {gig.status}",
        )

    @traced(GIGS_LIST.name)
    async def list(self) -> builtins.list[Gig]:
        """Return every gig."""
        return await self._client._send(
            GIGS_LIST.method, GIGS_LIST.path_prefix, cast_to=GIGS_LIST.response
        )

    def create_many(
        self, items: _batch.Items, *, concurrency: int = _batch.DEFAULT_CONCURRENCY
    ) -> AsyncGenerator[BatchResult[Gig], None]:
        """Pay many gigs, *concurrency* at a time; one `BatchResult` per item as it finishes.

        Each item is a mapping of `create` arguments, read lazily from a sync or async
        iterable. A bad item (not a mapping, unknown or missing arguments, a broken
        rule) yields its `ValidationError` and the batch goes on, as does an `APIError`;
        an exception that is not a `LeanError` propagates. Running the same batch again
        pays nothing twice: each ``gig_id`` returns the gig already made. Leaving the
        ``async for`` early or cancelling cancels the calls in flight (use
        ``contextlib.aclosing`` to have that happen at once rather than when the
        iterator is collected).

        Raises:
            ValidationError: *concurrency* is not an int >= 1 or *items* not an iterable.
        """
        return _batch.create_many(self.create, items, concurrency=concurrency)
