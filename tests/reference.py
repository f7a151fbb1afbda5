"""The reference's own example JSON objects, copied once from the Lean API reference."""

from __future__ import annotations

from typing import Any

REFERENCE_CUSTOMER: dict[str, Any] = {
    "firstName": "Jane",
    "middleName": None,
    "lastName": "Doe",
    "birthday": "1980-01-01",
    "phoneNumber": "4088888888",
    "email": "janedoesit@example.com",
    "street": "45 Merryweather Lane",
    "street2": None,
    "city": "San Francisco",
    "state": "CA",
    "postalCode": "94110",
    "partnerUserId": "uid_444444444",
    "registrationDate": "2020-06-30",
    "createdAt": "2021-04-01T18:01:50.739Z",
    "updatedAt": "2021-04-04T22:06:01.766Z",
    "status": "ACTIVE",
}
REFERENCE_CREATED_CUSTOMER: dict[str, Any] = {
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
REFERENCE_APPLICATION: dict[str, Any] = {
    "partnerUserId": "uid_847834395730535",
    "status": "submitted",
}
REFERENCE_GIG: dict[str, Any] = {
    "id": "uid_847834395730535",
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
REFERENCE_SPECIAL_PAYMENT: dict[str, Any] = {
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
