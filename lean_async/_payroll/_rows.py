"""Read a payroll CSV row by row and turn each row into ``create()`` arguments, or problems.

The columns are the API reference's field names (``partnerUserId``, ``totalAmount``...),
derived from the endpoint table: a kind's columns are its create row's request fields
that a cell can hold (not ``userdata``, a JSON object), then the arguments sent beside
the body (``idempotencyKey``). A row's cells become the keyword arguments of
``lean.gigs.create`` or ``lean.special_payments.create`` and are checked by the very
declaration those calls apply, so a row that passes here is refused later only by the API.

Rules of the file, beyond the API's:

* the header is line 1; a column the kind does not know is refused (a misspelt
  optional column would otherwise be dropped in silence), except the columns a
  failures CSV adds (`ANNOTATION_COLUMNS`), which are ignored so it can be fed back in;
* cells are stripped of surrounding spaces; an empty optional cell means "not given";
* a time must carry ``Z`` or an offset (``2024-05-01T09:00:00Z``,
  ``2024-05-01T11:00:00+02:00``): a naive time is a bad row, never read in a guessed zone;
* a ``gigId`` (gigs) or ``idempotencyKey`` (special payments) seen twice in one file
  is a bad row: it names one payment, so the second row could never be paid.

The file is read as UTF-8 (a leading BOM, as Excel writes, is skipped).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from lean_async._codec.convert import camel
from lean_async._endpoints.rules.body import Endpoint
from lean_async._endpoints.rules.objects import JSON_OBJECT
from lean_async._endpoints.rules.times import TIMESTAMP
from lean_async._endpoints.table import GIGS_CREATE, SPECIAL_PAYMENTS_CREATE, EndpointRow
from lean_async.errors import ValidationError

__all__ = [
    "ANNOTATION_COLUMNS",
    "GIGS",
    "SPECIAL_PAYMENTS",
    "BadRow",
    "PayrollKind",
    "Row",
    "file_digest",
    "read_rows",
]

ENCODING: Final = "utf-8-sig"

ANNOTATION_COLUMNS: Final = ("failedLine", "failedReason", "failedMessage")
"""Columns a failures CSV adds after the row's own; ignored when the file is read back."""

_TIME_MESSAGE: Final = "must be an ISO 8601 time such as 2024-05-01T09:00:00Z"
_NAIVE_MESSAGE: Final = (
    "has no Z or UTC offset; write it in UTC (2024-05-01T09:00:00Z) or with its offset "
    "(2024-05-01T11:00:00+02:00): a time without one is not guessed"
)


def _time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_TIME_MESSAGE) from None
    if value.tzinfo is None:
        raise ValueError(_NAIVE_MESSAGE)
    return value


def _text(text: str) -> str:
    return text


@attrs.frozen
class Column:
    """One CSV column: its header, the ``create()`` argument it fills, how a cell is read."""

    header: str
    argument: str
    required: bool = True
    parse: Callable[[str], Any] = _text


def _columns(declared: Endpoint[Any]) -> tuple[Column, ...]:
    """The columns of a request declaration: the fields a cell can hold, then the *beside*
    arguments (optional, as their arguments are)."""
    columns = [
        Column(field.wire, field.name, field.required, _time if field.kind is TIMESTAMP else _text)
        for field in declared.fields
        if field.kind is not JSON_OBJECT
    ]
    columns += [Column(camel(name), name, required=False) for name in declared.beside_names]
    return tuple(columns)


