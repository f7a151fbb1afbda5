"""The fast path of `Endpoint.body`: one generated function per request model.

`Endpoint.body` checks the caller's arguments, builds the request model and hands it to
the cattrs converter for the wire body. That is the reference, and the only one that
knows how to explain a problem; on the payroll path it costs more than sending the
request. Here, once per endpoint, its rows are compiled into one straight-line function
that coerces each argument with the same `Kind`, runs the same cross-field rules and
writes the wire body with the same unstructure hook the converter uses for each field,
with no loop, no model and no problem list.

The fast function knows only the valid case. A missing required value, a value its kind
refuses, a broken cross-field rule or a bad *beside* argument makes it hand the whole
call to the reference, which raises the `ValidationError` listing every problem. So both
paths raise the same errors and, for valid arguments, build equal bodies:
``tests/test_validate_fast_body.py`` checks this with hypothesis.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import cattrs.fns

from lean_async._codec.generated import compile_function
from lean_async._endpoints.rules.base import Invalid

__all__ = ["compile_body"]

Body = Callable[[Mapping[str, object]], dict[str, Any]]


def compile_body(
    model: type,
    rows: Sequence[tuple[str, str, Callable[[object], Any], bool]],
    across: Sequence[tuple[Callable[[Mapping[str, Any]], str | None], Sequence[str]]],
    beside: Sequence[tuple[str, Callable[[object], str | None]]],
    unstructure_hook: Callable[[Any], Callable[[Any], Any]],
    reference: Body,
) -> Body:
    """Return the fast wire-body function of one endpoint.

    Args:
        model: the attrs request model (its type hints pick each field's hook).
        rows: ``(name, wire name, coerce, required)`` per field, in model order.
        across: ``(check, needed names)`` per cross-field rule.
        beside: ``(name, problem)`` per argument checked with the body but sent apart.
        unstructure_hook: the converter's hook lookup (``Converter.get_unstructure_hook``).
        reference: the checked slow path, called with the arguments when anything is
            missing or invalid (it raises the `ValidationError`).
    """
    hints = typing.get_type_hints(model)
    fields = {field.name for field in attrs.fields(model)}
    names: dict[str, Any] = {"_Invalid": Invalid, "_reference": reference}
    lines = ["def body(args):", "    try:"]
    emit = lines.append
    for index, (name, _, coerce, required) in enumerate(rows):
        if name not in fields:
            raise ValueError(f"{model.__name__} has no field {name!r}")
        names[f"_coerce{index}"] = coerce
        emit(f"        v{index} = args[{name!r}]")
        if required:
            emit(f"        if v{index} is None: return _reference(args)")
            emit(f"        v{index} = _coerce{index}(v{index})")
        else:
            emit(f"        if v{index} is not None: v{index} = _coerce{index}(v{index})")
    emit("    except _Invalid:")
    emit("        return _reference(args)")
    index_of = {name: index for index, (name, *_) in enumerate(rows)}
    for number, (check, needs) in enumerate(across):
        # Like the reference, a rule runs only when every field it reads has a value.
        names[f"_across{number}"] = check
        guard = "".join(
            f"v{index_of[need]} is not None and " for need in needs if not rows[index_of[need]][3]
        )
        values = ", ".join(f"{need!r}: v{index_of[need]}" for need in needs)
        emit(f"    if {guard}_across{number}({{{values}}}) is not None: return _reference(args)")
    for number, (name, problem) in enumerate(beside):
        names[f"_beside{number}"] = problem
        emit(f"    extra = args.get({name!r})")
        emit(f"    if extra is not None and _beside{number}(extra) is not None:")
        emit("        return _reference(args)")
    # The keys in model order, as the converter writes them: the required fields up to
    # the first optional one in the literal, then one statement per field.
    literal: list[str] = []
    statements: list[str] = []
    for index, (name, wire, _, required) in enumerate(rows):
        hook = unstructure_hook(hints[name])
        value = f"v{index}"
        if hook is not cattrs.fns.identity:
            names[f"_out{index}"] = hook
            value = f"_out{index}(v{index})"
        if required and not statements:
            literal.append(f"{wire!r}: {value}")
        elif required:
            statements.append(f"    wire[{wire!r}] = {value}")
        else:
            statements.append(f"    if v{index} is not None: wire[{wire!r}] = {value}")
    emit(f"    wire = {{{', '.join(literal)}}}")
    lines.extend(statements)
    emit("    return wire")
    # Source built above from the model's own rows; registered for tracebacks.
    function: Body = compile_function(
        "\n".join(lines), f"<lean_async fast body {model.__qualname__}>", names, "body"
    )
    return function
