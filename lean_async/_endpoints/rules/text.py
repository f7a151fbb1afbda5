"""Kinds of text: plain, length-limited, names, identifiers, emails, addresses, phones.

Text must be encodable as UTF-8, so a lone surrogate (``"\\ud800"``) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from lean_async._endpoints.rules.base import Invalid, Kind

__all__ = [
    "EMAIL",
    "IDENTIFIER",
    "MAX_IDENTIFIER",
    "NAME",
    "NOT_UTF8",
    "PHONE_NUMBER",
    "POSTAL_CODE",
    "STATE",
    "SURROGATE",
    "TEXT",
    "US_STATES",
    "limited",
    "text",
]

# The reference's length limits.
MAX_NAME: Final = 40
MAX_EMAIL: Final = 50

MAX_IDENTIFIER: Final = 255
"""The longest identifier accepted (a 100,000-character id would not fit in a URL)."""

_STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
_DISTRICT_AND_TERRITORIES = "DC PR GU VI AS MP"
_MILITARY_MAIL = "AA AE AP"
US_STATES: Final = frozenset(
    (*_STATES.split(), *_DISTRICT_AND_TERRITORIES.split(), *_MILITARY_MAIL.split())
)
"""The two-letter codes accepted as ``state``."""

SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
"""A lone surrogate: a `str` can hold it, UTF-8 cannot encode it."""

NOT_UTF8: Final = (
    "must be valid Unicode text (it holds a lone surrogate, which UTF-8 cannot encode)"
)

_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(?:\.[^@\s\x00-\x1f\x7f.]+)+")
_POSTAL_CODE = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")
_PHONE = re.compile(r"[0-9+\-(). ]+")


def text(value: object) -> str:
    """Return *value* if it is a non-blank string UTF-8 can encode, else raise `Invalid`."""
    if not isinstance(value, str):
        raise Invalid("must be a string")
    if not value.isascii() and SURROGATE.search(value):  # isascii() is a flag read
        raise Invalid(NOT_UTF8)
    if not value.strip():
        raise Invalid("must not be blank")
    return value


def limited(limit: int) -> Callable[[object], str]:
    """Return a parser of non-blank text of at most *limit* characters."""

    def parse(value: object) -> str:
        checked = text(value)
        if len(checked) > limit:
            raise Invalid(f"must be at most {limit} characters (got {len(checked)})")
        return checked

    return parse


def _name(value: object) -> str:
    checked = text(value)
    rule = f"must be at most {MAX_NAME} printable ASCII characters"
    found = _NOT_PRINTABLE_ASCII.search(checked)
    if found:
        raise Invalid(f"{rule} (found {found.group()!r})")
    if len(checked) > MAX_NAME:
        raise Invalid(f"{rule} (got {len(checked)})")
    return checked


_email_length = limited(MAX_EMAIL)


def _email(value: object) -> str:
    checked = _email_length(value)
    if not _EMAIL.fullmatch(checked):
        raise Invalid("must be an email address such as 'name@example.com'")
    return checked


def _state(value: object) -> str:
    checked = text(value)
    if checked not in US_STATES:
        if checked.upper() in US_STATES:
            raise Invalid(f"must be upper case: {checked.upper()!r}")
        raise Invalid("must be a US two-letter state code such as 'CA'")
    return checked


def _postal_code(value: object) -> str:
    checked = text(value)
    if not _POSTAL_CODE.fullmatch(checked):
        raise Invalid("must be a ZIP code: '12345' or '12345-6789'")
    return checked


def _phone_number(value: object) -> str:
    checked = text(value)
    if not _PHONE.fullmatch(checked) or not 10 <= sum(char.isdigit() for char in checked) <= 15:
        raise Invalid("must have 10 to 15 digits, and only digits, spaces and + - ( ) .")
    return checked


TEXT: Final = Kind(text)
"""Any non-blank text."""
IDENTIFIER: Final = Kind(limited(MAX_IDENTIFIER))
"""An id of ours (``partnerUserId``, ``gigId``): text of at most `MAX_IDENTIFIER`."""
NAME: Final = Kind(_name)
"""A person's name: at most 40 printable ASCII characters."""
EMAIL: Final = Kind(_email)
"""An email address of at most 50 characters."""
STATE: Final = Kind(_state)
"""A US two-letter state code, upper case."""
POSTAL_CODE: Final = Kind(_postal_code)
"""A ZIP or ZIP+4 code."""
PHONE_NUMBER: Final = Kind(_phone_number)
"""10 to 15 digits, with spaces and ``+ - ( ) .`` allowed."""
