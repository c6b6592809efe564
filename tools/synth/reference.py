"""Column orders, code lists and reference councils that synthetic returns follow."""

from __future__ import annotations

import csv
import datetime
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# The product package in this checkout: the generators read its schemas and reference data
# from files, independently of the code under test.
_PACKAGE = Path(__file__).resolve().parents[2] / "returns_kit"


def _schemas_dir() -> Path:
    # Inside the package when a build has copied them there; else at the top of the checkout.
    for candidate in (_PACKAGE / "schemas", _PACKAGE.parent / "schemas"):
        if (candidate / "codes.json").is_file():
            return candidate
    raise FileNotFoundError("returns_kit schemas not found")


@cache
def _schema(name: str) -> dict[str, Any]:
    with open(_schemas_dir() / f"{name}.json", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def columns(sheet: str) -> list[str]:
    """The columns (or About fields) of ``sheet`` in schema order, which is sheet order."""
    return list(_schema(sheet.lower())["properties"])


def codes(code_list: str) -> list[str]:
    """The codes of ``code_list`` (e.g. "support_reason") in schema order."""
    return list(_schema("codes")["$defs"][code_list]["enum"])


@dataclass(frozen=True)
class Council:
    """A row of the reference list of councils."""

    gss_code: str
    name: str
    region_code: str
    first_period: str | None
    last_period: str | None


@cache
def councils() -> dict[str, Council]:
    """The reference councils by GSS code."""
    with open(_PACKAGE / "data" / "councils.csv", encoding="utf-8", newline="") as f:
        return {
            row["gss_code"]: Council(
                gss_code=row["gss_code"],
                name=row["name"],
                region_code=row["region_code"],
                first_period=row["first_period"] or None,
                last_period=row["last_period"] or None,
            )
            for row in csv.DictReader(f)
        }


_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def period_start_year(period: str) -> int:
    """2013 for "2013-14"; raises ValueError for anything else."""
    m = _PERIOD.match(period)
    if not m or (int(m[1]) + 1) % 100 != int(m[2]):
        raise ValueError(f"period must look like 2013-14, not {period!r}")
    return int(m[1])


def snapshot_date(period: str) -> datetime.date:
    """31 March of the period's second year: the date the counts describe."""
    return datetime.date(period_start_year(period) + 1, 3, 31)


def email_slug(name: str) -> str:
    """ "bournemouth-christchurch-and-poole" for "Bournemouth, Christchurch and Poole"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
