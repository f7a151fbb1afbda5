"""Paying a payroll from a CSV file: the engine behind ``lean-async gigs import``.

Private: the command line (`lean_async.cli`) is its public face. `check_file` is
pass 1 (every row checked, nothing sent), `pay_file` pass 2 (rows paid through
``create_many``), `FailuresWriter` the failures CSV, `write_sample_gigs` a sample file.
"""

from lean_async._payroll._failures import FailuresWriter
from lean_async._payroll._rows import (
    ANNOTATION_COLUMNS,
    GIGS,
    SPECIAL_PAYMENTS,
    BadRow,
    HeaderError,
    PayrollKind,
    Row,
    file_digest,
    read_rows,
)
from lean_async._payroll._run import CANCELLED, Check, Progress, Summary, check_file, pay_file
from lean_async._payroll._sample import write_sample_gigs

__all__ = [
    "ANNOTATION_COLUMNS",
    "CANCELLED",
    "GIGS",
    "SPECIAL_PAYMENTS",
    "BadRow",
    "Check",
    "FailuresWriter",
    "HeaderError",
    "PayrollKind",
    "Progress",
    "Row",
    "Summary",
    "check_file",
    "file_digest",
    "pay_file",
    "read_rows",
    "write_sample_gigs",
]
