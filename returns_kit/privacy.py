"""Keep personal data out of outputs: what a finding may quote of a cell's value.

Client-level rows are pseudonymous, and a reference that looks like a direct
identifier (an NHS number, an email address, a postcode) must never be repeated.
Values of identifier columns are never quoted; other values are quoted only when
they do not look like an identifier, and never at length.
"""

from __future__ import annotations

import re
from typing import Any

from returns_kit.cells import WHITESPACE

#: White space written out, because \s means different characters to Python's re and to
#: polars' Rust regex (which the vectorised check uses); these are the characters both strip.
_SPACE = "".join(f"\\u{ord(c):04x}" for c in WHITESPACE)
_EMAIL = re.compile(f"^[^@{_SPACE}]+@[^@{_SPACE}]+\\.[^@{_SPACE}]+$")
#: UK postcodes, with or without the space: outward code then inward code.
POSTCODE = r"^(?:[A-Za-z]{1,2}[0-9][A-Za-z0-9]?) ?[0-9][A-Za-z]{2}$"
_POSTCODE = re.compile(POSTCODE)
_DIGITS = re.compile(r"[0-9][0-9 -]{7,}[0-9]")
MAX_SHOWN = 40


def nhs_number_valid(digits: str) -> bool:
    """Whether 10 digits pass the NHS number modulus 11 check digit.

    >>> nhs_number_valid("9434765919"), nhs_number_valid("9434765918")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def identifier_kind(text: str) -> str | None:
    """What kind of direct identifier ``text`` looks like, if any."""
    value = text.strip(WHITESPACE)
    digits = re.sub(f"[{_SPACE}-]", "", value)
    if nhs_number_valid(digits):
        return "an NHS number"
    if _EMAIL.match(value):
        return "an email address"
    if _POSTCODE.match(value):
        return "a postcode"
    return None


def shown(text: str | None, *, identifier: bool = False, work_email: bool = False) -> str:
    """How a finding may quote a cell: quoted and short, or withheld.

    ``work_email`` is for the council's own contact address (About's contact_email): an
    officer's work address may be quoted back, so that they can see what is wrong with it;
    anything else that looks like an identifier is still withheld.

    >>> shown("returns@council"), shown("returns@council", work_email=True)
    ('(value not shown)', '"returns@council"')
    """
    if text is None or not text.strip():
        return "(blank)"
    value = text.strip()
    kind = identifier_kind(value)
    if work_email:
        kind = None if kind == "an email address" else kind
    elif "@" in value:
        kind = kind or "an email address"
    if identifier or kind or _DIGITS.search(value):
        return "(value not shown)"
    if len(value) > MAX_SHOWN:
        value = value[: MAX_SHOWN - 1] + "…"
    return '"' + visible(value).replace('"', "'") + '"'


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Invisible format characters pasted in from web pages and documents: zero-width spaces and
#: joiners, direction marks, the word joiner, the byte-order mark.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def visible(text: str) -> str:
    """Control characters written as \\xNN and invisible ones as \\uNNNN: quoted into a
    message, the first could move a terminal's cursor or make XML output unreadable, and
    the officer could see neither what is wrong with the cell."""
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


#: A cheap test every identifier passes (digits with separators, an @, a postcode), so the
#: full classification runs only on the few values that might be one.
CANDIDATE = f"^[0-9{_SPACE}-]{{10,}}$|@|{POSTCODE}"


def identifier_rows(frame: Any, column: str) -> Any:
    """Rows of ``frame`` whose ``column`` looks like an identifier, its kind in ``_kind``."""
    import polars as pl

    candidates = frame.filter(pl.col(column).str.strip_chars().str.contains(CANDIDATE))
    if candidates.height == 0:
        # The usual case, and no need for the classification's expression: polars takes
        # milliseconds to plan it, rows or none.
        return candidates.with_columns(pl.lit(None, dtype=pl.String).alias("_kind"))
    return candidates.with_columns(identifier_kind_expr(column).alias("_kind")).filter(
        pl.col("_kind").is_not_null()
    )


def identifier_kind_expr(column: str) -> Any:
    """:func:`identifier_kind` as a polars expression over a text column (null when none).

    Vectorised because a Clients sheet has tens of thousands of references.
    """
    import polars as pl

    value = pl.col(column).str.strip_chars()
    digits = value.str.replace_all(f"[{_SPACE}-]", "")
    weighted = pl.sum_horizontal(
        digits.str.slice(i, 1).cast(pl.Int64, strict=False) * (10 - i) for i in range(9)
    )
    check = 11 - weighted % 11
    check = pl.when(check == 11).then(0).otherwise(check)
    nhs = (
        digits.str.contains(r"^[0-9]{10}$")
        & (check != 10)
        & (check == digits.str.slice(9, 1).cast(pl.Int64, strict=False))
    )
    return (
        pl.when(nhs)
        .then(pl.lit("an NHS number"))
        .when(value.str.contains(_EMAIL.pattern))
        .then(pl.lit("an email address"))
        .when(value.str.contains(POSTCODE))
        .then(pl.lit("a postcode"))
        .otherwise(None)
    )
