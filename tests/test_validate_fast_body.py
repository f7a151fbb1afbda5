"""The compiled body of each endpoint against the reference route it shortcuts.

`Endpoint.body` runs a function generated from the request model
(`lean_async._codec.bodies`); `Endpoint._checked_body` builds the checked model and
unstructures it through the converter. For any arguments, both must give the same body
(same keys in the same order, so the same bytes on the wire) or the same
`ValidationError`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lean_async._codec.bodies import compile_body
from lean_async._codec.convert import format_datetime, format_money
from lean_async._codec.wire import _ENCODER, _encode
from lean_async._endpoints.requests import GIG
from lean_async._endpoints.rules.base import Invalid
from lean_async._endpoints.rules.body import Endpoint
from lean_async._endpoints.rules.money import _cents, _money_string
from lean_async.errors import ValidationError
from tests.garbage import ANYTHING
from tests.test_validate import DECLARED, GIG_ARGS, _loosen, strategy_of

FAST = settings(max_examples=200, deadline=None)


def _outcome(endpoint: Endpoint[Any], args: dict[str, Any], *, fast: bool) -> object:
    try:
        body = endpoint.body(args) if fast else endpoint._checked_body(args)
    except ValidationError as exc:
        return ("error", exc.errors)
    return ("body", list(body.items()), _encode(body))


@pytest.mark.parametrize("endpoint", DECLARED, ids=repr)
@FAST
@given(data=st.data())
def test_the_compiled_body_is_the_reference_body(
    endpoint: Endpoint[Any], data: st.DataObject
) -> None:
    """Valid, broken or garbage arguments: the same body, key order and bytes, or error.

    Every request declaration of the endpoint table is compared (`DECLARED`).
    """
    strategy = strategy_of(endpoint)
    args = data.draw(strategy if data.draw(st.booleans()) else _loosen(strategy))
    for name in endpoint.beside_names:  # e.g. the special payment's idempotency_key
        args[name] = data.draw(st.none() | st.text(max_size=3) | ANYTHING)
    assert _outcome(endpoint, args, fast=True) == _outcome(endpoint, args, fast=False)


def test_a_cross_field_rule_sends_the_call_to_the_reference() -> None:
    """Parts above the total are reported by the reference, with every other problem."""
    args = {**GIG_ARGS, "tips": "20.00", "description": " "}
    with pytest.raises(ValidationError) as info:
        GIG.body(args)
    assert [field for field, _ in info.value.errors] == ["total_amount", "description"]


def test_a_missing_argument_is_a_key_error_on_both_routes() -> None:
    """The resources pass every argument; a missing one is a bug, not a rule."""
    args = dict(GIG_ARGS)
    del args["tips"]
    with pytest.raises(KeyError):
        GIG.body(args)
    with pytest.raises(KeyError):
        GIG._checked_body(args)


def test_compiling_checks_the_rows_name_model_fields() -> None:
    """A row for a field the model lacks is refused when the endpoint is built."""
    rows = [("nope", "nope", str, True)]
    with pytest.raises(ValueError, match="no field 'nope'"):
        compile_body(GIG.model, rows, [], [], lambda _: str, GIG._checked_body)


# -- the shortcuts the compiled body relies on ----------------------------------------------

MONEY_TEXT = st.from_regex(r"-?[0-9]{1,9}\.[0-9]{2}", fullmatch=True)


@FAST
@given(MONEY_TEXT)
def test_plain_cents_text_reads_as_the_checked_amount(text: str) -> None:
    """A "15.00"-shaped string is the amount the full check reads, digit for digit."""
    assert _money_string(text).as_tuple() == _cents(Decimal(text)).as_tuple()


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.5", Decimal("1.50")),
        ("1.500", Decimal("1.50")),
        ("0015.00", Decimal("15.00")),
        ("1000000000.00", None),
        ("1e2", None),
        ("\u0663.00", None),  # an Arabic-Indic digit: Decimal reads it, the API does not
        (" 1.00", None),
        ("1.001", None),
    ],
)
def test_other_amount_text_takes_the_full_check(text: str, amount: Decimal | None) -> None:
    """Anything not shaped "15.00" is read, or refused, by the full check."""
    if amount is None:
        with pytest.raises(Invalid):
            _money_string(text)
    else:
        assert _money_string(text).as_tuple() == amount.as_tuple()


UTC_TIMES = st.datetimes(timezones=st.just(dt.UTC))


@FAST
@given(UTC_TIMES)
def test_utc_timestamps_format_as_isoformat_does(value: dt.datetime) -> None:
    """The UTC shortcut writes what isoformat(timespec="milliseconds") writes, with Z."""
    expected = value.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"
    assert format_datetime(value) == expected
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expected)


@FAST
@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9))
def test_money_formats_as_before(amount: Decimal) -> None:
    """Two decimals, never "-0.00", whatever the amount's exponent."""
    text = format_money(amount)
    assert Decimal(text) == amount
    assert re.fullmatch(r"-?\d+\.\d\d", text)
    assert text != "-0.00"


FLAT_OBJECTS = st.dictionaries(st.text(), st.text())
OTHER_JSON = st.dictionaries(
    st.text(max_size=4), st.none() | st.integers() | st.booleans() | st.text() | st.lists(st.text())
) | st.lists(st.text())


@FAST
@given(FLAT_OBJECTS | OTHER_JSON)
def test_request_bodies_encode_to_the_encoders_bytes(body: Any) -> None:
    """The flat-object shortcut writes exactly what the JSON encoder writes (or fails alike:
    a lone surrogate, refused by validation, cannot be UTF-8)."""
    assert _encoded(lambda: _encode(body)) == _encoded(lambda: _ENCODER.encode(body).encode())


def _encoded(encode: Callable[[], bytes]) -> object:
    try:
        content = encode()
    except UnicodeEncodeError:
        return UnicodeEncodeError
    assert json.loads(content) is not None
    return content
