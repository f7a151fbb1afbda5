"""Nothing secret or personal in any exported span, event, attribute or metric point."""

from __future__ import annotations

import base64
import json

import httpx

from lean_async import LeanClient
from tests.reference import REFERENCE_CREATED_CUSTOMER, REFERENCE_GIG
from tests.telemetry.conftest import BASE, GIG_ARGUMENTS, Otel

KEY = "sk_live_OTEL_SCAN_9c41"
TOKEN = base64.b64encode(f"{KEY}:".encode()).decode()
CUSTOMER_ARGUMENTS = {
    "partner_user_id": "uid_SCAN_7731",
    "first_name": "Wilhelmina",
    "middle_name": "Quintessa",
    "last_name": "Featherstonehaugh",
    "birthday": "1980-12-31",
    "phone_number": "4085551234",
    "email": "wilhelmina.scan@example.com",
    "street": "700 Treehouse Drive",
    "street2": "Apt 9Z",
    "city": "Zanzibarville",
    "state": "CA",
    "postal_code": "95101",
    "registration_date": "2020-01-01",
}
# The state (2 letters) and the dates are too short or too common to scan for.
PERSONAL = [
    value
    for name, value in CUSTOMER_ARGUMENTS.items()
    if name not in {"state", "birthday", "registration_date"}
]


def _exported(otel: Otel) -> str:
    """Every exported span (attributes, events, status, resource) and metric point, as text."""
    spans = [span.to_json() for span in otel.spans()]
    metrics = otel.reader.get_metrics_data()
    assert metrics is not None
    return "\n".join([*spans, metrics.to_json()])


async def test_no_key_authorization_or_personal_field_is_exported(otel: Otel) -> None:
    """A customers.create then a retried gigs.create leave no secret or personal data."""
    customer = {
        **REFERENCE_CREATED_CUSTOMER,
        "partnerUserId": CUSTOMER_ARGUMENTS["partner_user_id"],
        "firstName": "Wilhelmina",
        "middleName": "Quintessa",
        "lastName": "Featherstonehaugh",
        "phoneNumber": "4085551234",
        "email": "wilhelmina.scan@example.com",
        "street2": "Apt 9Z",
        "city": "Zanzibarville",
    }
    seen: list[str] = []
    statuses = [201, 503, 201]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        status = statuses.pop(0)
        body = customer if request.url.path.endswith("customer") else {**REFERENCE_GIG, "id": "g"}
        return httpx.Response(status, json=body if status == 201 else {"message": KEY})

    async with LeanClient(
        api_key=KEY,
        base_url=BASE,
        transport=httpx.MockTransport(handler),
        backoff_base=0.001,
        backoff_cap=0.002,
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
    ) as lean:
        await lean.customers.create(**CUSTOMER_ARGUMENTS)
        await lean.gigs.create(**{**GIG_ARGUMENTS, "partner_user_id": "uid_SCAN_7731"})

    assert seen == [f"Basic {TOKEN}"] * 3  # the scan looks for what was really sent
    text = _exported(otel)
    assert len(otel.spans()) == 5
    assert "lean.retry" in text
    for needle in [KEY, TOKEN, *PERSONAL]:
        assert needle not in text, needle
        assert json.dumps(needle)[1:-1] not in text, needle
