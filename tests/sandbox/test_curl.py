"""The reference's own curl examples, run with the real curl against a real server.

The examples are copied verbatim from the Lean API reference. As shell they are broken
(``curl POST URL`` makes curl fetch a host named "POST"; several lines lack their
``\\``), so each is read as its author meant it: the method word becomes ``--request``,
the lines are joined, the staging host becomes the local server, ``<API-KEY>`` the test
key and ``:id`` placeholders real ids.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lean_async.sandbox import Sandbox, running_server
from tests.reference import REFERENCE_CREATED_CUSTOMER, REFERENCE_GIG, REFERENCE_SPECIAL_PAYMENT

from .conftest import KEY

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

HOSTS = (
    "https://app.staging.withlean.com/api",
    "https://staging.app.withlean.com/api",
    "https://app.withlean.com/api",
)

AUTHENTICATE = """curl "https://app.withlean.com/api" \\
  -u <API-KEY>:"""

CREATE_CUSTOMER = """curl POST "https://app.staging.withlean.com/api/customer" \\
  -H 'Content-Type: application/json'
  -u <API-KEY>:
  -d '{
  "firstName": "Jane",
  "lastName": "Doe",
  "birthday": "1980-12-31",
  "phoneNumber": "4085008000",
  "email": "janedoe@gmail.com",
  "street": "700 Treehouse Drive",
  "city": "San Jose",
  "state": "CA",
  "postalCode": "95101",
  "partnerUserId": "uid_847834395730535",
  "registrationDate": "2020-01-01"
  }'"""

RETRIEVE_CUSTOMER = """curl GET "https://staging.app.withlean.com/api/customer/:partnerUserId" \\ 
-u <API-KEY>:"""  # noqa: W291 - the reference has that trailing space

SUBMIT_APPLICATION = """curl POST "https://app.withlean.com/api/application" \\
  -u <API-KEY>:
  -H 'Content-Type: application/json'
  -d '{
    partnerUserID: "uid_847834395730535"
    }'"""

CREATE_GIG = """curl POST "https://app.withlean.com/api/gig" \\
  -u <API-KEY>:
  -H 'Content-Type: application/json'
  -d '{
  "partnerUserId": "uid_847834395730535",
  "totalAmount": "15.00",
  "description": "Gig Payout",
  "gigId": "gigId_94792357823953532",
  "startTime": "2021-03-01T21:04:04",
  "endTime": "2021-03-01T21:31:05",
  "tips": "3.00",
  "expenses": "2.00"
  }'"""

GET_GIG = """curl GET "https://staging.app.withlean.com/api/gig/:gigId" \\ 
-u <API-KEY>:"""  # noqa: W291

LIST_GIGS = """curl GET "https://staging.app.withlean.com/api/gig" \\ 
-u <API-KEY>:"""  # noqa: W291

CREATE_SPECIAL_PAYMENT = """curl POST "https://app.withlean.com/api/specialpayment" \\
  -u <API-KEY>:
  -H 'Content-Type: application/json'
  -d '{
  "partnerUserId": "uid_847834395730535",
  "amount": "4.56",
  "type": "reimbursement",
  "gigId": "gigId_94792357823953532",
  "description": "Parking receipt from 3/1/2021",
  "userdata": { "receiptId": "receipt_4242551" }
  }'"""

GET_SPECIAL_PAYMENT = """curl GET "https://staging.app.withlean.com/api/specialpayment/:id" \\ 
-u <API-KEY>:"""  # noqa: W291

LIST_SPECIAL_PAYMENTS = """curl GET "https://staging.app.withlean.com/api/specialpayment" \\ 
-u <API-KEY>:"""  # noqa: W291

# The documented responses, for their keys and fixed values.
CUSTOMER_RESPONSE = REFERENCE_CREATED_CUSTOMER
GIG_RESPONSE = REFERENCE_GIG
SPECIAL_PAYMENT_RESPONSE = REFERENCE_SPECIAL_PAYMENT
VARYING = {"id", "invoiceId", "createdAt", "updatedAt", "startTime", "endTime"}


