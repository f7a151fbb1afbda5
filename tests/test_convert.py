"""Tests of the cattrs converter: the reference's JSON <-> attrs models."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_async._codec.convert import (
    StructureError,
    camel,
    converter,
    format_datetime,
    format_money,
    make_converter,
    parse_datetime,
    strict_converter,
    structure,
    structure_list,
    unstructure,
)
from lean_async._endpoints.table import ENDPOINTS
from lean_async.models import (
    Application,
    ApplicationStatus,
    Customer,
    CustomerStatus,
    Gig,
    PaymentStatus,
    SpecialPayment,
    SpecialPaymentType,
)
from tests.reference import (
    REFERENCE_APPLICATION,
    REFERENCE_CREATED_CUSTOMER,
    REFERENCE_CUSTOMER,
    REFERENCE_GIG,
    REFERENCE_SPECIAL_PAYMENT,
)

FAST = settings(max_examples=150, deadline=None)
UTC = dt.UTC

MODELS: list[type[Any]] = list(dict.fromkeys(row.model for row in ENDPOINTS))
"""Every model an endpoint of the table answers with."""


def ms(
    year: int, month: int, day: int, hour: int, minute: int, second: int, milli: int
) -> dt.datetime:
    """Return a UTC datetime from its parts, down to milliseconds."""
    return dt.datetime(year, month, day, hour, minute, second, milli * 1000, tzinfo=UTC)


# --- the reference's examples -----------------------------------------------------------


@pytest.mark.parametrize("conv", [converter, strict_converter])
def test_reference_customer(conv: Any) -> None:
    """The reference's customer example becomes a Customer, even under the strict twin."""
    customer = structure(REFERENCE_CUSTOMER, Customer, conv=conv)
    assert customer == Customer(
        partner_user_id="uid_444444444",
        first_name="Jane",
        last_name="Doe",
        birthday=dt.date(1980, 1, 1),
        phone_number="4088888888",
        email="janedoesit@example.com",
        street="45 Merryweather Lane",
        city="San Francisco",
        state="CA",
        postal_code="94110",
        registration_date=dt.date(2020, 6, 30),
        status=CustomerStatus.ACTIVE,
        middle_name=None,
        street2=None,
        created_at=ms(2021, 4, 1, 18, 1, 50, 739),
        updated_at=ms(2021, 4, 4, 22, 6, 1, 766),
    )


def test_reference_created_customer() -> None:
    """The create response is a PENDING customer with dates as dates."""
    customer = structure(REFERENCE_CREATED_CUSTOMER, Customer, conv=strict_converter)
    assert customer.status is CustomerStatus.PENDING
    assert customer.birthday == dt.date(1980, 12, 31)
    assert customer.registration_date == dt.date(2020, 1, 1)
    assert customer.created_at == ms(2021, 4, 1, 19, 53, 36, 869)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (REFERENCE_APPLICATION, ApplicationStatus.SUBMITTED),
        ({"status": "submitted", "partnerUserId": "uid_847834395730535"}, "submitted"),
        ({**REFERENCE_APPLICATION, "status": "APPROVED"}, ApplicationStatus.APPROVED),
    ],
)
def test_reference_application(body: dict[str, Any], status: Any) -> None:
    """The reference's application examples become Applications."""
    application = structure(body, Application, conv=strict_converter)
    assert application == Application(partner_user_id="uid_847834395730535", status=status)
    assert isinstance(application.status, ApplicationStatus)


def test_reference_gig() -> None:
    """The reference's gig response: Decimals, offset-less times read as UTC, no user id."""
    gig = structure(REFERENCE_GIG, Gig, conv=strict_converter)
    assert gig == Gig(
        id="uid_847834395730535",
        gig_id="gigId_94792357823953532",
        description="Gig Payout",
        total_amount=Decimal("15.00"),
        tips=Decimal("3.00"),
        expenses=Decimal("2.00"),
        start_time=dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC),
        end_time=dt.datetime(2021, 3, 1, 21, 31, 5, tzinfo=UTC),
        status=PaymentStatus.PENDING,
        invoice_id="invoice_5dSpWwt5aX2nAR8kBA0Xs",
        created_at=ms(2021, 4, 1, 19, 58, 11, 651),
        updated_at=ms(2021, 4, 1, 19, 58, 11, 651),
    )
    assert gig.partner_user_id is None
    assert isinstance(gig.total_amount, Decimal)
    assert gig.start_time.tzinfo is UTC


