"""`Endpoint`: one request body's rule row, built from its attrs request model.

The model declares each field once, with its `Kind` (see `lean_async._endpoints.rules.base.rule`);
everything else is derived here: the wire name (`lean_async._codec.convert.camel`), the
sandbox's check of a decoded JSON body, the client's check of the caller's arguments,
the wire body (through the one cattrs converter), and the keyword signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

import attrs

from lean_async._codec.bodies import compile_body
from lean_async._codec.convert import camel, converter
from lean_async._endpoints.rules.base import BODY, KIND, Invalid, Kind, Problem
from lean_async.errors import ValidationError

__all__ = ["Across", "Beside", "Endpoint", "Field"]

T = TypeVar("T")


@attrs.frozen
class Across:
    """A rule across fields, run only when every field it *needs* holds a valid value.

    Attributes:
        field: the snake_case field a problem is reported on.
        needs: the snake_case fields *check* reads.
        check: typed values by snake_case name -> the message, or None when it holds.
    """

    field: str
    needs: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], str | None]


@attrs.frozen
class Beside:
    """An argument checked with the body but sent elsewhere (e.g. as a header).

    Attributes:
        name: the argument's name; it comes after the body's fields.
        problem: the value (never None) -> the message, or None when it is valid.
    """

    name: str
    problem: Callable[[object], str | None]


@attrs.frozen
class Field:
    """One field of a request body: its argument name, wire name, `Kind`, and whether required."""

    name: str
    wire: str
    kind: Kind
    required: bool


class Endpoint(Generic[T]):
    """The rules of one endpoint's request body, derived from its attrs model *model*.

    Attributes:
        model: the frozen attrs request model; each field declared with ``rule(...)``.
        fields: its fields, in declaration order.
        names: its fields' snake_case names (the arguments), in declaration order.
        wire_names: the same fields' camelCase names on the wire.
        beside_names: the arguments checked with the body but sent elsewhere.
        signature: keyword-only parameters: the fields, then the *beside* arguments.
    """

    __slots__ = (
        "_across",
        "_beside",
        "_coerce",
        "_fast_body",
        "_index",
        "_optional",
        "_parse",
        "_unstructure",
        "beside_names",
        "fields",
        "model",
        "names",
        "signature",
        "wire_names",
    )

    def __init__(
        self,
        model: type[T],
        *,
        across: Sequence[Across] = (),
        beside: Sequence[Beside] = (),
    ) -> None:
        rows = [
            Field(
                name=field.name,
                wire=camel(field.name),
                kind=field.metadata[KIND],
                required=field.default is attrs.NOTHING,
            )
            for field in attrs.fields(cast("type[attrs.AttrsInstance]", model))
        ]
        self.model = model
        self.fields = tuple(rows)
        self.names = tuple(row.name for row in rows)
        self.wire_names = tuple(row.wire for row in rows)
        for rule in across:
            unknown = {rule.field, *rule.needs} - set(self.names)
            if unknown:
                raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
        # Plain tuples: the client's check runs on every call.
        self._coerce = tuple((row.name, row.kind.coerce, row.required) for row in rows)
        self._parse = tuple((row.name, row.wire, row.kind.parse, row.required) for row in rows)
        self._index = {name: index for index, name in enumerate(self.names)}
        self._across = tuple((rule, frozenset(rule.needs)) for rule in across)
        self._beside = tuple(beside)
        self.beside_names = tuple(extra.name for extra in beside)
        self._optional = tuple(row.wire for row in rows if not row.required)
        self._unstructure: Callable[[T], dict[str, Any]] = converter.get_unstructure_hook(model)
        self._fast_body = compile_body(
            model,
            [(row.name, row.wire, row.kind.coerce, row.required) for row in rows],
            [(rule.check, rule.needs) for rule in across],
            [(extra.name, extra.problem) for extra in beside],
            converter.get_unstructure_hook,
            self._checked_body,
        )
        keyword = inspect.Parameter.KEYWORD_ONLY
        self.signature = inspect.Signature(
            [
                inspect.Parameter(row.name, keyword)
                if row.required
                else inspect.Parameter(row.name, keyword, default=None)
                for row in rows
            ]
            + [inspect.Parameter(extra.name, keyword, default=None) for extra in beside]
        )

    def __repr__(self) -> str:
        return f"Endpoint({self.model.__name__})"

    def check(self, body: object) -> list[Problem]:
        """Return every problem with a decoded JSON request body; never raises.

        A field sent as null counts as missing. Fields the model does not declare are
        ignored.

        Returns:
            ``(camelCaseField, message)`` pairs in field order; empty when valid.
        """
        if not isinstance(body, dict):
            return [(BODY, "must be a JSON object")]
        problems: list[tuple[int, str, str]] = []
        values: dict[str, Any] = {}
        for index, (name, wire, parse, required) in enumerate(self._parse):
            value = body.get(wire)
            if value is None:
                if required:
                    problems.append((index, wire, "is required"))
                continue
            try:
                values[name] = parse(value)
            except Invalid as exc:
                problems.append((index, wire, str(exc)))
        self._check_across(values, problems, wire=True)
        problems.sort(key=_first)
        return [(field, message) for _, field, message in problems]

    def request(self, args: Mapping[str, object]) -> T:
        """Return the request model for a caller's arguments, checked against every rule.

        Args:
            args: the arguments by snake_case name; every declared field must be a key
                (a resource passes its ``locals()``), other keys are ignored.

        Raises:
            ValidationError: every argument that breaks a rule, in declaration order,
                the *beside* arguments last.
        """
        problems: list[tuple[int, str, str]] = []
        values: dict[str, Any] = {}
        for index, (name, coerce, required) in enumerate(self._coerce):
            value = args[name]
            if value is None:
                if required:
                    problems.append((index, name, "is required"))
                continue
            try:
                values[name] = coerce(value)
            except Invalid as exc:
                problems.append((index, name, str(exc)))
        if self._across:
            self._check_across(values, problems, wire=False)
        if problems:
            problems.sort(key=_first)
        for extra in self._beside:
            value = args.get(extra.name)
            message = None if value is None else extra.problem(value)
            if message is not None:
                problems.append((len(self._coerce), extra.name, message))
        if problems:
            raise ValidationError([(field, message) for _, field, message in problems])
        return self.model(**values)

    def body(self, args: Mapping[str, object]) -> dict[str, Any]:
        """Return the wire body for a caller's arguments, checked against every rule.

        The checked request model goes through the one cattrs converter (camelCase
        names, money as ``"15.00"``, UTC timestamps); optional fields that are None are
        left out. Valid arguments take a compiled shortcut to the same body
        (`lean_async._codec.bodies`).

        Raises:
            ValidationError: see `request`.
        """
        return self._fast_body(args)

    def _checked_body(self, args: Mapping[str, object]) -> dict[str, Any]:
        """`body` by the reference route: the checked model through the converter."""
        body = self._unstructure(self.request(args))
        for wire in self._optional:
            if body[wire] is None:
                del body[wire]
        return body

    def pick(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Return the declared fields of a wire body (absent ones as None)."""
        return {wire: body.get(wire) for wire in self.wire_names}

    def keywords(
        self, name: str, doc: str, *, positional: bool = False
    ) -> Callable[..., dict[str, Any]]:
        """Return `body` as a function of keyword arguments, with `signature`.

        With *positional*, the arguments may also be passed by position.
        """
        signature = self.signature
        if positional:
            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
            signature = signature.replace(
                parameters=[p.replace(kind=kind) for p in signature.parameters.values()]
            )

        def build(*args: object, **kwargs: object) -> dict[str, Any]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return self.body(bound.arguments)

        build.__name__ = build.__qualname__ = name
        build.__doc__ = doc
        build.__signature__ = signature  # type: ignore[attr-defined]
        return build

    def _check_across(
        self, values: dict[str, Any], problems: list[tuple[int, str, str]], *, wire: bool
    ) -> None:
        for rule, needs in self._across:
            if values.keys() >= needs:
                message = rule.check(values)
                if message is not None:
                    index = self._index[rule.field]
                    field = self.wire_names[index] if wire else rule.field
                    problems.append((index, field, message))


def _first(problem: tuple[int, str, str]) -> int:
    return problem[0]
