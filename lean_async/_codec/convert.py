"""The one cattrs converter: API camelCase JSON <-> attrs models.

Built once at import. `structure` and `structure_list` first try the generated fast
path of `lean_async._codec.decoders` (module converters only) and run cattrs' detailed
validation only when it refuses a value, to explain the failure with its paths.

`converter` is lenient (extra fields tolerated, unknown enum values
kept as strings) and reads responses; `strict_converter` also forbids unknown fields,
for tests and the sandbox. Money is `Decimal` and goes out as a two-decimal string,
dates are ISO ``YYYY-MM-DD``, timestamps are UTC ``YYYY-MM-DDTHH:MM:SS.sssZ``; a
timestamp without an offset is read as UTC.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from lean_async._codec.decoders import FastStructurer, open_enum_of

__all__ = [
    "StructureError",
    "camel",
    "configure_converter",
    "converter",
    "format_datetime",
    "format_money",
    "make_converter",
    "parse_datetime",
    "strict_converter",
    "structure",
    "structure_list",
    "unstructure",
]

T = TypeVar("T")

_CENT = Decimal("0.01")
_UTC = dt.UTC
_MONEY_CONTEXT = decimal.Context(prec=64, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
_PATH_SEGMENT = re.compile(r"\.([a-z0-9_]+)")
_ISO_MILLISECONDS_UTC = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"
_CENTS_TEXT = re.compile(r"-?[0-9]+\.[0-9]{2}")


class StructureError(ValueError):
    """A JSON value does not have the shape of the model it should become.

    Attributes:
        path: JSON path of the first bad value, e.g. ``$.totalAmount`` or ``$[2].status``.
        problems: every problem found, each ending in ``@ <path>``.
    """

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("; ".join(problems))


def camel(name: str) -> str:
    """Return the API's camelCase spelling of a snake_case attribute name."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def format_money(amount: Decimal) -> str:
    """Return *amount* as the API's two-decimal string, e.g. ``"15.00"``.

    Raises:
        ValueError: *amount* is NaN or infinite.
    """
    text = str(amount)
    if _CENTS_TEXT.fullmatch(text) and text != "-0.00":
        return text  # already whole cents, as every validated amount is
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    # Quantize in a context wide enough for the amount (one more digit for a carry), so
    # no amount fails or loses digits; the shared one covers every real amount, and only
    # a larger one pays for a context of its own.
    digits = amount.adjusted() + 4
    context = _MONEY_CONTEXT
    if digits > _MONEY_CONTEXT.prec:
        context = decimal.Context(prec=digits, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    cents = amount.quantize(_CENT, context=context)
    return format(cents.copy_abs() if cents.is_zero() else cents, "f")  # never "-0.00"


def format_datetime(value: dt.datetime) -> str:
    """Return an aware datetime as ``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC.

    Raises:
        ValueError: *value* is naive (``astimezone`` would guess the machine's zone).
    """
    if value.tzinfo is _UTC:  # what validation hands over: nothing to convert
        # isoformat(timespec="milliseconds") without the offset it would then drop, at
        # half its cost; "%04d" pads years before 1000 as isoformat does (and unlike
        # strftime("%Y") on glibc), and milliseconds are truncated as isoformat does.
        return _ISO_MILLISECONDS_UTC % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 1000,
        )
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime, the time zone is unknown: {value.isoformat()}")
    utc = value.astimezone(_UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def parse_datetime(value: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp; one without an offset is taken as UTC.

    Raises:
        ValueError: *value* is not an ISO 8601 timestamp, or is out of range in UTC.
    """
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError(f"timestamp out of range in UTC: {value!r}") from None


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"expected a decimal string, got {type(value).__name__}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount


def _structure_date(value: Any, _: type) -> dt.date:
    if not isinstance(value, str):
        raise TypeError(f"expected a date string, got {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    return parse_datetime(value)


def _structure_json_object(value: Any, _: type) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return dict(value)


def _open_enum_hook(tp: Any) -> Callable[[Any, Any], Any]:
    enum_cls = open_enum_of(tp)
    assert enum_cls is not None  # noqa: S101 - guaranteed by the predicate

    def structure_open_enum(value: Any, _: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        try:
            return enum_cls(value)
        except ValueError:
            return value  # a status the SDK does not know yet: keep it, do not fail

    return structure_open_enum


def configure_converter(conv: cattrs.Converter, *, forbid_extra_keys: bool = False) -> None:
    """Register lean-async's hooks (money, dates, enums, camelCase) on *conv*."""
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, format_money)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.datetime, format_datetime)
    conv.register_structure_hook_func(lambda t: t == dict[str, Any], _structure_json_object)
    conv.register_structure_hook_factory(lambda t: open_enum_of(t) is not None, _open_enum_hook)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda e: e.value
    )

    def renames(cls: type) -> dict[str, Any]:
        return {f.name: override(rename=camel(f.name)) for f in attrs.fields(cls)}

    def object_hook(cls: type) -> Callable[[Any, Any], Any]:
        from_dict: Callable[[Mapping[str, Any], Any], Any] = make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=forbid_extra_keys, **renames(cls)
        )

        def structure_object(value: Any, tp: Any) -> Any:
            # Without this, a list or a string is searched for keys and reported as
            # "required field missing @ $.id" instead of the real problem.
            if not isinstance(value, Mapping):
                raise TypeError(f"expected a JSON object, got {type(value).__name__}")
            return from_dict(value, tp)

        return structure_object

    conv.register_structure_hook_factory(attrs.has, object_hook)
    conv.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, conv, **renames(cls))
    )


