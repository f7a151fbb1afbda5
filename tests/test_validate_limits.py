"""The limits of our own: UTF-8 text, the amount ceiling, Idempotency-Key, tzinfo offsets."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_async._endpoints.rules.money import CENTS_ONLY
from lean_async._endpoints.rules.objects import MAX_JSON_DEPTH
from lean_async._endpoints.rules.text import NOT_UTF8
from lean_async._endpoints.validate import (
    MAX_AMOUNT,
    MAX_AMOUNT_CHARS,
    MAX_IDEMPOTENCY_KEY,
    MAX_IDENTIFIER,
    application_body,
    check_application,
    check_customer,
    check_gig,
    check_idempotency_key,
    check_special_payment,
    customer_body,
    gig_body,
    path_segment,
    special_payment_body,
    wait_arguments,
)
from lean_async.errors import ValidationError
from tests.garbage import BAD_TZINFOS, BadOffset
from tests.test_validate import (
    CUSTOMER_ARGS,
    END,
    GIG_ARGS,
    REFERENCE_APPLICATION,
    REFERENCE_CUSTOMER,
    REFERENCE_GIG,
    REFERENCE_SPECIAL_PAYMENT,
    SPECIAL_PAYMENT_ARGS,
    START,
)

LONE = "a\udfffb"
CEILING = "must be between -999999999.99 and 999999999.99"
# "Microseconds" in practice; the bound leaves room for a loaded 2-core machine.
FAST_ENOUGH = 0.05


def errors_of(builder: Callable[..., object], **kwargs: Any) -> list[tuple[str, str]]:
    """Return the problems *builder* raises for *kwargs*, failing if it raises none."""
    with pytest.raises(ValidationError) as info:
        builder(**kwargs)
    return info.value.errors


def fields_of(builder: Callable[..., object], **kwargs: Any) -> list[str]:
    """Return the fields *builder* names for *kwargs*."""
    return [field for field, _ in errors_of(builder, **kwargs)]


# --- text UTF-8 cannot encode ------------------------------------------------------------

CUSTOMER_TEXT = ["partner_user_id", "street", "city", "email", "street2"]
GIG_TEXT = ["partner_user_id", "gig_id", "description"]
SPECIAL_PAYMENT_TEXT = ["partner_user_id", "gig_id", "description"]


@pytest.mark.parametrize(
    ("builder", "args", "field"),
    [
        *((customer_body, CUSTOMER_ARGS, field) for field in CUSTOMER_TEXT),
        *((gig_body, GIG_ARGS, field) for field in GIG_TEXT),
        *((special_payment_body, SPECIAL_PAYMENT_ARGS, field) for field in SPECIAL_PAYMENT_TEXT),
        (application_body, {"partner_user_id": "u"}, "partner_user_id"),
    ],
)
def test_lone_surrogate_in_text_is_a_validation_error(
    builder: Callable[..., object], args: dict[str, Any], field: str
) -> None:
    """A lone surrogate in any free-text field names that field, not UnicodeEncodeError."""
    [(name, message)] = errors_of(builder, **{**args, field: LONE})
    assert name == field
    assert message.startswith("must be valid Unicode text")


@pytest.mark.parametrize(
    "userdata",
    [{"note": LONE}, {LONE: "note"}, {"nested": [{"deep": "\ud800"}]}],
)
def test_lone_surrogate_in_userdata_is_a_validation_error(userdata: dict[str, Any]) -> None:
    """A lone surrogate anywhere in userdata, key or value, names userdata."""
    [(name, message)] = errors_of(special_payment_body, **SPECIAL_PAYMENT_ARGS, userdata=userdata)
    assert name == "userdata"
    assert message.startswith("must be valid Unicode text")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 400, 5_000])
def test_deeply_nested_userdata_is_a_validation_error(depth: int) -> None:
    """userdata nested past MAX_JSON_DEPTH is refused by name, never a RecursionError."""
    userdata: dict[str, Any] = {}
    for _ in range(depth - 1):
        userdata = {"a": [userdata]} if depth % 2 else {"a": userdata}
    [(name, message)] = errors_of(special_payment_body, **SPECIAL_PAYMENT_ARGS, userdata=userdata)
    assert (name, message) == (
        "userdata",
        f"must not nest objects and lists more than {MAX_JSON_DEPTH} deep",
    )
    assert check_special_payment({**REFERENCE_SPECIAL_PAYMENT, "userdata": userdata}) == [
        ("userdata", message)
    ]


def test_userdata_at_the_nesting_limit_is_sent() -> None:
    """userdata nested exactly MAX_JSON_DEPTH deep is accepted."""
    userdata: dict[str, Any] = {}
    for _ in range(MAX_JSON_DEPTH - 1):
        userdata = {"a": userdata}
    assert special_payment_body(**SPECIAL_PAYMENT_ARGS, userdata=userdata)["userdata"] == userdata


@pytest.mark.parametrize(
    ("check", "body", "field"),
    [
        (check_customer, REFERENCE_CUSTOMER, "partnerUserId"),
        (check_customer, REFERENCE_CUSTOMER, "street"),
        (check_customer, REFERENCE_CUSTOMER, "city"),
        (check_customer, REFERENCE_CUSTOMER, "email"),
        (check_application, REFERENCE_APPLICATION, "partnerUserId"),
        (check_gig, REFERENCE_GIG, "gigId"),
        (check_gig, REFERENCE_GIG, "description"),
        (check_special_payment, REFERENCE_SPECIAL_PAYMENT, "description"),
        (check_special_payment, REFERENCE_SPECIAL_PAYMENT, "userdata"),
    ],
)
def test_wire_checks_refuse_lone_surrogates(
    check: Callable[[object], list[tuple[str, str]]], body: dict[str, Any], field: str
) -> None:
    """JSON can carry ``\\ud800``; the sandbox refuses it like the client does."""
    value: object = {"k": LONE} if field == "userdata" else LONE
    [(name, message)] = check({**body, field: value})
    assert name == field
    assert message.startswith("must be valid Unicode text")


def test_control_characters_in_free_text_are_sent_escaped() -> None:
    """Control characters are valid JSON text: a description may hold a newline."""
    body = gig_body(**{**GIG_ARGS, "description": "line 1\nline 2\x00"})
    assert body["description"] == "line 1\nline 2\x00"


# --- the amount ceiling -----------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("1E+100000000"),
        Decimal("1E+999999999"),
        Decimal("-1E+999999999"),
        10**1_000_000,
        "1E+100000000",
        "1" * 10_000_000,
        "-" + "9" * 10_000_000 + ".00",
    ],
    ids=["1E+100000000", "1E+999999999", "-1E+999999999", "int", "str-exp", "10M", "-10M"],
)
def test_absurd_amounts_are_refused_fast(amount: object) -> None:
    """Amounts of any size are refused before any formatting, in well under 50 ms."""
    started = time.perf_counter()
    errors = errors_of(special_payment_body, **{**SPECIAL_PAYMENT_ARGS, "amount": amount})
    elapsed = time.perf_counter() - started
    assert [field for field, _ in errors] == ["amount"]
    assert elapsed < FAST_ENOUGH


@pytest.mark.parametrize("amount", ["1" * 10_000_000, "9" * 40 + ".00"], ids=["10M", "40"])
def test_wire_check_refuses_long_amount_strings_by_length(amount: str) -> None:
    """The sandbox refuses an amount string longer than the limit before parsing it."""
    started = time.perf_counter()
    problems = check_gig({**REFERENCE_GIG, "totalAmount": amount})
    assert time.perf_counter() - started < FAST_ENOUGH
    assert problems == [
        (
            "totalAmount",
            f"must be a decimal string such as '15.00' of at most {MAX_AMOUNT_CHARS} characters",
        )
    ]


@pytest.mark.parametrize(
    ("amount", "wire"),
    [
        (MAX_AMOUNT, "999999999.99"),
        (-MAX_AMOUNT, "-999999999.99"),
        ("999999999.99", "999999999.99"),
        ("-999999999.99", "-999999999.99"),
        (999_999_999, "999999999.00"),
        (-999_999_999, "-999999999.00"),
        ("0" * 20 + "1.00", "1.00"),
        (Decimal("1." + "0" * 100_000), "1.00"),
    ],
)
def test_amounts_up_to_the_ceiling_are_accepted(amount: object, wire: str) -> None:
    """The ceiling is inclusive, for every accepted type and sign."""
    assert special_payment_body(**{**SPECIAL_PAYMENT_ARGS, "amount": amount})["amount"] == wire


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("1000000000"),
        Decimal("-1000000000"),
        Decimal("999999999.999"),
        "1000000000.00",
        "-1000000000",
        1_000_000_000,
        -1_000_000_000,
    ],
)
def test_amounts_past_the_ceiling_are_refused(amount: object) -> None:
    """One cent past the ceiling is refused (a fraction of a cent is refused as such)."""
    [(field, message)] = errors_of(
        special_payment_body, **{**SPECIAL_PAYMENT_ARGS, "amount": amount}
    )
    assert field == "amount"
    expected = CENTS_ONLY if amount == Decimal("999999999.999") else CEILING
    assert message == expected


@pytest.mark.parametrize(
    ("field", "amount"),
    [("totalAmount", "1000000000.00"), ("tips", "1000000000"), ("expenses", "1000000000")],
)
def test_wire_check_applies_the_ceiling(field: str, amount: str) -> None:
    """The sandbox's wire checks refuse the same amounts as the client."""
    problems = check_gig({**REFERENCE_GIG, field: amount})
    assert (field, CEILING) in problems