def test_reference_special_payment() -> None:
    """The reference's special payment response becomes a SpecialPayment."""
    payment = structure(REFERENCE_SPECIAL_PAYMENT, SpecialPayment, conv=strict_converter)
    assert payment == SpecialPayment(
        id="special_payment_9384127512",
        partner_user_id="uid_847834395730535",
        amount=Decimal("4.56"),
        type=SpecialPaymentType.REIMBURSEMENT,
        status=PaymentStatus.PENDING,
        description="Parking receipt from 3/1/2021",
        gig_id="gigId_94792357823953532",
        userdata={"receiptId": "receipt_4242551"},
        invoice_id="invoice_3957103571",
        created_at=ms(2021, 4, 13, 2, 53, 37, 341),
        updated_at=ms(2021, 4, 13, 2, 53, 37, 341),
    )


def test_reference_list_of_gigs() -> None:
    """A JSON array of gigs becomes a list of Gig."""
    gigs = structure_list([REFERENCE_GIG, {**REFERENCE_GIG, "id": "g2"}], Gig)
    assert [gig.id for gig in gigs] == ["uid_847834395730535", "g2"]
    assert structure_list([], Gig) == []


# --- enums ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["PENDING", "pending", "Pending"])
def test_status_is_case_insensitive(status: str) -> None:
    """Every spelling of pending becomes PaymentStatus.PENDING."""
    gig = structure({**REFERENCE_GIG, "status": status}, Gig)
    assert gig.status is PaymentStatus.PENDING


@pytest.mark.parametrize(
    ("model", "body", "field", "value", "member"),
    [
        (Customer, REFERENCE_CUSTOMER, "status", "inactive", CustomerStatus.INACTIVE),
        (SpecialPayment, REFERENCE_SPECIAL_PAYMENT, "type", "Wait Time", "wait time"),
        (SpecialPayment, REFERENCE_SPECIAL_PAYMENT, "status", "success", PaymentStatus.SUCCESS),
    ],
)
def test_other_enums_are_case_insensitive(
    model: type[Any], body: dict[str, Any], field: str, value: str, member: object
) -> None:
    """Customer status, special payment type and status ignore case too."""
    obj = structure({**body, field: value}, model)
    assert getattr(obj, field) == member
    assert type(getattr(obj, field)) is not str


@pytest.mark.parametrize("status", ["REFUNDED", "on_hold", ""])
def test_unknown_enum_value_is_kept_as_string(status: str) -> None:
    """A status the SDK does not know stays the plain string instead of failing."""
    gig = structure({**REFERENCE_GIG, "status": status}, Gig)
    assert gig.status == status
    assert type(gig.status) is str
    payment = structure({**REFERENCE_SPECIAL_PAYMENT, "type": "tip"}, SpecialPayment)
    assert payment.type == "tip"


def test_enum_that_is_not_a_string_fails() -> None:
    """A number where a status belongs is a StructureError at $.status."""
    with pytest.raises(StructureError) as info:
        structure({**REFERENCE_GIG, "status": 1}, Gig)
    assert info.value.path == "$.status"


# --- extra fields -----------------------------------------------------------------------


def test_extra_fields_are_tolerated_by_the_lenient_converter() -> None:
    """Fields the SDK does not know yet do not break parsing."""
    gig = structure({**REFERENCE_GIG, "partnerUserId": "u", "newField": [1], "x.y_z": 1}, Gig)
    assert gig.partner_user_id == "u"


