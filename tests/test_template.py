"""build_template: a blank return built from the schemas, which validates clean once filled in."""

from __future__ import annotations

import datetime
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from returns_kit.findings import Finding, Severity
from returns_kit.periods import Period
from returns_kit.report import FileReport
from returns_kit.schema import sheet_specs
from returns_kit.synth.generate import generate_return
from returns_kit.template import (
    CLIENTS_ROWS,
    INSTRUCTIONS_COLUMNS,
    TABLE_ROWS,
    TemplateError,
    build_template,
)
from returns_kit.validate import validate_file

from .conftest import libreoffice_convert

COUNCIL, PERIOD, NAME = "E06000001", "2013-14", "Hartlepool"
#: The sheets that are not part of the return, which the validator ignores with an F006 info.
# Info-only sheets of a filled template: its guide, its code lists, and the optional sheets
# a council that sends no Clients leaves empty (treated as not sent).
IGNORED = {"Instructions", "Lists", "Clients", "Explanations"}

no_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice is not installed"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    build_template(COUNCIL, PERIOD, path)
    return path


def _headings(ws: Any) -> dict[str, int]:
    return {cell.value: cell.column for cell in ws[1] if cell.value is not None}


def _records(grid: list[list[Any]]) -> list[dict[str, Any]]:
    header = grid[0]
    return [dict(zip(header, row, strict=True)) for row in grid[1:]]