def test_wire_check_applies_the_ceiling_to_deductions() -> None:
    """A deduction past the ceiling is refused too."""
    body = {**REFERENCE_SPECIAL_PAYMENT, "amount": "-1000000000.00"}
    assert check_special_payment(body) == [("amount", CEILING)]


@pytest.mark.parametrize(
    ("amount", "wire"),
    [(Decimal("0E+999999999"), "0.00"), (Decimal("-0E-999999999"), "0.00")],
)
def test_zero_with_any_exponent_is_zero(amount: Decimal, wire: str) -> None:
    """Zero is zero whatever its exponent (tips may be 0)."""
    assert gig_body(**{**GIG_ARGS, "tips": amount})["tips"] == wire


def test_tiny_fraction_is_refused_as_a_fraction_of_a_cent() -> None:
    """1E-999999999 is not rounded to 0.00: it needs more than 2 decimal places."""
    started = time.perf_counter()
    [(field, message)] = errors_of(gig_body, **{**GIG_ARGS, "tips": Decimal("1E-999999999")})
    assert time.perf_counter() - started < FAST_ENOUGH
    assert (field, message) == ("tips", CENTS_ONLY)


# --- Idempotency-Key --------------------------------------------------------------------

KEY_RULE = (
    f"must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters "
    "(letters, digits, punctuation; no spaces or control characters)"
)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (5, "must be a string, not int"),
        (b"payout-1", "must be a string, not bytes"),
        (True, "must be a string, not bool"),
        ("", KEY_RULE),
        ("k" * (MAX_IDEMPOTENCY_KEY + 1), KEY_RULE),
        ("clé", KEY_RULE),
        ("a\r\nX: 1", KEY_RULE),
        ("a\nb", KEY_RULE),
        ("a\x00b", KEY_RULE),
        ("a\x7fb", KEY_RULE),
        ("a b", KEY_RULE),
        (" padded", KEY_RULE),
        ("\ud800", KEY_RULE),
    ],
)
def test_bad_idempotency_key_is_a_validation_error(key: object, message: str) -> None:
    """A key that is not 1 to 255 visible ASCII characters is refused by name."""
    errors = errors_of(special_payment_body, **SPECIAL_PAYMENT_ARGS, idempotency_key=key)
    assert errors == [("idempotency_key", message)]


