"""The cell grammar: how a cell's text becomes a typed value, as the spec allows.

The spec accepts `1234`, `1234.0` and `"1,234"` for whole numbers, `£1,234.50`
for money, a code, its label or the template's drop-down entry (`HOME_CARE: Home care`)
in any case for code lists, and dates as date
cells, ISO text, UK `dd/mm/yyyy` text or spreadsheet serial numbers. The regular
expressions here are shared by the vectorised checks (:mod:`returns_kit.compile`)
and by :func:`coerce`, the plain-Python reading of one cell that the tests use,
with jsonschema, as the reference the vectorised checks must agree with.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from functools import cache
from typing import Any

from returns_kit.schema import FieldSpec

#: The characters Rust's ``str::trim`` (and so polars' ``strip_chars``) removes, so
#: that the plain-Python reading strips exactly what the vectorised one does.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: Digits with optional thousands separators, decimals and exponent; no sign.
_UNSIGNED = r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+"
NUMBER = rf"^[+-]?(?:{_UNSIGNED})$"
#: Money may carry a pound sign after the sign, as in £1,234.50 or -£5.
MONEY = rf"^[+-]?£?[ ]*(?:{_UNSIGNED})$"
ISO_DATE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
#: The date part of an ISO date or date-time.
ISO_DATE_PART = r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
UK_DATE = r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$"
#: Serial day numbers as spreadsheets store dates, limited to 1954-2119 so that a
#: stray count or year is not read as a date.
SERIAL_DATE = r"^[0-9]{5}(?:\.[0-9]+)?$"
SERIAL_MIN, SERIAL_MAX = 20_000, 80_000
SERIAL_EPOCH = date(1899, 12, 30)
#: How far from a whole number a whole-number cell may be (spreadsheet arithmetic
#: leaves 12.000000000000002 behind).
WHOLE_TOLERANCE = 1e-6

_NUMBER_RE, _MONEY_RE = re.compile(NUMBER), re.compile(MONEY)
_ISO_RE, _UK_RE, _SERIAL_RE = re.compile(ISO_DATE), re.compile(UK_DATE), re.compile(SERIAL_DATE)
#: Runs of white space or hyphens, written out so Python's re and polars' Rust regex agree.
FOLD_RUN = "[" + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE) + "\\-]+"
_FOLD_RE = re.compile(FOLD_RUN)
#: The years a date cell may fall in.
YEAR_MIN, YEAR_MAX = 1900, 2999
#: Whole numbers must fit a 64-bit integer.
WHOLE_LIMIT = 2.0**63


def fold(text: str) -> str:
    """Fold a heading, code or label for matching: lower case, spaces and hyphens to ``_``.

    >>> fold(" People Total ") == fold("people-total") == "people_total"
    True
    """
    return _FOLD_RE.sub("_", text.strip(WHITESPACE).lower())


def same_code(code: str, label: str) -> bool:
    """Whether ``label`` only spells ``code`` again (in other case, or as the same number),
    so that a list offering both would offer one choice twice.

    >>> same_code("UNKNOWN", "Unknown"), same_code("1.0", "1"), same_code("Y", "Yes")
    (True, True, False)
    """
    if label.casefold() == code.casefold():
        return True
    try:
        return float(label) == float(code)
    except ValueError:
        return False


def dropdown_entry(code: str, label: str) -> str:
    """The template's drop-down entry for a code: the code and its label in one entry, which
    the reader takes as the code.

    >>> dropdown_entry("HOME_CARE", "Home care"), dropdown_entry("UNKNOWN", "Unknown")
    ('HOME_CARE: Home care', 'UNKNOWN')
    """
    return code if same_code(code, label) else f"{code}: {label}"


@cache
def code_lookup(spec: FieldSpec) -> dict[str, str]:
    """Folded code, label or drop-down entry (``CODE: label``) -> code, for a code field."""
    lookup: dict[str, str] = {}
    for code, label in spec.codes:
        lookup.setdefault(fold(label), code)
    for code, label in spec.codes:
        lookup.setdefault(fold(dropdown_entry(code, label)), code)
    for code, _ in spec.codes:
        lookup[fold(code)] = code
    return lookup


class Invalid(Exception):
    """A cell whose text cannot be read as its field's type."""


def _number(text: str, pattern: re.Pattern[str]) -> float:
    if not pattern.match(text):
        raise Invalid
    return float(text.replace(",", "").replace("£", "").replace(" ", ""))


def _date(text: str) -> date:
    try:
        if _ISO_RE.match(text):
            year, month, day = (int(part) for part in text.split(" ")[0].split("T")[0].split("-"))
            found = date(year, month, day)
        elif _UK_RE.match(text):
            day, month, year = (int(part) for part in text.split("/"))
            found = date(year, month, day)
        elif _SERIAL_RE.match(text) and SERIAL_MIN <= int(float(text)) <= SERIAL_MAX:
            found = SERIAL_EPOCH + timedelta(days=int(float(text)))
        else:
            raise Invalid
    except ValueError as exc:
        raise Invalid from exc
    if not YEAR_MIN <= found.year <= YEAR_MAX:
        raise Invalid
    return found


def coerce(text: str | None, spec: FieldSpec) -> Any:
    """One cell's text as the JSON value the schema describes; None when blank.

    Raises :class:`Invalid` when the text is not of the field's type. Codes come
    back as their code, dates as ISO text, whole numbers as int.

    >>> from returns_kit.schema import sheet_specs
    >>> budgets = sheet_specs()["Budgets"]
    >>> coerce(" 1,234.0 ", budgets.field("people_total"))
    1234
    >>> coerce("65 and over", budgets.field("age_band"))
    '65+'
    """
    if text is None:
        return None
    text = text.strip(WHITESPACE)
    if not text:
        return None
    if spec.kind == "integer":
        value = _number(text, _NUMBER_RE)
        if not math.isfinite(value) or abs(value) >= WHOLE_LIMIT:
            raise Invalid
        if abs(value - round(value)) >= WHOLE_TOLERANCE:
            raise Invalid
        return int(round(value))
    if spec.kind in ("number", "money"):
        return _number(text, _MONEY_RE if spec.kind == "money" else _NUMBER_RE)
    if spec.kind == "date":
        return _date(text).isoformat()
    if spec.kind == "code":
        code = code_lookup(spec).get(fold(text))
        if code is None:
            raise Invalid
        return code
    return text
