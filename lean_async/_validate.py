"""The API's field rules, as one table shared by the client and the sandbox.

Two levels use the same table:

* ``check_*`` take a decoded JSON request body (camelCase keys, JSON types) and return
  every ``(wireField, message)`` problem found. They never raise, whatever the input,
  because the sandbox runs them on raw request bodies to answer 400.
* ``*_body`` take the Python arguments users pass, coerce them to the wire format
  (money as two-decimal strings, UTC timestamps, ISO dates), run the same checks and
  either return the camelCase body or raise one `ValidationError` listing every problem
  under the snake_case argument names.

Each wire field has one parser (value -> parsed value, or `_Invalid` with the message);
rules that span fields (tips + expenses <= total, end >= start) run on parsed values.

Limits of our own, beyond the reference's rules (the README's "Validation" lists them):

* text must be encodable as UTF-8, so a lone surrogate (``"\\ud800"``) is refused;
* an amount's absolute value is at most `MAX_AMOUNT` (999,999,999.99), checked from the
  exponent before any arithmetic, and an amount string is at most `MAX_AMOUNT_CHARS`
  characters, checked before it is parsed: a huge exponent or a long string is
  refused in microseconds;
* an identifier (``partnerUserId``, ``gigId``, a path id) is at most `MAX_IDENTIFIER`
  characters, so its URL always fits;
* an ``Idempotency-Key`` is 1 to `MAX_IDEMPOTENCY_KEY` visible ASCII characters.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from lean_async._convert import format_datetime, format_money, parse_datetime
from lean_async.errors import ValidationError
from lean_async.models import SpecialPaymentType

__all__ = [
    "MAX_AMOUNT",
    "MAX_AMOUNT_CHARS",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_IDENTIFIER",
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

Problem = tuple[str, str]
"""``(field, message)``: camelCase wire names from ``check_*``, snake_case in errors."""

BODY: Final = "body"
"""The field named when the whole body is wrong (not a JSON object)."""

# The reference's length limits.
_MAX_NAME: Final = 40
_MAX_EMAIL: Final = 50
_MAX_STREET: Final = 35
_MAX_CITY: Final = 21

_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
_DISTRICT_AND_TERRITORIES = "DC PR GU VI AS MP"
_MILITARY_MAIL = "AA AE AP"
US_STATES: Final = frozenset(
    (*_STATES.split(), *_DISTRICT_AND_TERRITORIES.split(), *_MILITARY_MAIL.split())
)
"""The two-letter codes accepted as ``state``."""

_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(?:\.[^@\s\x00-\x1f\x7f.]+)+")
_POSTAL_CODE = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")
_PHONE = re.compile(r"[0-9+\-(). ]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_MONEY = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]+")
_CAMEL_HUMP = re.compile(r"[A-Z]")

MAX_AMOUNT: Final = Decimal("999999999.99")
"""The largest absolute amount accepted: a payroll never reaches a billion in one payment."""

MAX_AMOUNT_CHARS: Final = 32
"""The longest amount string accepted (``"-999999999.99"`` is 13; zero padding fits)."""

MAX_IDENTIFIER: Final = 255
"""The longest identifier accepted (a 100,000-character id would not fit in a URL)."""

MAX_IDEMPOTENCY_KEY: Final = 255
"""The longest ``Idempotency-Key`` accepted, as the sandbox (and the IETF draft) allow."""

_CENT = Decimal("0.01")
# For whole cents, |amount| <= MAX_AMOUNT  <=>  |amount| < 10**9  <=>  adjusted() < 9.
_CEILING_DIGITS: Final = 9
_CEILING_UNITS: Final = 10**_CEILING_DIGITS
# Quantizing an amount below the ceiling to cents needs 11 digits; any exponent is allowed
# so that 1E-999999999 rounds to 0.00 instead of raising.
_CENTS_CONTEXT = decimal.Context(
    prec=20, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation]
)
# Exact arithmetic for sums of amounts (the default context rounds at 28 digits).
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)

_TYPES = ", ".join(member.value for member in SpecialPaymentType)
_MONEY_EXAMPLE = "a decimal string such as '15.00'"
_CENTS_ONLY = "must have at most 2 decimal places (amounts are never rounded)"
_CEILING = f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}"
_NOT_UTF8 = "must be valid Unicode text (it holds a lone surrogate, which UTF-8 cannot encode)"
_IDEMPOTENCY_RULE = (
    f"must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters "
    "(letters, digits, punctuation; no spaces or control characters)"
)


class _Invalid(Exception):
    """A value breaks a rule; ``args[0]`` is the message for the user."""


# --- wire parsers: JSON value -> parsed value, or _Invalid ------------------------------


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    if _SURROGATE.search(value):
        raise _Invalid(_NOT_UTF8)
    if not value.strip():
        raise _Invalid("must not be blank")
    return value


def _limited(limit: int) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = _text(value)
        if len(text) > limit:
            raise _Invalid(f"must be at most {limit} characters (got {len(text)})")
        return text

    return parse


def _name(value: object) -> str:
    text = _text(value)
    rule = f"must be at most {_MAX_NAME} printable ASCII characters"
    found = _NOT_PRINTABLE_ASCII.search(text)
    if found:
        raise _Invalid(f"{rule} (found {found.group()!r})")
    if len(text) > _MAX_NAME:
        raise _Invalid(f"{rule} (got {len(text)})")
    return text


_email_length = _limited(_MAX_EMAIL)
_identifier = _limited(MAX_IDENTIFIER)


def _email(value: object) -> str:
    text = _email_length(value)
    if not _EMAIL.fullmatch(text):
        raise _Invalid("must be an email address such as 'name@example.com'")
    return text


def _state(value: object) -> str:
    text = _text(value)
    if text not in US_STATES:
        if text.upper() in US_STATES:
            raise _Invalid(f"must be upper case: {text.upper()!r}")
        raise _Invalid("must be a US two-letter state code such as 'CA'")
    return text


def _postal_code(value: object) -> str:
    text = _text(value)
    if not _POSTAL_CODE.fullmatch(text):
        raise _Invalid("must be a ZIP code: '12345' or '12345-6789'")
    return text


def _phone_number(value: object) -> str:
    text = _text(value)
    if not _PHONE.fullmatch(text) or not 10 <= sum(char.isdigit() for char in text) <= 15:
        raise _Invalid("must have 10 to 15 digits, and only digits, spaces and + - ( ) .")
    return text


def _date(value: object) -> dt.date:
    message = "must be a valid date in YYYY-MM-DD format"
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _Invalid(message)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Invalid(message) from None


def _timestamp(value: object) -> dt.datetime:
    message = "must be an ISO 8601 timestamp such as '2021-03-01T21:04:04.000Z'"
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise _Invalid(message)
    try:
        return parse_datetime(value)
    except ValueError:  # a day that does not exist, or out of range in UTC
        raise _Invalid(message) from None


def _cents(amount: Decimal) -> Decimal:
    """Return *amount* as whole cents, or refuse it: not finite, too large, or rounded.

    The ceiling is read from the exponent before any arithmetic, so ``1E+999999999``
    costs as little as ``1``.
    """
    if not amount.is_finite():
        raise _Invalid("must be a finite amount")
    if not amount.is_zero() and amount.adjusted() >= _CEILING_DIGITS:
        raise _Invalid(_CEILING)
    cents = amount.quantize(_CENT, context=_CENTS_CONTEXT)
    if cents != amount:
        raise _Invalid(_CENTS_ONLY)
    return cents  # below 1E+9 and in whole cents: within MAX_AMOUNT


def _money_string(text: str) -> Decimal:
    if len(text) > MAX_AMOUNT_CHARS:  # before the regex and Decimal() read all of it
        raise _Invalid(f"must be {_MONEY_EXAMPLE} of at most {MAX_AMOUNT_CHARS} characters")
    if not _MONEY.fullmatch(text):
        raise _Invalid(f"must be {_MONEY_EXAMPLE}")
    return _cents(Decimal(text))


def _money(rule: Callable[[Decimal], bool], message: str) -> Callable[[object], Decimal]:
    def parse(value: object) -> Decimal:
        if isinstance(value, int | float):  # bool included
            raise _Invalid(f"must be {_MONEY_EXAMPLE}, not a JSON number")
        if not isinstance(value, str):
            raise _Invalid(f"must be {_MONEY_EXAMPLE}")
        amount = _money_string(value)
        if not rule(amount):
            raise _Invalid(message)
        return amount

    return parse


def _payment_type(value: object) -> SpecialPaymentType:
    if isinstance(value, str):
        try:
            return SpecialPaymentType(value)
        except ValueError:
            pass
    raise _Invalid(f"must be one of: {_TYPES}")


_JSON_ONLY = "must hold only JSON values (string keys, finite numbers, lists, objects)"


def _json_copy(value: dict[Any, Any]) -> dict[str, Any]:
    """Return a copy of *value* as it survives JSON, or refuse a value it would change."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        copy = json.loads(text)
        same = bool(copy == value)
    except (TypeError, ValueError, RecursionError):
        raise _Invalid(_JSON_ONLY) from None
    if not same:
        raise _Invalid(_JSON_ONLY)
    if _SURROGATE.search(text):
        raise _Invalid(_NOT_UTF8)
    return copy  # type: ignore[no-any-return]


