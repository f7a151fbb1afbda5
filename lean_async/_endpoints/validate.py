"""The API's field rules: one front door to the rule modules and the declarations.

Two levels use the same declarations (`lean_async._endpoints.requests`):

* ``check_*`` take a decoded JSON request body (camelCase keys, JSON types) and return
  every ``(wireField, message)`` problem found. They never raise, whatever the input,
  because the sandbox runs them on raw request bodies to answer 400.
* ``*_body`` take the Python arguments users pass, check them against the same rules
  and either return the camelCase body (built by the one cattrs converter) or raise one
  `ValidationError` listing every problem under the snake_case argument names.

Limits of our own, beyond the reference's rules (the README's "Validation" lists them):

* text must be encodable as UTF-8, so a lone surrogate (``"\\ud800"``) is refused;
* an amount's absolute value is at most `MAX_AMOUNT` (999,999,999.99), checked from the
  exponent before any arithmetic, and an amount string is at most `MAX_AMOUNT_CHARS`
  characters, checked before it is parsed;
* an identifier (``partnerUserId``, ``gigId``, a path id) is at most `MAX_IDENTIFIER`
  characters, so its URL always fits;
* an ``Idempotency-Key`` is 1 to `MAX_IDEMPOTENCY_KEY` visible ASCII characters.
"""

from __future__ import annotations

from typing import Final

from lean_async._endpoints.requests import APPLICATION, CUSTOMER, GIG, SPECIAL_PAYMENT
from lean_async._endpoints.rules.arguments import (
    MAX_IDEMPOTENCY_KEY,
    check_idempotency_key,
    wait_arguments,
)
from lean_async._endpoints.rules.base import BODY, Problem
from lean_async._endpoints.rules.money import MAX_AMOUNT, MAX_AMOUNT_CHARS
from lean_async._endpoints.rules.paths import path_segment
from lean_async._endpoints.rules.text import MAX_IDENTIFIER, US_STATES

__all__ = [
    "BODY",
    "MAX_AMOUNT",
    "MAX_AMOUNT_CHARS",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_IDENTIFIER",
    "US_STATES",
    "Problem",
    "application_body",
    "check_application",
    "check_customer",
    "check_gig",
    "check_idempotency_key",
    "check_special_payment",
    "customer_body",
    "gig_body",
    "path_segment",
    "special_payment_body",
    "wait_arguments",
]

check_customer: Final = CUSTOMER.check
"""Return every problem with a decoded ``POST /customer`` body; never raises."""

check_application: Final = APPLICATION.check
"""Return every problem with a decoded ``POST /application`` body; never raises."""

check_gig: Final = GIG.check
"""Return every problem with a decoded ``POST /gig`` body; never raises.

Amounts must be JSON strings (money is never a JSON number); a timestamp without an
offset, as in the reference's own example, is read as UTC.
"""

check_special_payment: Final = SPECIAL_PAYMENT.check
"""Return every problem with a decoded ``POST /specialpayment`` body; never raises."""

customer_body: Final = CUSTOMER.keywords(
    "customer_body",
    """Return the ``POST /customer`` body for these arguments, checked against every rule.

    ``middleName`` and ``street2`` are left out when None.

    Raises:
        ValidationError: one or more arguments break a rule; all are listed.
    """,
)

application_body: Final = APPLICATION.keywords(
    "application_body",
    """Return the ``POST /application`` body for a partner user id.

    Raises:
        ValidationError: the id is not a non-blank string.
    """,
    positional=True,
)

gig_body: Final = GIG.keywords(
    "gig_body",
    """Return the ``POST /gig`` body for these arguments, checked against every rule.

    Amounts are `Decimal`, int or a decimal string and go out as ``"15.00"``; a float
    or more than 2 decimal places is refused, never rounded. Times must be
    timezone-aware and go out in UTC.

    Raises:
        ValidationError: one or more arguments break a rule; all are listed.
    """,
)

special_payment_body: Final = SPECIAL_PAYMENT.keywords(
    "special_payment_body",
    """Return the ``POST /specialpayment`` body for these arguments, checked.

    A negative *amount* deducts from the worker; zero is refused. *type* is a
    `SpecialPaymentType` or its value in any case. *idempotency_key* is not part of
    the body: it is checked here (see `check_idempotency_key`) so that one
    `ValidationError` lists its problem with the body's. ``gigId``, ``description``
    and ``userdata`` are left out when None.

    Raises:
        ValidationError: one or more arguments break a rule; all are listed.
    """,
)