@attrs.frozen
class PayrollKind:
    """What a payroll file holds: gigs or special payments, the rows of one create endpoint.

    Attributes:
        name: ``"gigs"``, ``"special payments"``.
        endpoint: the endpoint table's create row each data row is sent to.
        unique: the header whose value names one payment within the file.
        columns: the endpoint's request declaration's columns (`_columns`).
    """

    name: str
    endpoint: EndpointRow[Any] = attrs.field(repr=False)
    unique: str
    columns: tuple[Column, ...] = attrs.field(init=False, repr=False)

    @columns.default
    def _declared_columns(self) -> tuple[Column, ...]:
        return _columns(self.declared)

    @property
    def declared(self) -> Endpoint[Any]:
        """The request declaration the rows are checked by."""
        declared = self.endpoint.request
        if declared is None:
            raise ValueError(f"{self.endpoint.name} has no request body to fill from a CSV")
        return declared

    @property
    def headers(self) -> tuple[str, ...]:
        """The column headers, in the order a failures CSV writes them."""
        return tuple(c.header for c in self.columns)

    def header_of(self, argument: str) -> str:
        """Return the column filling *argument* (the argument itself if none does)."""
        for column in self.columns:
            if column.argument == argument:
                return column.header
        return argument

    def body(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Return the checked wire body of *arguments* (raises `ValidationError`).

        An argument the row does not fill (no column, or an empty optional cell) is None.
        """
        declared = self.declared
        return declared.body({name: arguments.get(name) for name in declared.signature.parameters})


GIGS: Final = PayrollKind("gigs", GIGS_CREATE, unique="gigId")

SPECIAL_PAYMENTS: Final = PayrollKind(
    "special payments", SPECIAL_PAYMENTS_CREATE, unique="idempotencyKey"
)


@attrs.frozen
class Row:
    """A data row that passed every check.

    Attributes:
        line: the file line the row starts on (the header is line 1).
        ordinal: the row's position among the file's data rows, from 0.
        cells: the row's cells by header (stripped), as a failures CSV writes them back.
        arguments: the ``create()`` keyword arguments it stands for.
        body: the checked wire body (camelCase, money as ``"5.00"``).
    """

    line: int
    ordinal: int
    cells: dict[str, str]
    arguments: dict[str, Any]
    body: dict[str, Any]


@attrs.frozen
class BadRow:
    """A row (or the header, line 1) that breaks a rule: ``(column, message)`` problems."""

    line: int
    problems: tuple[tuple[str, str], ...]


class HeaderError(ValueError):
    """The header line is missing columns, has unknown ones, or repeats one."""


def file_digest(path: Path) -> str:
    """Return the SHA-256 hex digest of the file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _check_header(kind: PayrollKind, header: list[str]) -> list[str]:
    names = [h.strip() for h in header]
    known = set(kind.headers) | set(ANNOTATION_COLUMNS)
    problems = [f"unknown column {h!r}" for h in names if h not in known]
    problems += [f"column {h!r} appears twice" for h in sorted(set(names)) if names.count(h) > 1]
    problems += [
        f"missing column {c.header!r}" for c in kind.columns if c.required and c.header not in names
    ]
    return problems


def read_rows(path: Path, kind: PayrollKind) -> Generator[Row | BadRow, None, None]:
    """Yield each data row of the CSV at *path*, checked, in file order.

    Blank lines are skipped. Rows are read one at a time; only the unique column's
    values seen so far are kept, to find repeats.

    Raises:
        HeaderError: the header is empty or its columns do not fit *kind*.
        OSError, UnicodeDecodeError: the file cannot be read as UTF-8 text.
    """
    with path.open(newline="", encoding=ENCODING) as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            columns = ",".join(kind.headers)
            raise HeaderError(f"the file is empty; its first line must be the header: {columns}")
        problems = _check_header(kind, header)
        if problems:
            raise HeaderError("; ".join(problems))
        positions = {name.strip(): i for i, name in enumerate(header)}
        seen: dict[str, int] = {}
        ordinal = 0
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a NUL byte, or an unclosed quote at the end
                yield BadRow(line, (("row", f"is not valid CSV: {exc}"),))
                continue
            if not any(cell.strip() for cell in record):
                continue
            yield _row(kind, positions, record, line, ordinal, seen)
            ordinal += 1


def _row(
    kind: PayrollKind,
    positions: Mapping[str, int],
    record: list[str],
    line: int,
    ordinal: int,
    seen: dict[str, int],
) -> Row | BadRow:
    problems: list[tuple[str, str]] = []
    if len(record) > len(positions):
        problems.append(("row", f"has {len(record)} cells; the header has {len(positions)}"))
    cells: dict[str, str] = {}
    arguments: dict[str, Any] = {}
    for column in kind.columns:
        at = positions.get(column.header)
        cell = record[at].strip() if at is not None and at < len(record) else ""
        cells[column.header] = cell
        if not cell and not column.required:
            continue
        try:
            arguments[column.argument] = column.parse(cell)
        except ValueError as exc:
            problems.append((column.header, str(exc)))
    unique = cells.get(kind.unique, "")
    if unique:
        first = seen.setdefault(unique, line)
        if first != line:
            problems.append((kind.unique, f"repeats line {first}; it names one payment"))
    body: dict[str, Any] = {}
    if not any(column == "row" for column, _ in problems):
        try:
            # A cell already found bad is "missing" to the declaration, which then still
            # reports the other cells' problems (all of a row's in one go); its "is
            # required" is dropped by `_dedupe` in favour of the cell's own message.
            body = kind.body(arguments)
        except ValidationError as exc:
            problems += [(kind.header_of(field), message) for field, message in exc.errors]
    if problems:
        order = {header: i for i, header in enumerate(kind.headers)}
        kept = sorted(_dedupe(problems), key=lambda problem: order.get(problem[0], -1))
        return BadRow(line, tuple(kept))
    return Row(line=line, ordinal=ordinal, cells=cells, arguments=arguments, body=body)


def _dedupe(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Keep each column's first problem only: the cell's own parse error wins."""
    seen: set[str] = set()
    kept = []
    for column, message in problems:
        if column not in seen:
            seen.add(column)
            kept.append((column, message))
    return kept
