"""Fixtures for resource tests: a sandbox-environment client and a respx router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from lean_async import LeanClient
from lean_async.testing import set_testing
from tests.reference import REFERENCE_CREATED_CUSTOMER, REFERENCE_GIG, REFERENCE_SPECIAL_PAYMENT

BASE = "https://app.staging.withlean.com/api"
KEY = "sk_test_4f8a1c"

CUSTOMER_JSON = REFERENCE_CREATED_CUSTOMER
GIG_JSON: dict[str, Any] = {**REFERENCE_GIG, "id": "gig_1"}
SPECIAL_PAYMENT_JSON = REFERENCE_SPECIAL_PAYMENT


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
    """A sandbox-environment client on the httpx backend (what respx mocks), default retries."""
    async with LeanClient(api_key=KEY, environment="sandbox", backend="httpx") as client:
        yield client
