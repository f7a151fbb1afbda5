"""Reconciliation's comparison of what was sent with what the API holds."""

from __future__ import annotations

from lean_async.resources._base import _matches


def test_money_and_times_compare_by_value() -> None:
    """ "15.0" equals "15.00" and a Z timestamp equals its offset-less twin."""
    sent = {"totalAmount": "15.00", "startTime": "2021-03-01T21:04:04.000Z", "gigId": "g"}
    held = {"totalAmount": "15.0", "startTime": "2021-03-01T21:04:04", "gigId": "g"}
    assert _matches(sent, held)


def test_fields_the_api_does_not_echo_are_skipped() -> None:
    """A sent field missing from the answer cannot disagree."""
    assert _matches({"partnerUserId": "u", "gigId": "g"}, {"gigId": "g"})


def test_any_difference_is_a_mismatch() -> None:
    """Different amounts, ids or unparseable values do not match."""
    assert not _matches({"totalAmount": "15.00"}, {"totalAmount": "16.00"})
    assert not _matches({"gigId": "g"}, {"gigId": "h"})
    assert not _matches({"amount": "5.00"}, {"amount": "five"})
    assert not _matches({"endTime": "2021-03-01T21:04:04Z"}, {"endTime": "yesterday"})
