"""The fast path of `lean_async._codec.convert.structure`: one generated function per model.

cattrs' detailed structuring collects every problem with its path, which is what an error
needs and what a 1,000-gig list cannot afford: per field it pays a hook call, a union
dispatch for ``X | None`` and the bookkeeping for the report. Here, once per model, the
attrs fields are compiled into one plain function that reads each key, checks its type
inline and builds the model, with no hook call on the common path.

The fast function knows only the ordinary case. Anything else (a missing key, a number
where money is a string, a wrong type, a malformed timestamp, an extra key under the
strict twin) makes it raise, and the caller then runs the detailed converter, which
either explains the failure with its precise paths or, for the rare lenient case the
fast path refuses (money as a JSON number, a mapping that is not a dict), builds the
model itself. So the fast path may refuse more than the detailed converter, never
accept more, and builds equal models: ``tests/test_convert.py`` checks this.

A model with a field type this module does not handle (nested models, unions other than
``X | None`` and ``Enum | str``, tuples) gets no fast function and always takes the
detailed path.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from lean_async._codec.generated import compile_function

__all__ = ["FastStructurer", "compile_structurer", "open_enum_of"]

_UTC = dt.UTC
_JSON_OBJECT = dict[str, Any]


class _Refused(Exception):
    """The fast path does not take this value; the detailed converter decides."""


def _refuse() -> typing.NoReturn:
    raise _Refused


def _to_utc(value: dt.datetime) -> dt.datetime:
    # Only reached for offset-less timestamps (read as UTC) and non-UTC offsets.
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


def _open_enum_reader(enum_cls: type[enum.Enum]) -> Callable[[str], Any]:
    """Return the slow lookup of an ``Enum | str`` value that is not an exact value."""

    def read(value: str) -> Any:
        try:
            return enum_cls(value)  # the enum's own case-folding lookup
        except ValueError:
            return value  # unknown: kept as the string, as the detailed converter does

    return read


class _Compiler:
    """Writes the source of one model's fast function, field by field."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "_refuse": _refuse,
            "_Decimal": Decimal,
            "_fromisoformat_dt": dt.datetime.fromisoformat,
            "_fromisoformat_date": dt.date.fromisoformat,
            "_to_utc": _to_utc,
            "_UTC": _UTC,
        }

    def value(self, var: str, tp: Any, indent: str) -> bool:
        """Emit code turning local *var* into *tp* in place; False if *tp* is not handled."""
        emit = self.lines.append
        if tp is str:
            emit(f"{indent}if {var}.__class__ is not str: _refuse()")
        elif tp is Decimal:
            # JSON numbers as money are rare: the detailed converter reads those.
            emit(f"{indent}if {var}.__class__ is not str: _refuse()")
            emit(f"{indent}{var} = _Decimal({var})")
            emit(f"{indent}if not {var}.is_finite(): _refuse()")
        elif tp is dt.datetime:
            emit(f"{indent}{var} = _fromisoformat_dt({var})")
            emit(f"{indent}if {var}.tzinfo is not _UTC: {var} = _to_utc({var})")
        elif tp is dt.date:
            emit(f"{indent}{var} = _fromisoformat_date({var})")
        elif tp == _JSON_OBJECT:
            emit(f"{indent}if {var}.__class__ is not dict: _refuse()")
            emit(f"{indent}{var} = dict({var})")
        elif (enum_cls := open_enum_of(tp)) is not None and all(
            isinstance(member.value, str) and member.value for member in enum_cls
        ):  # members are then truthy, which the generated ``or`` relies on
            exact = f"_exact_{var}"
            self.names[exact] = {member.value: member for member in enum_cls}
            self.names[f"_read_{var}"] = _open_enum_reader(enum_cls)
            emit(f"{indent}if {var}.__class__ is not str: _refuse()")
            emit(f"{indent}{var} = {exact}.get({var}) or _read_{var}({var})")
        else:
            return False
        return True


def _optional_of(tp: Any) -> Any:
    """Return X when *tp* is ``X | None``, else None."""
    if typing.get_origin(tp) not in (types.UnionType, typing.Union):
        return None
    args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
    return args[0] if len(args) == 1 and len(typing.get_args(tp)) == 2 else None