def test_extra_fields_are_rejected_by_the_strict_converter() -> None:
    """The strict twin names the unknown field, spelled as the body spelled it."""
    with pytest.raises(StructureError) as info:
        structure({**REFERENCE_GIG, "new_field.some_part": 1}, Gig, conv=strict_converter)
    assert info.value.path == "$"
    assert "new_field.some_part" in str(info.value)


def test_make_converter_builds_independent_converters() -> None:
    """make_converter returns a new, configured converter each time."""
    conv = make_converter(forbid_extra_keys=True)
    assert conv is not strict_converter
    with pytest.raises(StructureError):
        structure({**REFERENCE_APPLICATION, "extra": 1}, Application, conv=conv)
    assert (
        structure(REFERENCE_APPLICATION, Application, conv=make_converter()).status == "submitted"
    )


# --- times, dates, money ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-03-01T21:04:04", dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC)),
        ("2021-03-01T21:04:04.123Z", ms(2021, 3, 1, 21, 4, 4, 123)),
        ("2021-03-01T23:04:04+02:00", dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC)),
        ("2021-03-01T16:04:04-05:00", dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_utc(text: str, expected: dt.datetime) -> None:
    """Timestamps come back in UTC; one without an offset is read as UTC."""
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "0001-01-01T00:00:00+01:00", ""])
def test_parse_datetime_raises_only_value_error(text: str) -> None:
    """A bad or out-of-range timestamp is a ValueError, never an OverflowError."""
    with pytest.raises(ValueError, match=r"."):
        parse_datetime(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2021, 3, 1, 21, 4, 4, tzinfo=UTC), "2021-03-01T21:04:04.000Z"),
        (dt.datetime(2021, 3, 1, 21, 4, 4, 123999, tzinfo=UTC), "2021-03-01T21:04:04.123Z"),
        (
            dt.datetime(2021, 3, 1, 23, 4, 4, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2021-03-01T21:04:04.000Z",
        ),
        (dt.datetime(5, 1, 1, tzinfo=UTC), "0005-01-01T00:00:00.000Z"),
    ],
)
def test_format_datetime(value: dt.datetime, text: str) -> None:
    """Aware datetimes go out as UTC with milliseconds and a Z, years padded to four."""
    assert format_datetime(value) == text


def test_format_datetime_refuses_naive() -> None:
    """A naive datetime is refused rather than read in the machine's zone."""
    naive = dt.datetime(2021, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        format_datetime(naive)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("15"), "15.00"),
        (Decimal("15.5"), "15.50"),
        (Decimal("-4.56"), "-4.56"),
        (Decimal("1.500"), "1.50"),
        (Decimal("1E+2"), "100.00"),
        (Decimal("-0.00"), "0.00"),
        (Decimal("0E-9"), "0.00"),
        (Decimal("9" * 40 + ".99"), "9" * 40 + ".99"),
    ],
)
def test_format_money(amount: Decimal, text: str) -> None:
    """Money goes out with exactly two decimals, never as -0.00, at any size."""
    assert format_money(amount) == text


