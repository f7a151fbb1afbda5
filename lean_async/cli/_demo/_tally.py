"""What the demo paid: payouts and deductions counted apart, and the net."""

from __future__ import annotations

from decimal import Decimal

import attrs

from lean_async.models import PaymentStatus

__all__ = ["Payout", "Tally"]


@attrs.frozen(kw_only=True)
class Payout:
    """One gig or special payment the demo made (a negative amount is a deduction)."""

    kind: str
    id: str
    partner_user_id: str
    amount: Decimal
    status: str
    created: bool | None = None
    """Whether this run's calls paid it (False: it was already there; None: unknown)."""

    @property
    def counts(self) -> bool:
        """Whether it moves money: a FAILED payment moved none."""
        return self.status != PaymentStatus.FAILED.value


def _sum(rows: tuple[Payout, ...]) -> Decimal:
    return sum((row.amount for row in rows), Decimal("0.00"))


@attrs.frozen
class Tally:
    """Every payment the demo made, with payouts (>= 0) and deductions (< 0) apart."""

    rows: tuple[Payout, ...] = ()

    @property
    def payouts(self) -> tuple[Payout, ...]:
        """The payments that paid a worker (amount >= 0), FAILED ones left out."""
        return tuple(r for r in self.rows if r.counts and r.amount >= 0)

    @property
    def deductions(self) -> tuple[Payout, ...]:
        """The corrections that took money back (amount < 0), FAILED ones left out."""
        return tuple(r for r in self.rows if r.counts and r.amount < 0)

    @property
    def paid_here(self) -> tuple[Payout, ...]:
        """The payments this run's calls paid, as they reported (FAILED ones included)."""
        return tuple(r for r in self.rows if r.created is True)

    @property
    def already_there(self) -> tuple[Payout, ...]:
        """The payments this run found already made (by an earlier run)."""
        return tuple(r for r in self.rows if r.created is False)

    @property
    def paid_out(self) -> Decimal:
        """The sum of `payouts`."""
        return _sum(self.payouts)

    @property
    def deducted(self) -> Decimal:
        """The sum of `deductions` (zero or negative)."""
        return _sum(self.deductions)

    @property
    def net(self) -> Decimal:
        """What the workers got in the end: `paid_out` plus `deducted`."""
        return self.paid_out + self.deducted

    @property
    def workers(self) -> list[str]:
        """The partnerUserIds paid or charged, sorted."""
        return sorted({r.partner_user_id for r in self.rows})
