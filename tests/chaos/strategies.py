"""Hypothesis strategies for hostile inputs and hostile server answers."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from hypothesis import strategies as st

from tests.reference import (
    REFERENCE_APPLICATION,
    REFERENCE_CREATED_CUSTOMER,
    REFERENCE_GIG,
    REFERENCE_SPECIAL_PAYMENT,
)

__all__ = [
    "ABSENT",
    "VALID_CUSTOMER",
    "VALID_GIG",
    "VALID_SPECIAL_PAYMENT",
    "WILD_VALUES",
    "any_text",
    "anything",
    "call_kwargs",
    "identifiers",
    "json_values",
    "response_bodies",
    "retry_after_values",
    "statuses",
    "to_json_bytes",
]

_START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
VALID_CUSTOMER: Final[Mapping[str, Any]] = {
    "partner_user_id": "uid_1",
    "first_name": "Jane",
    "last_name": "Doe",
    "birthday": dt.date(1980, 12, 31),
    "phone_number": "4085008000",
    "email": "jane@example.com",
    "street": "700 Treehouse Drive",
    "city": "San Jose",
    "state": "CA",
    "postal_code": "95101",
    "registration_date": dt.date(2020, 1, 1),
}
VALID_GIG: Final[Mapping[str, Any]] = {
    "partner_user_id": "uid_1",
    "gig_id": "gig_1",
    "total_amount": "15.00",
    "tips": "3.00",
    "expenses": "2.00",
    "description": "SFO Airport to 410 Market Street",
    "start_time": _START,
    "end_time": _START + dt.timedelta(minutes=40),
}
VALID_SPECIAL_PAYMENT: Final[Mapping[str, Any]] = {
    "partner_user_id": "uid_1",
    "amount": "4.56",
    "type": "reimbursement",
}


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
"""Marks an optional argument left out of the call."""


class DeepDict(dict[str, Any]):
    """A dict nested *depth* levels deep, with a short repr (a plain repr would recurse)."""

    def __init__(self, depth: int) -> None:
        inner: dict[str, Any] = functools.reduce(lambda acc, _: {"a": acc}, range(depth), {})
        super().__init__(a=inner)
        self.depth = depth

    def __repr__(self) -> str:
        return f"DeepDict(depth={self.depth})"


_surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4)
any_text = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8")),
    _surrogates,
    st.builds(lambda a, b: a + b, st.text(max_size=5), _surrogates),
    st.text(st.characters(min_codepoint=0, max_codepoint=31)),
    st.text(min_size=30, max_size=300),
)
_offsets = st.builds(
    dt.timezone,
    st.timedeltas(min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23)),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18),
    st.floats(),
    st.decimals(),
    st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-0.00")]),
    any_text,
    st.binary(max_size=20),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=_offsets),
    st.times(),
    st.timedeltas(),
    st.builds(object),
)
anything = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=8), _surrogates), inner, max_size=3),
        st.dictionaries(st.integers(), inner, max_size=2),
    ),
    max_leaves=6,
)
"""Any Python value a caller could pass by mistake."""

_money = st.one_of(
    st.decimals(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(),
    st.from_regex(r"-?\d{0,9}(\.\d{0,4})?([eE][-+]?\d{1,5})?", fullmatch=True),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-0",
            "1_000.00",
            " 15.00 ",
            "\u0661\u0665.\u0660\u0660",
            "0x10",
            "1e999999",
        ]
    ),
)
_times = st.one_of(st.datetimes(), st.datetimes(timezones=_offsets), st.dates(), any_text)
_dates = st.one_of(st.dates(), st.datetimes(), any_text)
_userdata = st.one_of(
    anything,
    st.dictionaries(st.text(max_size=8), anything, max_size=4),
    st.integers(min_value=1_000, max_value=20_000).map(DeepDict),
    st.just({"n": float("nan")}),
    st.just({"big": 10**5000}),
)
WILD_VALUES: Final[Mapping[str, st.SearchStrategy[Any]]] = {
    "partner_user_id": any_text,
    "gig_id": any_text,
    "first_name": any_text,
    "middle_name": st.one_of(any_text, st.just(ABSENT)),
    "last_name": any_text,
    "birthday": _dates,
    "phone_number": st.one_of(any_text, st.from_regex(r"\d{7,12}", fullmatch=True)),
    "email": any_text,
    "street": any_text,
    "street2": st.one_of(any_text, st.just(ABSENT)),
    "city": any_text,
    "state": st.one_of(any_text, st.sampled_from(["ca", "ZZ", "C A", "CA\n"])),
    "postal_code": st.one_of(any_text, st.from_regex(r"\d{5}(-\d{4})?", fullmatch=True)),
    "registration_date": _dates,
    "total_amount": _money,
    "tips": _money,
    "expenses": _money,
    "amount": _money,
    "description": any_text,
    "start_time": _times,
    "end_time": _times,
    "type": st.one_of(any_text, st.sampled_from(["BONUS", "wait time", "wait_time", "other"])),
    "userdata": st.one_of(_userdata, st.just(ABSENT)),
    "idempotency_key": st.one_of(any_text, st.just(ABSENT)),
}


@st.composite
def call_kwargs(draw: st.DrawFn, valid: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """A valid call's keyword arguments with up to three of *names* replaced by wild values.

    A replaced argument gets anything at all, or something close to valid (unicode,
    surrogates, control characters, odd money strings, naive datetimes, deep userdata).
    """
    kwargs = dict(valid)
    for name in draw(st.sets(st.sampled_from(names), max_size=3)):
        value = draw(st.one_of(WILD_VALUES[name], anything))
        if value is ABSENT:
            kwargs.pop(name, None)
        else:
            kwargs[name] = value
    return kwargs


identifiers = st.one_of(any_text, anything, st.sampled_from(["..", ".", "../gig", "a/b", "%2F"]))
"""Identifiers for get()/submit(): path tricks, unicode, surrogates, non-strings."""

_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
json_values = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
_REFERENCE_OBJECTS: Final = (
    REFERENCE_CREATED_CUSTOMER,
    REFERENCE_APPLICATION,
    REFERENCE_GIG,
    REFERENCE_SPECIAL_PAYMENT,
)


@st.composite
def _mutated_object(draw: st.DrawFn) -> dict[str, Any]:
    obj = dict(draw(st.sampled_from(_REFERENCE_OBJECTS)))
    for key in draw(st.sets(st.sampled_from(sorted(obj)), max_size=3)):
        if draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = draw(
                st.one_of(
                    json_values,
                    st.sampled_from(["", "NaN", "1e999999", "pending", "2021-13-45T99:99:99"]),
                )
            )
    obj.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=2)))
    return obj


def to_json_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


def _deep_json(depth: int, *, wrap: bool) -> bytes:
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    if not wrap:
        return b"[" * depth + b"]" * depth
    gig = json.dumps(REFERENCE_SPECIAL_PAYMENT).encode()
    return gig[:-1] + b', "userdata": ' + nested + b"}"


response_bodies = st.one_of(
    _mutated_object().map(to_json_bytes),
    st.lists(_mutated_object(), max_size=3).map(to_json_bytes),
    json_values.map(to_json_bytes),
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda t: t.encode("utf-8")),
    st.builds(_deep_json, st.integers(min_value=500, max_value=50_000), wrap=st.booleans()),
    st.sampled_from(
        [
            b"",
            b"null",
            b"NaN",
            b'{"message": null}',
            b'{"errors": [{"message": 1}, "x", null]}',
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            b'{"totalAmount": 1e999999}',
            b"\xff\xfe{\x00}\x00",
        ]
    ),
)
"""Bodies a broken or hostile server could send."""

statuses = st.one_of(
    st.sampled_from([200, 201, 204, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]),
    st.integers(min_value=200, max_value=599),
)
retry_after_values = st.one_of(
    st.none(),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.sampled_from(
        ["0", "-1", "1e9", "nan", "inf", "Wed, 21 Oct 2015 07:28:00 GMT", "99999999999"]
    ),
)