@settings(max_examples=300, deadline=None)
@given(amount=st.decimals(allow_nan=False, allow_infinity=False))
def test_format_money_agrees_with_quantizing(amount: Decimal) -> None:
    """Whether or not the amount is already in cents, the text is its quantized value."""
    exact = Decimal(10) ** -2
    context = decimal.Context(prec=max(amount.adjusted() + 4, 1), Emax=decimal.MAX_EMAX)
    expected = format(amount.quantize(exact, context=context), "f")
    assert format_money(amount) == ("0.00" if expected == "-0.00" else expected)


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_format_money_refuses_non_finite(amount: str) -> None:
    """NaN and infinities are not amounts."""
    with pytest.raises(ValueError, match="finite"):
        format_money(Decimal(amount))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15.00", Decimal("15.00")),
        ("-4.56", Decimal("-4.56")),
        (15, Decimal(15)),
        (0.1, Decimal("0.1")),
    ],
)
def test_money_is_read_as_decimal(value: object, expected: Decimal) -> None:
    """Money becomes an exact Decimal; a JSON number is read by its decimal text."""
    gig = structure({**REFERENCE_GIG, "tips": value}, Gig)
    assert isinstance(gig.tips, Decimal)
    assert gig.tips == expected
    assert str(gig.tips) == str(expected)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("totalAmount", "fifteen", "$.totalAmount"),
        ("totalAmount", "NaN", "$.totalAmount"),
        ("totalAmount", "Infinity", "$.totalAmount"),
        ("totalAmount", True, "$.totalAmount"),
        ("totalAmount", None, "$.totalAmount"),
        ("tips", ["3.00"], "$.tips"),
        ("startTime", 1614632644, "$.startTime"),
        ("startTime", "not a time", "$.startTime"),
        ("endTime", "0001-01-01T00:00:00+01:00", "$.endTime"),
        ("gigId", 5, "$.gigId"),
        ("invoiceId", {"id": 1}, "$.invoiceId"),
    ],
)
def test_bad_field_gives_its_camel_case_path(field: str, value: object, path: str) -> None:
    """A bad field raises StructureError whose path spells the field as the JSON does."""
    with pytest.raises(StructureError) as info:
        structure({**REFERENCE_GIG, field: value}, Gig)
    assert info.value.path == path
    assert info.value.problems[0].endswith(f" @ {path}")


@pytest.mark.parametrize(
    ("model", "body", "field", "value", "path"),
    [
        (Customer, REFERENCE_CUSTOMER, "birthday", 19800101, "$.birthday"),
        (Customer, REFERENCE_CUSTOMER, "registrationDate", "2020-13-01", "$.registrationDate"),
        (Customer, REFERENCE_CUSTOMER, "postalCode", 94110, "$.postalCode"),
        (SpecialPayment, REFERENCE_SPECIAL_PAYMENT, "userdata", ["r"], "$.userdata"),
        (SpecialPayment, REFERENCE_SPECIAL_PAYMENT, "partnerUserId", None, "$.partnerUserId"),
    ],
)
def test_bad_field_of_other_models(
    model: type[Any], body: dict[str, Any], field: str, value: object, path: str
) -> None:
    """Dates, strings and userdata of the other models are checked with paths too."""
    with pytest.raises(StructureError) as info:
        structure({**body, field: value}, model)
    assert info.value.path == path


def test_missing_field_is_reported_by_its_json_name() -> None:
    """A missing required field is named as the API spells it."""
    body = {k: v for k, v in REFERENCE_SPECIAL_PAYMENT.items() if k != "partnerUserId"}
    with pytest.raises(StructureError) as info:
        structure(body, SpecialPayment)
    assert info.value.path == "$.partnerUserId"
    assert "required field missing @ $.partnerUserId" in info.value.problems


def test_every_problem_is_listed() -> None:
    """All bad fields are listed, the first one's path on .path."""
    with pytest.raises(StructureError) as info:
        structure({**REFERENCE_GIG, "totalAmount": "x", "status": 3}, Gig)
    assert info.value.path == "$.totalAmount"
    assert [p.rpartition(" @ ")[2] for p in info.value.problems] == ["$.totalAmount", "$.status"]
    assert str(info.value) == "; ".join(info.value.problems)


def test_bad_item_of_a_list_gives_its_index() -> None:
    """A bad item in an array is reported as ``$[index].field``."""
    with pytest.raises(StructureError) as info:
        structure_list([REFERENCE_GIG, {**REFERENCE_GIG, "status": None}], Gig)
    assert info.value.path == "$[1].status"


@pytest.mark.parametrize("data", [REFERENCE_GIG, None, "[]", 3, {"items": []}])
def test_structure_list_of_a_non_list(data: object) -> None:
    """Anything but a JSON array is a StructureError at $."""
    with pytest.raises(StructureError) as info:
        structure_list(data, Gig)
    assert info.value.path == "$"
    assert "expected a JSON array" in str(info.value)


