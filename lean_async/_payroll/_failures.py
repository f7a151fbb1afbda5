"""The failures CSV: every row that was not paid, in a file the import reads back.

Its columns are the input's own (as `PayrollKind.headers`), then ``failedLine`` (the row's
line in the file it came from), ``failedReason`` (the error's class name) and
``failedMessage``. The import ignores those three, so after fixing the cause the file
can be imported as it is. A special payment's ``idempotencyKey`` is the key its call
carried, derived keys included: importing the failures file again reuses it, so a
payment that did go through (an answer lost on the way back) is not paid twice.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from lean_async._payroll._rows import ANNOTATION_COLUMNS, PayrollKind

__all__ = ["FailuresWriter"]


class FailuresWriter:
    """Writes failed rows to *path*, creating the file only when the first one comes."""

    def __init__(self, path: Path, kind: PayrollKind) -> None:
        self.path = path
        self.count = 0
        self._kind = kind
        self._file: IO[str] | None = None
        self._writer: csv.DictWriter[str] | None = None

    def write(self, cells: Mapping[str, str], *, line: int, reason: str, message: str) -> None:
        """Append one failed row: its cells and why it failed."""
        if self._writer is None:
            self._file = self.path.open("w", newline="", encoding="utf-8")
            self._writer = csv.DictWriter(
                self._file, fieldnames=[*self._kind.headers, *ANNOTATION_COLUMNS]
            )
            self._writer.writeheader()
        row = {header: cells.get(header, "") for header in self._kind.headers}
        row |= dict(zip(ANNOTATION_COLUMNS, (str(line), reason, message), strict=True))
        self._writer.writerow(row)
        self.count += 1

    def close(self) -> None:
        """Flush and close the file, if one was opened."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