@pytest.fixture(scope="module")
def filled_as_is(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template filled in cell by cell from a consistent synthetic return, as a council
    that sends no Clients would: About, Budgets and Services; Clients and Explanations empty."""
    ret = generate_return(COUNCIL, PERIOD, people=300)
    wb = openpyxl.load_workbook(template)

    about = wb["About"]
    given = dict(ret.sheets["About"][1:])
    assert given["submitted_on"] > Period(int(PERIOD[:4])).snapshot
    for row in about.iter_rows(min_row=2):
        if row[0].value in ("submitted_on", "contact_email"):
            assert row[1].value is None  # left for the council to fill
            row[1].value = given[row[0].value]

    budgets = wb["Budgets"]
    columns = _headings(budgets)
    rows = {
        (budgets.cell(row, 1).value, budgets.cell(row, 2).value): row
        for row in range(2, budgets.max_row + 1)
    }
    records = _records(ret.sheets["Budgets"])
    assert set(rows) == {(r["age_band"], r["support_reason"]) for r in records}
    for record in records:
        row = rows[record["age_band"], record["support_reason"]]
        for name, value in record.items():
            budgets.cell(row, columns[name]).value = value

    services = wb["Services"]
    columns = _headings(services)
    for row, record in enumerate(_records(ret.sheets["Services"]), start=2):
        for name, value in record.items():
            services.cell(row, columns[name]).value = value

    path = tmp_path_factory.mktemp("filled") / "filled.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def filled(filled_as_is: Path) -> Path:
    """The filled template as a council would send it, its empty Clients sheet left in."""
    return filled_as_is


def _unexpected(report: FileReport) -> list[Finding]:
    """Every finding other than F006 info for the Instructions and Lists sheets."""
    return [
        f
        for f in report.findings
        if not (f.rule == "F006" and f.severity is Severity.INFO and f.sheet in IGNORED)
    ]


def _assert_clean(path: Path) -> None:
    report = validate_file(path)
    assert _unexpected(report) == []
    assert report.valid
    assert (report.council_code, report.period, report.council_name) == (COUNCIL, PERIOD, NAME)


def test_filled_template_validates_clean(filled: Path) -> None:
    _assert_clean(filled)


def test_blank_template_asks_only_for_what_the_council_fills(template: Path) -> None:
    blank = {(f.rule, f.sheet, f.column) for f in _unexpected(validate_file(template))}
    counts = [f.name for f in sheet_specs()["Budgets"].fields if f.kind == "integer"]
    assert blank == {
        ("V004", "About", "submitted_on"),
        ("V004", "About", "contact_email"),
        *(("V004", "Budgets", name) for name in counts),
    }


def _libreoffice(source: Path, fmt: str, outdir: Path, profile: Path) -> Path:
    done = libreoffice_convert(source, fmt, outdir)
    converted = outdir / f"{source.stem}.{fmt}"
    assert done.returncode == 0 and converted.is_file(), done.stderr
    return converted


@pytest.fixture(scope="module")
def libreoffice_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One profile for both conversions: LibreOffice's first start in a new profile is the slow one.
    return tmp_path_factory.mktemp("libreoffice") / "profile"


@pytest.mark.slow
@no_libreoffice
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_filled_template_saved_by_libreoffice_validates_clean(
    filled: Path, fmt: str, libreoffice_profile: Path, tmp_path: Path
) -> None:
    _assert_clean(_libreoffice(filled, fmt, tmp_path, libreoffice_profile))


# --- what the template holds ----------------------------------------------------------------


def test_sheet_order_and_hidden_lists(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Instructions", *sheet_specs(), "Lists"]
    assert wb["Lists"].sheet_state == "hidden"
    assert wb.active.title == "Instructions"
    for name, spec in sheet_specs().items():
        ws = wb[name]
        expected = ["field", "value"] if spec.layout == "fields" else list(spec.field_names)
        assert [cell.value for cell in ws[1]] == expected
        assert all(cell.font.bold for cell in ws[1])
        assert ws.freeze_panes == "A2"
    assert wb.properties.created == wb.properties.modified == datetime.datetime(2000, 1, 1)


def test_about_has_the_reference_name_and_blanks_to_fill(template: Path) -> None:
    ws = openpyxl.load_workbook(template)["About"]
    values = {row[0].value: row[1] for row in ws.iter_rows(min_row=2)}
    assert list(values) == list(sheet_specs()["About"].field_names)
    assert {name: cell.value for name, cell in values.items()} == {
        "schema_version": "1.0",
        "council_code": COUNCIL,
        "council_name": NAME,
        "period": PERIOD,
        "submitted_on": None,
        "contact_email": None,
    }
    submitted = values["submitted_on"]
    assert submitted.number_format == "yyyy-mm-dd"
    assert any(
        dv.type == "date" and submitted.coordinate in dv.sqref
        for dv in ws.data_validations.dataValidation
    )


def test_every_code_cell_has_a_dropdown_of_codes_and_labels(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    lists = wb["Lists"]
    for name, spec in sheet_specs().items():
        if spec.layout != "table":
            continue
        ws = wb[name]
        by_column = {
            cell_range.min_col: (dv, cell_range)
            for dv in ws.data_validations.dataValidation
            for cell_range in dv.sqref.ranges
        }
        last = {"Budgets": 27, "Clients": CLIENTS_ROWS + 1}.get(name, TABLE_ROWS + 1)
        for column, field in enumerate(spec.fields, start=1):
            dv, cell_range = by_column[column]
            assert (cell_range.min_row, cell_range.max_row) == (2, last), (name, field.name)
            assert field.description[:100] in dv.prompt
            if field.kind != "code":
                continue
            assert dv.type == "list"
            sheet, _, ref = dv.formula1.partition("!")
            assert sheet == "Lists"
            choices = [cell.value for row in lists[ref.replace("$", "")] for cell in row]
            assert choices[: len(field.codes)] == list(field.code_list)
            # Labels too, unless one differs from its code only in case (the check ignores case).
            folded = {choice.casefold() for choice in choices}
            assert all(label.casefold() in folded for _, label in field.codes)


def test_numbers_are_checked_and_money_formatted(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    budgets = wb["Budgets"]
    whole = {
        cell_range.min_col
        for dv in budgets.data_validations.dataValidation
        if dv.type == "whole" and dv.operator == "greaterThanOrEqual" and dv.formula1 == "0"
        for cell_range in dv.sqref.ranges
    }
    counts = [i for i, f in enumerate(sheet_specs()["Budgets"].fields, 1) if f.kind == "integer"]
    assert whole == set(counts) and len(counts) == 7
    errors = [dv.error for dv in budgets.data_validations.dataValidation if dv.type == "whole"]
    assert any("Commissioned support only." in error for error in errors)

    services = wb["Services"]
    spend = _headings(services)["gross_spend_gbp"]
    assert services.column_dimensions[get_column_letter(spend)].number_format == "£#,##0.00"
    decimal = [dv for dv in services.data_validations.dataValidation if dv.type == "decimal"]
    assert {cell_range.min_col for dv in decimal for cell_range in dv.sqref.ranges} == {
        i
        for i, f in enumerate(sheet_specs()["Services"].fields, 1)
        if f.kind in ("number", "money")
    }


def test_instructions_list_every_field_of_every_sheet(template: Path) -> None:
    ws = openpyxl.load_workbook(template)["Instructions"]
    rows = [tuple(cell.value for cell in row[:6]) for row in ws.iter_rows()]
    start = rows.index(INSTRUCTIONS_COLUMNS) + 1
    table = [row for row in rows[start:] if row[0] is not None]
    expected = [
        (name, field.name, "yes" if field.required else "no", field.description)
        for name, spec in sheet_specs().items()
        for field in spec.fields
    ]
    assert [(r[0], r[1], r[2], r[4]) for r in table] == expected
    for row, (name, field_name, *_) in zip(table, expected, strict=True):
        field = sheet_specs()[name].field(field_name)
        for code in field.code_list:
            assert code in row[5]
        assert (row[5] is None) == (field.kind != "code")
    assert NAME in rows[0][0]


def test_same_arguments_give_the_same_bytes(template: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.xlsx"
    build_template(COUNCIL, PERIOD, again)
    assert again.read_bytes() == template.read_bytes()


@pytest.mark.parametrize(
    ("code", "period", "words"),
    [
        ("E99999999", "2013-14", "not in the reference list"),
        (COUNCIL, "2013/14", "not a financial year"),
        (COUNCIL, "2013-15", "not a financial year"),
        (COUNCIL, "2005-06", "before 2009-10"),
        ("E06000066", "2013-14", "Somerset) was not a council"),
        ("E10000027", "2023-24", "until 2022-23"),
    ],
    ids=["unknown-council", "slash-period", "not-consecutive", "before-reference", "new", "gone"],
)
def test_no_template_for_a_council_not_responsible(
    code: str, period: str, words: str, tmp_path: Path
) -> None:
    out = tmp_path / "t.xlsx"
    with pytest.raises(TemplateError, match=re.escape(words)):
        build_template(code, period, out)
    assert not out.exists()


def test_former_code_and_lower_case_are_accepted(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    build_template(" e06000048 ", "2013-14", out)  # Northumberland's former code
    about = openpyxl.load_workbook(out)["About"]
    assert (about["B3"].value, about["B4"].value) == ("E06000048", "Northumberland")


def test_output_must_be_xlsx(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"\.xlsx"):
        build_template(COUNCIL, PERIOD, tmp_path / "t.ods")