def _userdata(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid("must be a JSON object")
    return _json_copy(value)


# --- client-side coercion: Python argument -> wire value, or _Invalid ------------------


def _same(value: object) -> object:
    return value


def _coerce_money(value: object) -> object:
    if isinstance(value, bool):
        raise _Invalid(f"must be a Decimal, an int or {_MONEY_EXAMPLE}, not a bool")
    if isinstance(value, float):
        raise _Invalid("floats lose cents; pass a Decimal or a string such as '15.00'")
    if isinstance(value, int):
        # Compared as ints, before Decimal() (or a Decimal comparison) converts the digits.
        if not -_CEILING_UNITS < value < _CEILING_UNITS:
            raise _Invalid(_CEILING)
        cents = _cents(Decimal(value))
    elif isinstance(value, str):
        cents = _money_string(value)
    elif isinstance(value, Decimal):
        cents = _cents(value)
    else:
        raise _Invalid(f"must be a Decimal, an int or {_MONEY_EXAMPLE}")
    return format_money(cents)


def _coerce_date(value: object) -> object:
    if isinstance(value, dt.datetime):
        raise _Invalid("must be a date, not a datetime")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise _Invalid("must be a date or a 'YYYY-MM-DD' string")


def _coerce_datetime(value: object) -> object:
    if not isinstance(value, dt.datetime):
        raise _Invalid("must be a timezone-aware datetime")
    try:
        # A tzinfo is user code: utcoffset() may raise anything, and datetime itself
        # raises TypeError/ValueError for a non-timedelta or an offset of 24 h or more.
        offset = value.utcoffset()
    except Exception:  # any failure of the tzinfo means "no valid offset"
        raise _Invalid(
            "has a tzinfo whose utcoffset() fails (it must return a timedelta "
            "strictly between -24 h and +24 h)"
        ) from None
    if offset is None:
        raise _Invalid("must be timezone-aware")
    try:
        # Convert with the offset read once, so the tzinfo is not asked again.
        utc = value.replace(tzinfo=None) - offset
    except OverflowError:
        raise _Invalid("is out of range once converted to UTC") from None
    return format_datetime(utc.replace(tzinfo=dt.UTC))


def _coerce_type(value: object) -> object:
    try:
        return _payment_type(value).value
    except _Invalid:
        return value  # let the check say what is wrong with it


def _coerce_userdata(value: object) -> object:
    if not isinstance(value, dict):
        raise _Invalid("must be a dict (a JSON object)")
    return _json_copy(value)


def _idempotency_key_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY or not _IDEMPOTENCY_KEY.fullmatch(value):
        return _IDEMPOTENCY_RULE
    return None


# --- the table -------------------------------------------------------------------------


@attrs.frozen
class _Field:
    """One wire field: how to parse it, whether it is required, how to coerce it."""

    wire: str
    parse: Callable[[object], object]
    required: bool = True
    coerce: Callable[[object], object] = _same
    arg: str = attrs.field(init=False)

    @arg.default
    def _snake(self) -> str:
        return _CAMEL_HUMP.sub(lambda m: "_" + m.group().lower(), self.wire)


@attrs.frozen
class _Rule:
    """A rule across fields, run when all *needs* are present and valid."""

    field: str
    needs: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], str | None]