@pytest.mark.parametrize(
    "key",
    ["payout-2026-11-24-7", "k" * MAX_IDEMPOTENCY_KEY, "!", "~", "a:b/c=d;e"],
)
def test_good_idempotency_key_is_accepted(key: str) -> None:
    """Visible ASCII keys up to the limit pass, and stay out of the body."""
    body = special_payment_body(**SPECIAL_PAYMENT_ARGS, idempotency_key=key)
    assert "idempotencyKey" not in body
    assert "idempotency_key" not in body
    assert check_idempotency_key(key) == []


def test_idempotency_key_is_reported_with_the_body_problems() -> None:
    """One ValidationError lists the body's problems, then the key's."""
    errors = errors_of(
        special_payment_body,
        partner_user_id="u",
        amount="0",
        type="gift",
        idempotency_key="a\r\nb",
    )
    assert [field for field, _ in errors] == ["amount", "type", "idempotency_key"]


@given(st.text(max_size=300) | st.binary(max_size=3) | st.integers() | st.none())
@settings(max_examples=200, deadline=None)
def test_check_idempotency_key_matches_the_documented_rule(key: object) -> None:
    """The wire check accepts exactly 1 to 255 characters from ``!`` to ``~``."""
    valid = (
        isinstance(key, str)
        and 1 <= len(key) <= MAX_IDEMPOTENCY_KEY
        and all("!" <= char <= "~" for char in key)
    )
    problems = check_idempotency_key(key)
    assert (problems == []) is valid
    assert all(field == "Idempotency-Key" for field, _ in problems)


# --- tzinfos that misbehave -------------------------------------------------------------


@pytest.mark.parametrize("tz", BAD_TZINFOS, ids=repr)
@pytest.mark.parametrize("field", ["start_time", "end_time"])
def test_tzinfo_without_a_valid_offset_is_a_validation_error(tz: dt.tzinfo, field: str) -> None:
    """A tzinfo whose utcoffset() raises, returns a non-timedelta or >= 24 h names the field."""
    moment = (START if field == "start_time" else END).replace(tzinfo=tz)
    [(name, message)] = errors_of(gig_body, **{**GIG_ARGS, field: moment})
    assert name == field
    assert message.startswith("has a tzinfo whose utcoffset() fails")