@pytest.mark.parametrize("data", [None, [], "gig", 3.5])
def test_structure_of_a_non_object(data: object) -> None:
    """Anything but a JSON object is a StructureError at $."""
    with pytest.raises(StructureError) as info:
        structure(data, Gig)
    assert info.value.path == "$"


# --- unstructure ------------------------------------------------------------------------


def test_unstructure_gives_the_api_json() -> None:
    """Models go out camelCase with money as strings, enums as values and UTC times."""
    payment = structure(REFERENCE_SPECIAL_PAYMENT, SpecialPayment)
    assert unstructure(payment) == {
        **REFERENCE_SPECIAL_PAYMENT,
        "createdAt": "2021-04-13T02:53:37.341Z",
        "updatedAt": "2021-04-13T02:53:37.341Z",
    }
    customer = unstructure(structure(REFERENCE_CUSTOMER, Customer))
    assert customer == REFERENCE_CUSTOMER


def test_unstructure_keeps_unknown_enum_strings() -> None:
    """An unknown status kept as a string goes back out unchanged."""
    gig = structure({**REFERENCE_GIG, "status": "REFUNDED"}, Gig)
    assert unstructure(gig)["status"] == "REFUNDED"


@pytest.mark.parametrize(
    ("name", "json_name"),
    [("partner_user_id", "partnerUserId"), ("street2", "street2"), ("id", "id")],
)
def test_camel(name: str, json_name: str) -> None:
    """snake_case attribute names map to the API's camelCase."""
    assert camel(name) == json_name


# --- properties -------------------------------------------------------------------------

TEXT = st.text(max_size=20)
OPTIONAL_TEXT = st.none() | TEXT
MONEY = st.decimals(places=2, allow_nan=False, allow_infinity=False)
ZONES = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
TIMES = st.datetimes(
    # Naive bounds, as hypothesis wants; a year away from the ends so any offset fits UTC.
    min_value=dt.datetime(2, 1, 1, tzinfo=UTC).replace(tzinfo=None),
    max_value=dt.datetime(9998, 12, 31, tzinfo=UTC).replace(tzinfo=None),
    timezones=ZONES,
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))  # the wire keeps ms
OPTIONAL_TIMES = st.none() | TIMES
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def open_enum(enum_cls: Any) -> st.SearchStrategy[Any]:
    """Draw a member of *enum_cls* or a string that is none of its values."""

    def unknown(text: str) -> bool:
        try:
            enum_cls(text)
        except ValueError:
            return True
        return False

    return st.sampled_from(enum_cls) | TEXT.filter(unknown)


STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    Customer: st.builds(
        Customer,
        partner_user_id=TEXT,
        first_name=TEXT,
        last_name=TEXT,
        birthday=st.dates(),
        phone_number=TEXT,
        email=TEXT,
        street=TEXT,
        city=TEXT,
        state=TEXT,
        postal_code=TEXT,
        registration_date=st.dates(),
        status=open_enum(CustomerStatus),
        middle_name=OPTIONAL_TEXT,
        street2=OPTIONAL_TEXT,
        created_at=OPTIONAL_TIMES,
        updated_at=OPTIONAL_TIMES,
    ),
    Application: st.builds(Application, partner_user_id=TEXT, status=open_enum(ApplicationStatus)),
    Gig: st.builds(
        Gig,
        id=TEXT,
        gig_id=TEXT,
        description=TEXT,
        total_amount=MONEY,
        tips=MONEY,
        expenses=MONEY,
        start_time=TIMES,
        end_time=TIMES,
        status=open_enum(PaymentStatus),
        partner_user_id=OPTIONAL_TEXT,
        invoice_id=OPTIONAL_TEXT,
        created_at=OPTIONAL_TIMES,
        updated_at=OPTIONAL_TIMES,
    ),
    SpecialPayment: st.builds(
        SpecialPayment,
        id=TEXT,
        partner_user_id=TEXT,
        amount=MONEY,
        type=open_enum(SpecialPaymentType),
        status=open_enum(PaymentStatus),
        description=OPTIONAL_TEXT,
        gig_id=OPTIONAL_TEXT,
        userdata=st.none() | st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
        invoice_id=OPTIONAL_TEXT,
        created_at=OPTIONAL_TIMES,
        updated_at=OPTIONAL_TIMES,
    ),
}