@attrs.frozen
class _Table:
    """The fields of one request body, in argument order, and its cross-field rules."""

    fields: tuple[_Field, ...]
    rules: tuple[_Rule, ...] = ()
    order: Mapping[str, int] = attrs.field(init=False)

    @order.default
    def _order(self) -> dict[str, int]:
        return {field.wire: index for index, field in enumerate(self.fields)}


def _parts_within_total(values: Mapping[str, Any]) -> str | None:
    parts = _EXACT.add(values["tips"], values["expenses"])
    if parts > values["totalAmount"]:
        return f"must be at least tips + expenses ({format_money(parts)})"
    return None


def _end_after_start(values: Mapping[str, Any]) -> str | None:
    if values["endTime"] < values["startTime"]:
        return "must not be before the start time"
    return None


_total_amount = _money(lambda amount: amount > 0, "must be greater than 0")
_not_negative = _money(lambda amount: amount >= 0, "must not be negative")
_not_zero = _money(lambda amount: amount != 0, "must not be 0")

_CUSTOMER: Final = _Table(
    fields=(
        _Field("partnerUserId", _identifier),
        _Field("firstName", _name),
        _Field("lastName", _name),
        _Field("birthday", _date, coerce=_coerce_date),
        _Field("phoneNumber", _phone_number),
        _Field("email", _email),
        _Field("street", _limited(_MAX_STREET)),
        _Field("city", _limited(_MAX_CITY)),
        _Field("state", _state),
        _Field("postalCode", _postal_code),
        _Field("registrationDate", _date, coerce=_coerce_date),
        _Field("middleName", _name, required=False),
        _Field("street2", _limited(_MAX_STREET), required=False),
    )
)

