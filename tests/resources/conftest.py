"""Fixtures for resource tests: a sandbox-environment client and a respx router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from lean_async import LeanClient
from lean_async.testing import set_testing

BASE = "https://app.staging.withlean.com/api"
KEY = "sk_test_4f8a1c"

CUSTOMER_JSON: dict[str, Any] = {
    "firstName": "Jane",
    "middleName": None,
    "lastName": "Doe",
    "birthday": "1980-12-31",
    "phoneNumber": "4085008000",
    "email": "janedoe@gmail.com",
    "street": "700 Treehouse Drive",
    "street2": None,
    "city": "San Jose",
    "state": "CA",
    "postalCode": "95101",
    "partnerUserId": "uid_847834395730535",
    "registrationDate": "2020-01-01",
    "status": "PENDING",
    "createdAt": "2021-04-01T19:53:36.869Z",
    "updatedAt": "2021-04-01T19:53:36.869Z",
}

GIG_JSON: dict[str, Any] = {
    "id": "gig_1",
    "description": "Gig Payout",
    "totalAmount": "15.00",
    "startTime": "2021-03-01T21:04:04",
    "endTime": "2021-03-01T21:31:05",
    "gigId": "gigId_94792357823953532",
    "expenses": "2.00",
    "tips": "3.00",
    "status": "PENDING",
    "invoiceId": "invoice_5dSpWwt5aX2nAR8kBA0Xs",
    "createdAt": "2021-04-01T19:58:11.651Z",
    "updatedAt": "2021-04-01T19:58:11.651Z",
}

SPECIAL_PAYMENT_JSON: dict[str, Any] = {
    "id": "special_payment_9384127512",
    "type": "reimbursement",
    "invoiceId": "invoice_3957103571",
    "description": "Parking receipt from 3/1/2021",
    "amount": "4.56",
    "createdAt": "2021-04-13T02:53:37.341Z",
    "updatedAt": "2021-04-13T02:53:37.341Z",
    "partnerUserId": "uid_847834395730535",
    "gigId": "gigId_94792357823953532",
    "userdata": {"receiptId": "receipt_4242551"},
    "status": "PENDING",
}


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    """Retry without waiting, through the SDK's own test switch."""
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A respx router for the sandbox base URL that insists every route is called."""
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


@pytest.fixture
async def lean() -> AsyncIterator[LeanClient]:
    """A sandbox-environment client with the default retry settings."""
    async with LeanClient(api_key=KEY, environment="sandbox") as client:
        yield client