@pytest.mark.parametrize("model", MODELS)
@FAST
@given(data=st.data())
def test_round_trip(model: type[Any], data: st.DataObject) -> None:
    """unstructure then structure (strictly) gives back an equal model."""
    obj = data.draw(STRATEGIES[model])
    json_obj = unstructure(obj)
    assert set(json_obj) == {camel(field.name) for field in attrs.fields(model)}
    assert structure(json_obj, model, conv=strict_converter) == obj


def _json_for(model: type[Any]) -> st.SearchStrategy[Any]:
    """Draw JSON objects with the model's keys and arbitrary or near-miss values."""
    near = st.sampled_from(
        [
            "15.00",
            "NaN",
            "1e999999",
            "2021-03-01",
            "2021-03-01T21:04:04",
            "0001-01-01T00:00:00+01:00",
            "PENDING",
        ]
    )
    keys = st.sampled_from([camel(field.name) for field in attrs.fields(model)])
    return st.dictionaries(keys, near | JSON_VALUES | st.floats())


@pytest.mark.parametrize("model", MODELS)
@FAST
@given(data=st.data())
def test_parsing_raises_only_structure_error(model: type[Any], data: st.DataObject) -> None:
    """Any JSON becomes the model or raises StructureError, never anything else."""
    body = data.draw(JSON_VALUES | _json_for(model))
    try:
        obj = structure(body, model)
    except StructureError as exc:
        error = exc
    else:
        assert isinstance(obj, model)
        return
    assert error.path.startswith("$")
    assert error.problems


# --- the fast path agrees with the detailed converter -----------------------------------

NEAR_MISS_VALUES: list[object] = [
    "15.00",
    " 15.00 ",
    "1_000.50",
    "1e3",
    "-0.00",
    "nan",
    "-Infinity",
    "2021-03-01T21:04:04.123Z",
    "2021-03-01T21:04:04+00:00",
    "2021-03-01T23:04:04+02:00",
    "2021-03-01T21:04:04",
    "0001-01-01T00:00:00+01:00",
    "2021-03-01",
    "20210301",
    "PENDING",
    "pending",
    "Wait Time",
    "APPROVED",
    "",
    15,
    0.1,
    True,
    None,
    [],
    {},
]
NEAR_MISSES = st.sampled_from(NEAR_MISS_VALUES)
REFERENCE_BODIES: dict[type[Any], dict[str, Any]] = {
    Customer: REFERENCE_CUSTOMER,
    Application: REFERENCE_APPLICATION,
    Gig: REFERENCE_GIG,
    SpecialPayment: REFERENCE_SPECIAL_PAYMENT,
}
_MISSING = object()


def _outcome(build: Any) -> tuple[str, Any]:
    """Return ("ok", each field's type and repr) or ("error", None) for *build*()."""
    try:
        obj = build()
    except Exception:  # any failure of either path counts as a failure
        return ("error", None)
    return ("ok", [(type(v), repr(v)) for v in attrs.astuple(obj, recurse=False)])


@pytest.mark.parametrize("conv", [converter, strict_converter])
@pytest.mark.parametrize("model", MODELS)
def test_structure_agrees_field_by_field(conv: Any, model: type[Any]) -> None:
    """Every near-miss value (or absence) of every field is built or refused as cattrs does."""
    mismatches = []
    for key in [*REFERENCE_BODIES[model], "extraField"]:
        for value in [*NEAR_MISS_VALUES, _MISSING]:
            body = {k: v for k, v in REFERENCE_BODIES[model].items() if k != key}
            if value is not _MISSING:
                body[key] = value
            expected = _outcome(lambda b=body: conv.structure(b, model))
            if _outcome(lambda b=body: structure(b, model, conv=conv)) != expected:
                mismatches.append((key, value))
            if _outcome(lambda b=body: structure_list([b], model, conv=conv)[0]) != expected:
                mismatches.append((key, value, "in a list"))
    assert mismatches == []