_APPLICATION: Final = _Table(fields=(_Field("partnerUserId", _identifier),))

_GIG: Final = _Table(
    fields=(
        _Field("partnerUserId", _identifier),
        _Field("gigId", _identifier),
        _Field("totalAmount", _total_amount, coerce=_coerce_money),
        _Field("tips", _not_negative, coerce=_coerce_money),
        _Field("expenses", _not_negative, coerce=_coerce_money),
        _Field("description", _text),
        _Field("startTime", _timestamp, coerce=_coerce_datetime),
        _Field("endTime", _timestamp, coerce=_coerce_datetime),
    ),
    rules=(
        _Rule("totalAmount", ("totalAmount", "tips", "expenses"), _parts_within_total),
        _Rule("endTime", ("startTime", "endTime"), _end_after_start),
    ),
)

_SPECIAL_PAYMENT: Final = _Table(
    fields=(
        _Field("partnerUserId", _identifier),
        _Field("amount", _not_zero, coerce=_coerce_money),
        _Field("type", _payment_type, coerce=_coerce_type),
        _Field("gigId", _identifier, required=False),
        _Field("description", _text, required=False),
        _Field("userdata", _userdata, required=False, coerce=_coerce_userdata),
    )
)


def _check(table: _Table, body: object) -> list[Problem]:
    if not isinstance(body, dict):
        return [(BODY, "must be a JSON object")]
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    for field in table.fields:
        value = body.get(field.wire)
        if value is None:
            if field.required:
                problems.append((field.wire, "is required"))
            continue
        try:
            parsed[field.wire] = field.parse(value)
        except _Invalid as exc:
            problems.append((field.wire, str(exc)))
    for rule in table.rules:
        if all(name in parsed for name in rule.needs):
            message = rule.check(parsed)
            if message is not None:
                problems.append((rule.field, message))
    return sorted(problems, key=lambda problem: table.order[problem[0]])