def curl_args(example: str, base_url: str, **ids: str) -> list[str]:
    """Turn a reference example into the argv of the curl its author meant."""
    words = [w for w in shlex.split(example) if w.strip()]
    assert words[0] == "curl"
    args = ["curl", "--silent", "--show-error", "--write-out", "\n%{http_code}"]
    rest = words[1:]
    if rest[0] in ("GET", "POST"):
        args += ["--request", rest.pop(0)]
    for word in rest:
        for host in HOSTS:
            word = word.replace(host, base_url)
        for name, value in ids.items():
            word = word.replace(f":{name}", value)
        args.append(word.replace("<API-KEY>:", f"{KEY}:"))
    return args


async def run_curl(args: list[str]) -> tuple[int, Any]:
    """Run curl; return the status code and the decoded JSON body."""
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    body, _, status = out.decode().rpartition("\n")
    return int(status), json.loads(body)


def assert_documented(actual: dict[str, Any], documented: dict[str, Any]) -> None:
    """Check the keys, and every value the example fixes, match the documentation."""
    assert set(documented) <= set(actual)
    for key, value in documented.items():
        if key not in VARYING:
            assert actual[key] == value, key


@pytest.fixture
async def base_url(sandbox: Sandbox) -> AsyncIterator[str]:
    """The manual-clock sandbox on a real port."""
    async with running_server(sandbox) as url:
        yield url


async def curl(example: str, base_url: str, **ids: str) -> tuple[int, Any]:
    """Run one reference example against the local server."""
    return await run_curl(curl_args(example, base_url, **ids))


async def test_authentication_example(base_url: str) -> None:
    """The auth example passes authentication (404: /api itself is no resource)."""
    assert await curl(AUTHENTICATE, base_url) == (404, {"message": "Not found"})
    wrong = curl_args(AUTHENTICATE, base_url)
    wrong[-1] = "wrong-key:"
    status, body = await run_curl(wrong)
    assert status == 401
    assert set(body) == {"message"}


async def test_every_example_in_order(base_url: str, sandbox: Sandbox) -> None:
    """The reference's examples, in order, get the documented shapes back."""
    status, customer = await curl(CREATE_CUSTOMER, base_url)
    assert status == 200
    assert_documented(customer, CUSTOMER_RESPONSE)
    uid = customer["partnerUserId"]
    assert await curl(RETRIEVE_CUSTOMER, base_url, partnerUserId=uid) == (200, customer)

    status, error = await curl(SUBMIT_APPLICATION, base_url)
    assert status == 400  # the documented body is not JSON
    assert error["errors"][0]["field"] == "body"
    corrected = SUBMIT_APPLICATION.replace('partnerUserID: "', '"partnerUserId": "')
    assert await curl(corrected, base_url) == (200, {"partnerUserId": uid, "status": "submitted"})
    await sandbox.advance(1)
    status, active = await curl(RETRIEVE_CUSTOMER, base_url, partnerUserId=uid)
    assert active["status"] == "ACTIVE"

    status, gig = await curl(CREATE_GIG, base_url)
    assert status == 200, gig
    assert_documented(gig, GIG_RESPONSE)
    assert gig["partnerUserId"] == uid
    assert gig["startTime"] == "2021-03-01T21:04:04.000Z"  # read as UTC
    assert await curl(GET_GIG, base_url, gigId=gig["gigId"]) == (200, gig)
    assert await curl(LIST_GIGS, base_url) == (200, [gig])

    status, payment = await curl(CREATE_SPECIAL_PAYMENT, base_url)
    assert status == 200, payment
    assert_documented(payment, SPECIAL_PAYMENT_RESPONSE)
    assert await curl(GET_SPECIAL_PAYMENT, base_url, id=payment["id"]) == (200, payment)
    assert await curl(LIST_SPECIAL_PAYMENTS, base_url) == (200, [payment])

    await sandbox.advance(1)
    status, settled = await curl(GET_GIG, base_url, gigId=gig["gigId"])
    assert settled["status"] == "SUCCESS"
    assert len(sandbox.gigs) == len(sandbox.special_payments) == 1
