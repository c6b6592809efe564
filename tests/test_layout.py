"""Workbooks laid out the way people really make them still read right, and cells stay located."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from returns_kit.validate import validate_file
from tools.synth.generate import generate_return
from tools.synth.model import SyntheticReturn

from .typed import number


def write(
    ret: SyntheticReturn,
    path: Path,
    *,
    names: dict[str, str] | None = None,
    top: int = 0,
    left: int = 0,
    headings: dict[str, str] | None = None,
) -> Path:
    """Write ``ret`` with openpyxl, its tables ``top`` rows down and ``left`` columns across."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, grid in ret.sheets.items():
        ws = book.create_sheet((names or {}).get(sheet, sheet))
        if top:
            ws.cell(row=1, column=1 + left, value=f"{sheet} for {ret.council_code}")
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if r == 0 and headings:
                    value = headings.get(str(value), value)
                ws.cell(row=1 + top + r, column=1 + left + c, value=value)
    book.save(path)
    return path


def findings(path: Path) -> list[list[Any]]:
    return [[f.rule, f.sheet, f.cell] for f in validate_file(path).findings]


@pytest.fixture(scope="module")
def base() -> SyntheticReturn:
    return generate_return("E06000001", "2013-14", people=300, seed=3)


def test_title_rows_offset_columns_and_heading_variants(
    base: SyntheticReturn, tmp_path: Path
) -> None:
    headings = {
        "people_total": "People Total",
        "dp_part": "DP-Part",
        "gross_spend_gbp": " gross spend gbp ",
        "service_type": "SERVICE TYPE",
    }
    path = write(
        base,
        tmp_path / "offset.xlsx",
        top=3,
        left=2,
        headings=headings,
        names={"Budgets": " budgets ", "About": "ABOUT"},
    )
    assert findings(path) == []


def test_a_bad_cell_is_located_despite_offsets(base: SyntheticReturn, tmp_path: Path) -> None:
    ret = copy.deepcopy(base)
    ret.sheets["Budgets"][5][3] = "lots"  # grid row 5, column 3 (dp_self_managed)
    path = write(ret, tmp_path / "located.xlsx", top=2, left=1)
    # A title row and a blank row push the header to row 3, so grid row 5 is sheet row 8;
    # one column across makes grid column 3 column E.
    assert findings(path) == [["V001", "Budgets", "E8"]]


def test_labels_text_numbers_money_and_text_dates_are_accepted(tmp_path: Path) -> None:
    ret = generate_return("E06000001", "2013-14", people=300, seed=4)
    budgets, services, about = ret.sheets["Budgets"], ret.sheets["Services"], ret.sheets["About"]
    for row in budgets[1:]:
        row[0] = {"18-64": "18 to 64", "65+": "65 AND OVER"}[str(row[0])]
        row[2] = f"{row[2]:,}.0"
    for row in services[1:]:
        row[0] = str(row[0]).replace("_", " ").lower()
        row[4] = f"£{number(row[4]):,.2f}"
    for row in about[1:]:
        if row[0] == "submitted_on":
            row[1] = "15/06/2014"
    assert findings(write(ret, tmp_path / "forms.xlsx")) == []


def test_serial_and_date_cells_for_dates(tmp_path: Path) -> None:
    for value in (41805, dt.datetime(2014, 6, 15, 9, 30), "2014-06-15"):
        ret = generate_return("E06000001", "2013-14", people=200, seed=5)
        for row in ret.sheets["About"][1:]:
            if row[0] == "submitted_on":
                row[1] = value
        assert findings(write(ret, tmp_path / "dates.xlsx")) == [], value


def test_trailing_blank_rows_are_ignored_and_middle_ones_reported(tmp_path: Path) -> None:
    ret = generate_return("E06000001", "2013-14", people=300, seed=6)
    services = ret.sheets["Services"]
    width = len(services[0])
    services.insert(3, [None] * width)
    services.insert(3, [" "] * width)
    services.extend([[None] * width, [""] * width])
    result = validate_file(write(ret, tmp_path / "blanks.xlsx"))
    assert [[f.rule, f.cell] for f in result.findings] == [["F008", "A4"]]
    assert "Rows 4 to 5" in result.findings[0].message


def test_a_sheet_without_a_header_row(tmp_path: Path) -> None:
    ret = generate_return("E06000001", "2013-14", people=200, seed=7)
    ret.sheets["Services"] = [["just", "some", "notes"], ["nothing", "to", "see"]]
    result = findings(write(ret, tmp_path / "noheader.xlsx"))
    assert ["F005", "Services", None] in result


def test_unknown_values_in_number_columns_are_findings_not_nulls(tmp_path: Path) -> None:
    """polars' own Excel path would silently null "unknown" in a number column."""
    ret = generate_return("E06000001", "2013-14", people=200, seed=8)
    ret.sheets["Budgets"][1][2] = "unknown"
    ret.sheets["Budgets"][2][4] = "n/a"
    assert findings(write(ret, tmp_path / "unknown.xlsx")) == [
        ["V001", "Budgets", "C2"],
        ["V001", "Budgets", "E3"],
    ]