def _build(
    table: _Table, args: Mapping[str, object], extra: Sequence[Problem] = ()
) -> dict[str, Any]:
    """Coerce and check *args*; raise every problem, *extra* ones (not body fields) last."""
    body: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for field in table.fields:
        value = args[field.arg]
        if value is None:
            continue  # the check reports a missing required field; optional ones are omitted
        try:
            body[field.wire] = field.coerce(value)
        except _Invalid as exc:
            problems[field.wire] = [str(exc)]
    for wire, message in _check(table, body):
        if wire not in problems:  # a value that failed coercion is not "missing" too
            problems.setdefault(wire, []).append(message)
    if problems or extra:
        raise ValidationError(
            [
                *(
                    (field.arg, message)
                    for field in table.fields
                    for message in problems.get(field.wire, ())
                ),
                *extra,
            ]
        )
    return body


# --- public: wire checks ----------------------------------------------------------------


def check_customer(body: object) -> list[Problem]:
    """Return every problem with a decoded ``POST /customer`` body; never raises.

    Args:
        body: the decoded JSON body, of any type.

    Returns:
        ``(camelCaseField, message)`` pairs in field order; empty when the body is valid.
    """
    return _check(_CUSTOMER, body)


def check_application(body: object) -> list[Problem]:
    """Return every problem with a decoded ``POST /application`` body; never raises.

    Args:
        body: the decoded JSON body, of any type.

    Returns:
        ``(camelCaseField, message)`` pairs; empty when the body is valid.
    """
    return _check(_APPLICATION, body)


def check_gig(body: object) -> list[Problem]:
    """Return every problem with a decoded ``POST /gig`` body; never raises.

    Amounts must be JSON strings (money is never a JSON number); a timestamp without an
    offset, as in the reference's own example, is read as UTC.

    Args:
        body: the decoded JSON body, of any type.

    Returns:
        ``(camelCaseField, message)`` pairs in field order; empty when the body is valid.
    """
    return _check(_GIG, body)


def check_special_payment(body: object) -> list[Problem]:
    """Return every problem with a decoded ``POST /specialpayment`` body; never raises.

    Args:
        body: the decoded JSON body, of any type.

    Returns:
        ``(camelCaseField, message)`` pairs in field order; empty when the body is valid.
    """
    return _check(_SPECIAL_PAYMENT, body)


def check_idempotency_key(key: object) -> list[Problem]:
    """Return the problem with an ``Idempotency-Key`` value, if any; never raises.

    A key is 1 to `MAX_IDEMPOTENCY_KEY` visible ASCII characters (``!`` to ``~``): no
    spaces, which HTTP trims from the ends of a header, and no control characters,
    which would split the header.

    Returns:
        ``[("Idempotency-Key", message)]``, or an empty list when the key is valid.
    """
    problem = _idempotency_key_problem(key)
    return [] if problem is None else [("Idempotency-Key", problem)]


# --- public: client-side builders -------------------------------------------------------


def customer_body(
    *,
    partner_user_id: str,
    first_name: str,
    last_name: str,
    birthday: dt.date | str,
    phone_number: str,
    email: str,
    street: str,
    city: str,
    state: str,
    postal_code: str,
    registration_date: dt.date | str,
    middle_name: str | None = None,
    street2: str | None = None,
) -> dict[str, Any]:
    """Return the ``POST /customer`` body for these arguments, checked against every rule.

    Returns:
        The camelCase JSON body; ``middleName`` and ``street2`` are left out when None.

    Raises:
        ValidationError: one or more arguments break a rule; all are listed.
    """
    return _build(_CUSTOMER, locals())


def application_body(partner_user_id: str) -> dict[str, Any]:
    """Return the ``POST /application`` body for a partner user id.

    Raises:
        ValidationError: the id is not a non-blank string.
    """
    return _build(_APPLICATION, {"partner_user_id": partner_user_id})


