"""`lean.special_payments`: ad-hoc payments to, or deductions from, a worker."""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Any

from lean_async._endpoints import validate as _validate
from lean_async._endpoints.requests import SPECIAL_PAYMENT
from lean_async._endpoints.table import (
    SPECIAL_PAYMENTS_CREATE,
    SPECIAL_PAYMENTS_GET,
    SPECIAL_PAYMENTS_LIST,
)
from lean_async._telemetry import traced
from lean_async.models import BatchResult, SpecialPayment, SpecialPaymentType
from lean_async.resources import _batch
from lean_async.resources._base import Resource
from lean_async.resources._wait import is_settled, poll_until

__all__ = ["SpecialPayments"]


class SpecialPayments(Resource):
    """The Special Payment API, protected by the ``Idempotency-Key`` header."""

    __slots__ = ()

    @traced(SPECIAL_PAYMENTS_CREATE.name)
    async def create(
        self,
        *,
        partner_user_id: str,
        amount: Decimal | int | str,
        type: SpecialPaymentType | str,
        gig_id: str | None = None,
        description: str | None = None,
        userdata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> SpecialPayment:
        """Pay (positive amount) or deduct (negative amount) an ad-hoc sum.

        Every attempt of the call carries one ``Idempotency-Key``, so retries never pay
        twice. Pass your own *idempotency_key* (kept by Lean for 24 hours) to make a
        retry after a crash or a lost answer safe too; it is on every `APIError`. A key
        is 1 to 255 visible ASCII characters (no spaces or control characters).

        Raises:
            ValidationError: an argument breaks an API rule; nothing was sent.
            APIError: the call failed.
        """
        body = SPECIAL_PAYMENT.body(locals())  # the declaration picks its arguments
        return await self._client._create_keyed(
            SPECIAL_PAYMENTS_CREATE.path_prefix,
            body,
            idempotency_key=idempotency_key,
            cast_to=SPECIAL_PAYMENTS_CREATE.response,
        )

    @traced(SPECIAL_PAYMENTS_GET.name)
    async def get(self, id: str) -> SpecialPayment:
        """Fetch a special payment by the id Lean gave it.

        Raises:
            NotFoundError: no such special payment.
        """
        segment = _validate.path_segment("id", id)
        return await self._client._send(
            SPECIAL_PAYMENTS_GET.method,
            SPECIAL_PAYMENTS_GET.path_prefix + segment,
            cast_to=SPECIAL_PAYMENTS_GET.response,
        )

    @traced("special_payments.wait_until_settled")
    async def wait_until_settled(
        self, id: str, *, timeout: float = 120.0, poll_interval: float = 1.0
    ) -> SpecialPayment:
        """Poll a special payment until it settles (SUCCESS or FAILED) and return it.

        Meant for tests and scripts: a service learns of settlement from the
        ``specialpayment.*`` webhooks. Under the ``lean_sandbox``/``lean_client`` pytest
        fixtures the wait moves the sandbox's manual clock instead of sleeping.

        Raises:
            ValidationError: a bad id, *timeout* or *poll_interval*; nothing was sent.
            TimeoutError: still PENDING after *timeout* seconds.
            APIError: a read failed (``NotFoundError``: no such special payment).
        """
        _validate.wait_arguments("id", id, timeout=timeout, poll_interval=poll_interval)
        return await poll_until(
            lambda: self.get(id),
            is_settled,
            timeout=timeout,
            poll_interval=poll_interval,
            describe=lambda payment: f"special payment {id!r} still {payment.status}",
        )

    @traced(SPECIAL_PAYMENTS_LIST.name)
    async def list(self) -> builtins.list[SpecialPayment]:
        """Return every special payment."""
        return await self._client._send(
            SPECIAL_PAYMENTS_LIST.method,
            SPECIAL_PAYMENTS_LIST.path_prefix,
            cast_to=SPECIAL_PAYMENTS_LIST.response,
        )

    def create_many(
        self,
        items: _batch.Items,
        *,
        concurrency: int = _batch.DEFAULT_CONCURRENCY,
        batch_id: str | None = None,
    ) -> AsyncGenerator[BatchResult[SpecialPayment], None]:
        """Send many special payments, *concurrency* at a time, yielding results as they finish.

        Each item is a mapping of `create` arguments, read lazily from a sync or async
        iterable; a bad item yields its `ValidationError`, a failed call its `APIError`,
        and the batch goes on; an exception that is not a `LeanError` propagates.

        Re-running a batch pays nothing twice when every item has an idempotency key:

        * an item's own ``idempotency_key`` is used as it is;
        * otherwise, with *batch_id*, the key is ``"lean-batch-"`` + SHA-256 of the JSON
          array ``[batch_id, index, body]`` (``body``: the item's validated wire body,
          canonical JSON), see `lean_async.resources._batch.batch_key`. The index is
          part of it because two identical bonuses in one batch are two payments, so
          a re-run must present the same items in the same order;
        * otherwise each item still gets one key for all the retries of its call, but
          a re-run is NOT protected (a WARNING is logged once per batch).

        Lean keeps a key for 24 hours: a re-run after that pays again.

        Raises:
            ValidationError: *concurrency* is not an int >= 1, *items* not an iterable,
                or *batch_id* not a non-empty string.
        """
        prepare = _batch.special_payment_keys(batch_id)
        return _batch.create_many(self.create, items, concurrency=concurrency, prepare=prepare)