def open_enum_of(tp: Any) -> type[enum.Enum] | None:
    """Return E when *tp* is ``E | str`` for a string enum E, else None."""
    if typing.get_origin(tp) not in (types.UnionType, typing.Union):
        return None
    args = typing.get_args(tp)
    enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
    return enums[0] if len(args) == 2 and str in args and len(enums) == 1 else None


def compile_structurer(
    cls: type, *, json_name: Callable[[str], str], forbid_extra_keys: bool
) -> Callable[[Any], Any] | None:
    """Return the fast structuring function of attrs class *cls*, or None if unhandled."""
    if not attrs.has(cls):
        return None
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # e.g. an unresolvable forward reference: cattrs will say so
        return None
    compiler = _Compiler()
    emit = compiler.lines.append
    emit("def structure(o):")
    emit("    if o.__class__ is not dict: _refuse()")
    fields = attrs.fields(cls)
    if forbid_extra_keys:
        compiler.names["_known"] = frozenset(json_name(f.name) for f in fields)
        emit("    if not o.keys() <= _known: _refuse()")
    arguments = []
    for index, field in enumerate(fields):
        var, key, tp = f"a{index}", json_name(field.name), hints[field.name]
        inner = _optional_of(tp)
        if field.default is attrs.NOTHING:
            emit(f"    {var} = o[{key!r}]")
        elif field.default is None and inner is not None:
            emit(f"    {var} = o.get({key!r})")
        else:
            return None  # another default (a factory, a value): leave it to cattrs
        if inner is None:
            handled = compiler.value(var, tp, "    ")
        else:
            emit(f"    if {var} is not None:")
            handled = compiler.value(var, inner, "        ")
        if not handled:
            return None
        arguments.append(f"{field.alias}={var}")
    compiler.names["_cls"] = cls
    setters = _slot_setters(cls)
    if setters is None:
        emit(f"    return _cls({', '.join(arguments)})")
    else:
        # attrs' __init__ of a frozen class sets each slot through object.__setattr__
        # looked up per instance; the slots' own descriptors do the same in a third
        # of the time, for a model that has nothing else to run at init.
        compiler.names["_new"] = object.__new__
        emit("    m = _new(_cls)")
        for index, setter in enumerate(setters):
            compiler.names[f"_set{index}"] = setter
            emit(f"    _set{index}(m, a{index})")
        emit("    return m")
    # Source built above from the model's own fields; registered for tracebacks.
    function: Callable[[Any], Any] = compile_function(
        "\n".join(compiler.lines),
        f"<lean_async fast structure {cls.__qualname__}>",
        dict(compiler.names),
        "structure",
    )
    return function


def _slot_setters(cls: type) -> list[Callable[[object, object], None]] | None:
    """Return the slot setter of each attrs field of *cls* in order, or None.

    None when building the model takes more than setting its fields: an
    ``__attrs_pre_init__``/``__attrs_post_init__``, a field converter or validator, or
    a slot that is not a field (a cached hash) or a field that is not a slot of *cls*.
    """
    if any(hasattr(cls, name) for name in ("__attrs_pre_init__", "__attrs_post_init__")):
        return None
    fields = attrs.fields(cls)
    if set(cls.__dict__.get("__slots__", ())) - {"__weakref__"} != {f.name for f in fields}:
        return None
    setters = []
    for field in fields:
        slot = cls.__dict__.get(field.name)
        if field.converter is not None or field.validator is not None:
            return None
        if not isinstance(slot, types.MemberDescriptorType):
            return None
        setters.append(slot.__set__)
    return setters


class FastStructurer:
    """The fast functions of one converter's settings, compiled on first use per model."""

    def __init__(self, *, json_name: Callable[[str], str], forbid_extra_keys: bool) -> None:
        self._json_name = json_name
        self._forbid_extra_keys = forbid_extra_keys
        self._functions: dict[Any, Callable[[Any], Any] | None] = {}

    def function_for(self, cls: Any) -> Callable[[Any], Any] | None:
        """Return *cls*'s fast function, or None when only the detailed path fits it."""
        try:
            return self._functions[cls]
        except KeyError:
            pass
        except TypeError:  # an unhashable type form
            return None
        function = (
            compile_structurer(
                cls, json_name=self._json_name, forbid_extra_keys=self._forbid_extra_keys
            )
            if isinstance(cls, type)
            else None
        )
        self._functions[cls] = function
        return function