def gig_body(
    *,
    partner_user_id: str,
    gig_id: str,
    total_amount: Decimal | int | str,
    tips: Decimal | int | str,
    expenses: Decimal | int | str,
    description: str,
    start_time: dt.datetime,
    end_time: dt.datetime,
) -> dict[str, Any]:
    """Return the ``POST /gig`` body for these arguments, checked against every rule.

    Amounts are `Decimal`, int or a decimal string and go out as ``"15.00"``; a float
    or more than 2 decimal places is refused, never rounded. Times must be
    timezone-aware and go out in UTC.

    Returns:
        The camelCase JSON body.

    Raises:
        ValidationError: one or more arguments break a rule; all are listed.
    """
    return _build(_GIG, locals())


def special_payment_body(
    *,
    partner_user_id: str,
    amount: Decimal | int | str,
    type: SpecialPaymentType | str,
    gig_id: str | None = None,
    description: str | None = None,
    userdata: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Return the ``POST /specialpayment`` body for these arguments, checked.

    A negative *amount* deducts from the worker; zero is refused. *type* is a
    `SpecialPaymentType` or its value in any case. *idempotency_key* is not part of
    the body: it is checked here (see `check_idempotency_key`) so that one
    `ValidationError` lists its problem with the body's.

    Returns:
        The camelCase JSON body; ``gigId``, ``description`` and ``userdata`` are left
        out when None.

    Raises:
        ValidationError: one or more arguments break a rule; all are listed.
    """
    key_problem = None if idempotency_key is None else _idempotency_key_problem(idempotency_key)
    extra = [] if key_problem is None else [("idempotency_key", key_problem)]
    return _build(_SPECIAL_PAYMENT, locals(), extra)


def path_segment(field: str, value: object) -> str:
    """Percent-encode an identifier for use as one URL path segment.

    Everything but letters, digits and ``_-~`` is encoded, ``/`` and ``.`` included, so
    an identifier can never act as ``..`` or ``.`` or reach another path.

    Args:
        field: the argument's name, for the error.
        value: the identifier.

    Raises:
        ValidationError: *value* is not a non-empty string, is longer than
            `MAX_IDENTIFIER`, or holds a lone surrogate.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError([(field, "must be a non-empty string")])
    if len(value) > MAX_IDENTIFIER:
        raise ValidationError(
            [(field, f"must be at most {MAX_IDENTIFIER} characters (got {len(value)})")]
        )
    if _SURROGATE.search(value):
        raise ValidationError([(field, _NOT_UTF8)])
    return urllib.parse.quote(value, safe="").replace(".", "%2E")


def _seconds_problem(value: object, *, finite: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of seconds, not {type(value).__name__}"
    try:
        seconds = float(value)  # the clock arithmetic is in floats
    except OverflowError:
        return "is too large to be a number of seconds"
    if math.isnan(seconds) or seconds < 0 or (finite and math.isinf(seconds)):
        return "must be a finite number of seconds >= 0" if finite else "must be >= 0"
    return None


def wait_arguments(
    field: str, identifier: object, *, timeout: object, poll_interval: object
) -> None:
    """Check the arguments of a ``wait_until_*`` method before the first poll.

    *field* names the identifier argument (``partner_user_id``, ``gig_id``, ``id``).

    *timeout* is a number of seconds >= 0 (infinity waits for ever); *poll_interval* a
    finite number of seconds >= 0.

    Raises:
        ValidationError: every argument that breaks a rule.
    """
    problems: list[Problem] = []
    try:
        path_segment(field, identifier)
    except ValidationError as exc:
        problems.extend(exc.errors)
    for name, value, finite in (
        ("timeout", timeout, False),
        ("poll_interval", poll_interval, True),
    ):
        problem = _seconds_problem(value, finite=finite)
        if problem is not None:
            problems.append((name, problem))
    if problems:
        raise ValidationError(problems)
