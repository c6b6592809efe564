"""Build returns_kit/data/hscic_activity.csv from HSCIC's published activity annexes.

A maintainer's tool, not product code (it is not in the wheel). It reads the folder of the
reference data (``raw/activity-20XX-YY.csv`` and ``cassr-to-gss.json``) and writes one tidy
long table: one row per council (or England), period and measure.

    python tools/hscic.py FOLDER [--out returns_kit/data/hscic_activity.csv]

The annexes of 2009-10 to 2013-14 share one shape (one row per council, HSCIC's field codes
in one header row, the column labels above it) but not one set of codes: the same figure is
A4.20 in 2010-11 and A4.18 in 2011-12. So the columns are found by their published label,
never by code or position, and a label that is missing or found twice stops the tool.
2014-15 (SALT/ASC-FR) counts other things and is not read: see docs/hscic-activity.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

PERIODS = ("2009-10", "2010-11", "2011-12", "2012-13", "2013-14")

# measure -> the label of its column in the "People receiving services at 31 March" block
# (codes A4.*). The direct payment labels read "Existing / new Direct payments and Personal
# Budgets" in 2009-10 and 2010-11 and "Direct payments" later, hence the ".*".
MEASURES: dict[str, re.Pattern[str]] = {
    "dp_18_64_pd": re.compile(r"^Physical disability, 18-64, .*Direct payments"),
    "dp_18_64_mh": re.compile(r"^Mental health, 18-64, .*Direct payments"),
    "dp_18_64_ld": re.compile(r"^Learning disability, 18-64, .*Direct payments"),
    "dp_18_64": re.compile(r"^Total 18-64, .*Direct payments"),
    "dp_65_plus": re.compile(r"^Total 65 and over, .*Direct payments"),
    "dp_all": re.compile(r"^Total all ages, .*Direct payments"),
    "home_care": re.compile(r"^Total all ages, Home care"),
    "day_care": re.compile(r"^Total all ages, Day care"),
    "meals": re.compile(r"^Total all ages, Meals"),
}

# 2009-10 publishes people on direct payments aged 65-74, 75-84 and 85+ from two different
# RAP pages, with no 65+ total: a sum of three rounded figures from two definitions is not
# the published figure, so the measure is simply absent that year.
ABSENT = {("2009-10", "dp_65_plus")}

ENGLAND = ("ENG", "E92000001", "England")
# cassr-to-gss.json comes from the 2016-17 file, which has no Isles of Scilly; its GSS code
# is the ONS one (and the one in returns_kit/data/councils.csv).
SUPPLEMENT = {"906": "E06000053"}
_COUNCIL = re.compile(r"^\s*(\d{3})\s*-\s*(.+?)\s*$")
COLUMNS = ("council_code", "cassr_code", "council", "period", "measure", "people", "marker")


class SourceError(Exception):
    """The folder does not hold the annexes as published."""


def _read_rows(path: Path) -> list[list[str]]:
    # The annexes are Windows-1252 text (the copyright sign is one byte).
    with path.open(encoding="cp1252", newline="") as handle:
        return list(csv.reader(handle))


def _columns(rows: list[list[str]], period: str) -> tuple[int, dict[str, int]]:
    """The index of the field-code row, and each measure's column."""
    code_row = next((i for i, row in enumerate(rows) if len(row) > 1 and row[1] == "A1.1"), None)
    if code_row is None:
        raise SourceError(f"{period}: no row of field codes (A1.1 ...)")
    found: dict[str, int] = {}
    for j, code in enumerate(rows[code_row]):
        if not code.startswith("A4."):
            continue
        labels = [rows[i][j].strip() for i in range(code_row) if j < len(rows[i])]
        for measure, pattern in MEASURES.items():
            if any(pattern.search(label) for label in labels):
                if measure in found:
                    raise SourceError(f"{period}: two columns match {measure}")
                found[measure] = j
    missing = set(MEASURES) - set(found) - {m for p, m in ABSENT if p == period}
    if missing:
        raise SourceError(f"{period}: no column for {', '.join(sorted(missing))}")
    return code_row, found


def _count(text: str, where: str) -> tuple[str, str]:
    """(people, marker): a published count, or blank with HSCIC's symbol kept as the marker."""
    value = text.strip().replace(",", "")
    if value in ("..", "-"):
        # ".." not available; "-" (2009-10 only) more than 0 and at most 5
        return "", value
    if not value.isdigit():
        raise SourceError(f"{where}: not a count: {text!r}")
    return value, ""


def read_period(folder: Path, period: str, gss: dict[str, str]) -> list[dict[str, str]]:
    path = folder / "raw" / f"activity-{period}.csv"
    if not path.is_file():
        raise SourceError(f"missing {path}")
    rows = _read_rows(path)
    code_row, columns = _columns(rows, period)
    out: list[dict[str, str]] = []
    for row in rows[code_row + 1 :]:
        first = row[0].strip() if row else ""
        match = _COUNCIL.match(first)
        if match:
            cassr, name = match.group(1), match.group(2)
            if cassr not in gss:
                raise SourceError(f"{period}: council {cassr} has no GSS code")
            code = gss[cassr]
        elif first == "TOTAL England":
            cassr, code, name = ENGLAND
        else:
            continue
        for measure, j in columns.items():
            people, marker = _count(row[j], f"{period} {cassr} {measure}")
            out.append(
                {
                    "council_code": code,
                    "cassr_code": cassr,
                    "council": name,
                    "period": period,
                    "measure": measure,
                    "people": people,
                    "marker": marker,
                }
            )
    councils = {r["cassr_code"] for r in out} - {"ENG"}
    if len(councils) != 152 or not any(r["cassr_code"] == "ENG" for r in out):
        raise SourceError(f"{period}: {len(councils)} councils and England expected 152 + 1")
    return out


def build(folder: Path) -> list[dict[str, str]]:
    mapping = json.loads((folder / "cassr-to-gss.json").read_text("utf-8"))
    gss = {cassr: codes[0] for cassr, codes in mapping.items()} | SUPPLEMENT
    rows = [row for period in PERIODS for row in read_period(folder, period, gss)]
    # One name per council: the latest published spelling ("Northumberland UA" became
    # "Northumberland"), so that a council reads the same in every period.
    latest = {row["cassr_code"]: row["council"] for row in rows}
    order = {m: i for i, m in enumerate(MEASURES)}
    for row in rows:
        row["council"] = latest[row["cassr_code"]]
    rows.sort(key=lambda r: (r["period"], r["council_code"], order[r["measure"]]))
    return rows


def write(rows: list[dict[str, str]], out: Path) -> None:
    # Written beside the target then renamed: a failed run leaves the old table whole.
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the hscic-activity reference folder")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "returns_kit/data/hscic_activity.csv",
    )
    args = parser.parse_args(argv)
    try:
        rows = build(args.folder)
    except (OSError, ValueError, SourceError) as exc:
        print(f"hscic: {exc}", file=sys.stderr)
        return 2
    write(rows, args.out)
    print(f"{len(rows)} rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