def make_converter(*, forbid_extra_keys: bool = False) -> cattrs.Converter:
    """Build a converter configured for the Lean API."""
    conv = cattrs.Converter()
    configure_converter(conv, forbid_extra_keys=forbid_extra_keys)
    return conv


converter = make_converter()
strict_converter = make_converter(forbid_extra_keys=True)

# The fast path of the two module converters, keyed by identity: both live as long as the
# module, so an id is never reused. Other converters always take the detailed path.
_FAST_PATHS: dict[int, FastStructurer] = {
    id(converter): FastStructurer(json_name=camel, forbid_extra_keys=False),
    id(strict_converter): FastStructurer(json_name=camel, forbid_extra_keys=True),
}


def _camel_path(problem: str) -> str:
    # Only the path after the last " @ " names attributes; the message before it may
    # quote the body's own keys, which must stay as they were sent.
    message, at, path = problem.rpartition(" @ ")
    return message + at + _PATH_SEGMENT.sub(lambda m: "." + camel(m.group(1)), path)


def structure(data: Any, cls: type[T], *, conv: cattrs.Converter = converter) -> T:
    """Build a *cls* from decoded JSON, or raise `StructureError` with the bad path."""
    fast = _fast_function(conv, cls)
    if fast is not None:
        try:
            built: T = fast(data)
        except Exception:  # noqa: S110 - the detailed converter below explains or accepts it
            pass
        else:
            return built
    built = _structure_detailed(data, cls, conv)
    return built


def structure_list(data: Any, cls: type[T], *, conv: cattrs.Converter = converter) -> list[T]:
    """Build a list of *cls* from a decoded JSON array."""
    if not isinstance(data, list):
        raise StructureError("$", [f"expected a JSON array, got {type(data).__name__} @ $"])
    fast = _fast_function(conv, cls)
    if fast is not None:
        try:
            return [fast(item) for item in data]
        except Exception:  # noqa: S110 - the detailed converter below explains or accepts it
            pass
    built: list[T] = _structure_detailed(data, list[cls], conv)  # type: ignore[valid-type]
    return built


def _fast_function(conv: cattrs.Converter, cls: Any) -> Callable[[Any], Any] | None:
    fast_path = _FAST_PATHS.get(id(conv))
    return fast_path.function_for(cls) if fast_path is not None else None


def _structure_detailed(data: Any, cls: Any, conv: cattrs.Converter) -> Any:
    """Structure with cattrs' detailed validation: every problem, with its path."""
    try:
        return conv.structure(data, cls)
    except Exception as exc:  # cattrs raises several unrelated types; normalise them all
        raise _structure_error(exc) from exc


def _structure_error(exc: Exception) -> StructureError:
    # transform_error gives at least one "<message> @ <path>" line for any exception.
    problems = [_camel_path(p) for p in cattrs.transform_error(exc)] or [f"{exc} @ $"]
    return StructureError(problems[0].rpartition(" @ ")[2], problems)


def unstructure(obj: Any) -> Any:
    """Return *obj* as the API's JSON (camelCase keys, money as strings)."""
    return converter.unstructure(obj)