def test_tzinfo_is_asked_for_its_offset_once() -> None:
    """The offset read is the one used, even from a tzinfo that changes its answer."""
    answers = iter([dt.timedelta(hours=2), ValueError("second call")])

    class Fickle(BadOffset):
        def utcoffset(self, _: dt.datetime | None) -> Any:
            answer = next(answers)
            if isinstance(answer, BaseException):
                raise answer
            return answer

    start = dt.datetime(2021, 3, 1, 23, 4, 4, tzinfo=Fickle(None))
    assert gig_body(**{**GIG_ARGS, "start_time": start})["startTime"] == "2021-03-01T21:04:04.000Z"


def test_tzinfo_returning_none_is_naive() -> None:
    """A tzinfo whose utcoffset() is None leaves the datetime naive."""
    moment = START.replace(tzinfo=BadOffset(None))
    assert errors_of(gig_body, **{**GIG_ARGS, "start_time": moment}) == [
        ("start_time", "must be timezone-aware")
    ]


# --- wait_until_active's arguments ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"timeout": "120"}, [("timeout", "must be a number of seconds, not str")]),
        ({"timeout": True}, [("timeout", "must be a number of seconds, not bool")]),
        ({"timeout": float("nan")}, [("timeout", "must be >= 0")]),
        ({"timeout": -1}, [("timeout", "must be >= 0")]),
        ({"timeout": 10**400}, [("timeout", "is too large to be a number of seconds")]),
        (
            {"poll_interval": float("inf")},
            [("poll_interval", "must be a finite number of seconds >= 0")],
        ),
        ({"poll_interval": None}, [("poll_interval", "must be a number of seconds, not NoneType")]),
        (
            {"partner_user_id": "\ud800", "timeout": None},
            [
                ("partner_user_id", NOT_UTF8),
                ("timeout", "must be a number of seconds, not NoneType"),
            ],
        ),
    ],
)
def test_wait_arguments_refused(changes: dict[str, object], errors: list[tuple[str, str]]) -> None:
    """Every bad wait argument is named, in argument order."""
    args: dict[str, object] = {"partner_user_id": "u", "timeout": 5, "poll_interval": 0.5}
    args.update(changes)
    identifier = args.pop("partner_user_id")
    with pytest.raises(ValidationError) as info:
        wait_arguments("partner_user_id", identifier, **args)  # type: ignore[arg-type]
    assert info.value.errors == errors


@pytest.mark.parametrize(("timeout", "poll_interval"), [(0, 0), (120.0, 1), (float("inf"), 0.001)])
def test_wait_arguments_accepted(timeout: float, poll_interval: float) -> None:
    """Zero, finite and infinite timeouts and a zero poll interval are fine."""
    wait_arguments("partner_user_id", "u", timeout=timeout, poll_interval=poll_interval)


# --- identifiers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "args", "field"),
    [
        (customer_body, CUSTOMER_ARGS, "partner_user_id"),
        (application_body, {"partner_user_id": "u"}, "partner_user_id"),
        (gig_body, GIG_ARGS, "partner_user_id"),
        (gig_body, GIG_ARGS, "gig_id"),
        (special_payment_body, SPECIAL_PAYMENT_ARGS, "partner_user_id"),
        (special_payment_body, SPECIAL_PAYMENT_ARGS, "gig_id"),
    ],
)
def test_identifiers_longer_than_the_limit_are_refused(
    builder: Callable[..., object], args: dict[str, Any], field: str
) -> None:
    """An identifier of 256 characters is refused; one of 255 is fine."""
    builder(**{**args, field: "i" * MAX_IDENTIFIER})
    assert errors_of(builder, **{**args, field: "i" * (MAX_IDENTIFIER + 1)}) == [
        (field, f"must be at most {MAX_IDENTIFIER} characters (got {MAX_IDENTIFIER + 1})")
    ]


def test_wire_check_refuses_long_identifiers() -> None:
    """The sandbox refuses the same identifiers as the client."""
    body = {**REFERENCE_GIG, "gigId": "g" * (MAX_IDENTIFIER + 1)}
    assert [field for field, _ in check_gig(body)] == ["gigId"]


def test_path_segment_refuses_ids_too_long_for_a_url() -> None:
    """A 100,000-character id is a ValidationError, not httpx's InvalidURL."""
    with pytest.raises(ValidationError) as info:
        path_segment("gig_id", "9" * 100_000)
    assert info.value.errors == [("gig_id", "must be at most 255 characters (got 100000)")]