@pytest.mark.parametrize("conv", [converter, strict_converter])
@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_structure_agrees_with_the_detailed_converter(
    conv: Any, model: type[Any], data: st.DataObject
) -> None:
    """`structure` builds exactly what cattrs' detailed converter builds, or fails with it."""
    body = unstructure(data.draw(STRATEGIES[model]))
    keys = [*sorted(body), "extraField"]
    for key in data.draw(st.lists(st.sampled_from(keys), max_size=3)):
        body[key] = data.draw(NEAR_MISSES | JSON_VALUES)
    for key in data.draw(st.lists(st.sampled_from(keys), max_size=2)):
        body.pop(key, None)
    expected = _outcome(lambda: conv.structure(body, model))
    assert _outcome(lambda: structure(body, model, conv=conv)) == expected
    assert _outcome(lambda: structure_list([body], model, conv=conv)[0]) == expected


@attrs.frozen(kw_only=True)
class GigWithTags:
    """A model of shapes the fast path leaves to cattrs: a nested model and a tuple."""

    gig: Gig
    tags: tuple[str, ...] = ()


def test_a_model_the_fast_path_does_not_know_is_still_built() -> None:
    """Nested models and tuples go through the detailed converter, paths and all."""
    wrapper = structure({"gig": REFERENCE_GIG, "tags": ["a"]}, GigWithTags)
    assert wrapper == GigWithTags(gig=structure(REFERENCE_GIG, Gig), tags=("a",))
    assert structure_list([{"gig": REFERENCE_GIG}], GigWithTags)[0].tags == ()
    with pytest.raises(StructureError) as info:
        structure({"gig": {**REFERENCE_GIG, "tips": "x"}}, GigWithTags)
    assert info.value.path == "$.gig.tips"


@attrs.frozen(kw_only=True)
class CheckedAmount:
    """A model whose construction runs code: a validator and a post-init hook."""

    amount: Decimal = attrs.field(validator=attrs.validators.gt(Decimal(0)))
    label: str
    seen: list[str] = attrs.field(factory=list, init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.seen.append("post-init")


@attrs.frozen(kw_only=True, cache_hash=True)
class HashedLabel:
    """A model with a cached hash, whose hidden slot only ``__init__`` fills."""

    label: str


def test_a_model_whose_init_runs_code_is_built_through_init() -> None:
    """The fast path only skips ``__init__`` when it would do nothing but set the fields."""
    assert structure({"label": "x"}, HashedLabel) == HashedLabel(label="x")
    assert hash(structure({"label": "x"}, HashedLabel)) == hash(HashedLabel(label="x"))
    built = structure({"amount": "1.50", "label": "x"}, CheckedAmount)
    assert built.seen == ["post-init"]
    with pytest.raises(StructureError):
        structure({"amount": "-1.00", "label": "x"}, CheckedAmount)


def test_a_model_built_by_the_fast_path_is_a_whole_model() -> None:
    """Equality, hashing, evolve, repr and pickling of a fast-built model all work."""
    import pickle

    gigs = structure_list([REFERENCE_GIG, REFERENCE_GIG], Gig)
    assert gigs[0] == gigs[1] == conv_structure_detailed(REFERENCE_GIG)
    assert hash(gigs[0]) == hash(conv_structure_detailed(REFERENCE_GIG))
    assert pickle.loads(pickle.dumps(gigs[0])) == gigs[0]  # noqa: S301 - our own bytes
    assert attrs.evolve(gigs[0], tips=Decimal("0.00")).tips == Decimal("0.00")
    assert repr(gigs[0]) == repr(conv_structure_detailed(REFERENCE_GIG))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        gigs[0].tips = Decimal(0)  # type: ignore[misc]


def conv_structure_detailed(body: dict[str, Any]) -> Gig:
    """Build a `Gig` through cattrs' detailed converter, past the fast path."""
    return converter.structure(body, Gig)
