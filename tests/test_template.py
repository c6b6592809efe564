"""build_template: a blank return built from the schemas, which validates clean once filled in."""

from __future__ import annotations

import datetime
import html
import os
import re
import shutil
import stat
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from returns_kit.periods import Period
from returns_kit.schema import sheet_specs
from returns_kit.template import (
    CLIENTS_ROWS,
    INSTRUCTIONS_COLUMNS,
    TABLE_ROWS,
    TemplateError,
    build_template,
)
from returns_kit.validate import validate_file
from tools.synth.generate import generate_return

from .conftest import libreoffice_convert, pictures_folder

COUNCIL, PERIOD, NAME = "E06000001", "2013-14", "Hartlepool"

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
    return filled_path(template, tmp_path_factory.mktemp("filled"))


def filled_path(template: Path, folder: Path) -> Path:
    """``template`` filled in from a consistent synthetic return, saved in ``folder``."""
    ret = generate_return(COUNCIL, PERIOD, people=300)
    wb = openpyxl.load_workbook(template)

    about = wb["About"]
    given = {str(name): value for name, value in ret.sheets["About"][1:]}
    submitted_on = given["submitted_on"]
    assert isinstance(submitted_on, datetime.date)
    assert submitted_on > Period(int(PERIOD[:4])).snapshot
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

    path = folder / "filled.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def filled(filled_as_is: Path) -> Path:
    """The filled template as a council would send it, its empty Clients sheet left in."""
    return filled_as_is


def _assert_clean(path: Path) -> None:
    """No finding at all: not even an info about the template's own sheets (its guide, its
    code lists) or the optional sheets left empty."""
    report = validate_file(path)
    assert report.findings == []
    assert report.valid
    assert (report.council_code, report.period, report.council_name) == (COUNCIL, PERIOD, NAME)


def test_filled_template_validates_clean(filled: Path) -> None:
    _assert_clean(filled)


def test_blank_template_asks_only_for_what_the_council_fills(template: Path) -> None:
    blank = {(f.rule, f.sheet, f.column) for f in validate_file(template).findings}
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


def _dropdowns(template: Path) -> dict[tuple[str, str], list[str]]:
    """(sheet, column) -> the entries of its drop-down, as the Lists sheet holds them."""
    wb = openpyxl.load_workbook(template)
    lists = wb["Lists"]
    found = {}
    for name, spec in sheet_specs().items():
        ws = wb[name]
        for dv in ws.data_validations.dataValidation:
            if dv.type != "list":
                continue
            sheet, _, ref = dv.formula1.partition("!")
            assert sheet == "Lists"
            entries = [cell.value for row in lists[ref.replace("$", "")] for cell in row]
            for cell_range in dv.sqref.ranges:
                field = (
                    spec.fields[cell_range.min_row - 2]
                    if spec.layout == "fields"
                    else spec.fields[cell_range.min_col - 1]
                )
                found[name, field.name] = entries
    return found


def test_every_code_cell_has_one_dropdown_entry_per_code(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
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
            if field.kind == "code":
                # A code or label typed on its own is accepted, so the list only warns.
                assert dv.type == "list" and dv.errorStyle == "warning"
            elif field.kind != "text":
                assert dv.errorStyle == "stop"
    dropdowns = _dropdowns(template)
    codes = {
        (name, field.name): field
        for name, spec in sheet_specs().items()
        for field in spec.fields
        if field.kind == "code"
    }
    assert set(dropdowns) == set(codes)
    for key, field in codes.items():
        entries = dropdowns[key]
        # One entry per code, in code-list order, each starting with its code.
        assert len(entries) == len(field.codes), key
        for entry, (code, label) in zip(entries, field.codes, strict=True):
            assert entry == code or entry == f"{code}: {label}", key
    assert dropdowns["Services", "service_type"][0] == "HOME_CARE: Home care"
    assert dropdowns["About", "schema_version"] == ["1.0"]
    assert len(dropdowns["Budgets", "support_reason"]) == 13
    assert "UNKNOWN" in dropdowns["Budgets", "support_reason"]  # its label only repeats it


def test_every_dropdown_entry_reads_as_its_code(template: Path, tmp_path: Path) -> None:
    """Each entry of each drop-down, written in its column, passes validation: rows of
    Services and Clients cycle through every entry of every code column at once."""
    dropdowns = _dropdowns(template)
    wb = openpyxl.load_workbook(template)
    written: dict[tuple[str, str], set[str]] = {}
    for name in ("Services", "Clients"):
        ws = wb[name]
        columns = _headings(ws)
        mine = {column: entries for (sheet, column), entries in dropdowns.items() if sheet == name}
        rows = max(map(len, mine.values()))
        for index in range(rows):
            for column, entries in mine.items():
                entry = entries[index % len(entries)]
                ws.cell(index + 2, columns[column]).value = entry
                written.setdefault((name, column), set()).add(entry)
    path = tmp_path / "entries.xlsx"
    wb.save(path)
    assert all(written[key] == set(entries) for key, entries in written.items() if key in dropdowns)
    code_columns = {column for sheet, column in dropdowns}
    refused = [
        (f.rule, f.sheet, f.column, f.message)
        for f in validate_file(path).findings
        if f.rule in ("V001", "V002") and f.column in code_columns
    ]
    assert refused == []


def test_return_filled_from_the_dropdowns_validates_clean(template: Path, tmp_path: Path) -> None:
    """The Budgets keys and the Services codes written as drop-down entries: no finding."""
    dropdowns = _dropdowns(template)
    entry = {
        (column, value.partition(":")[0]): value
        for (_, column), entries in dropdowns.items()
        for value in entries
    }
    wb = openpyxl.load_workbook(filled_path(template, tmp_path))
    budgets = wb["Budgets"]
    columns = _headings(budgets)
    for row in range(2, budgets.max_row + 1):
        for name in ("age_band", "support_reason"):
            cell = budgets.cell(row, columns[name])
            cell.value = entry[name, cell.value]
    services = wb["Services"]
    columns = _headings(services)
    for row in range(2, services.max_row + 1):
        for name in ("service_type", "arrangement"):
            cell = services.cell(row, columns[name])
            cell.value = entry[name, cell.value]
    path = tmp_path / "from-dropdowns.xlsx"
    wb.save(path)
    _assert_clean(path)


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


# --- how it looks in LibreOffice ------------------------------------------------------------

SCREENSHOTS = pictures_folder("template")


def _words(page_xml: str) -> list[tuple[str, float, float, float, float]]:
    """The words of one page of ``pdftotext -bbox`` output, with their boxes."""
    found = []
    for match in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
        page_xml,
    ):
        x0, y0, x1, y1 = map(float, match.groups()[:4])
        found.append((html.unescape(match.group(5)), x0, y0, x1, y1))
    return found


def _parts(text: str) -> list[str]:
    return [part for part in re.split(r"\s+|(?<=-)", text) if part]


def _overlaps(words: list[tuple[str, float, float, float, float]]) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other: boxes that share more than a sliver across and
    more than half a line down (a word's box takes in the ascent and descent of its font,
    so the boxes of lines set close together touch without the text meeting)."""
    pairs = []
    ordered = sorted(words, key=lambda word: word[2])
    for i, (text, x0, y0, x1, y1) in enumerate(ordered):
        for other, u0, v0, u1, v1 in ordered[i + 1 :]:
            if v0 >= y1:
                break
            across = min(x1, u1) - max(x0, u0)
            down = min(y1, v1) - max(y0, v0)
            if across > 0.5 and down > 0.5 * min(y1 - y0, v1 - v0):
                pairs.append((text, other))
    return pairs


@pytest.mark.slow
@no_libreoffice
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_instructions_print_every_word_without_overlap(template: Path, tmp_path: Path) -> None:
    """The template printed by LibreOffice: every word of the Instructions sheet is on a
    page, no word is drawn over another (a row too short for its wrapped text spills into
    the next), and the guide fits a few landscape pages. Screenshots of every page go to
    test-output/template/ for people to look at."""
    pdf = _libreoffice(template, "pdf", tmp_path, tmp_path / "profile")
    pages = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split("<page ")[1:]
    # The Instructions sheet prints first; the About sheet's first page starts "field".
    about = next(i for i, page in enumerate(pages) if _words(page)[0][0] == "field")
    instructions = pages[:about]
    # Split after hyphens too: a line may break there ("self-" / "managed").
    printed = Counter(part for page in instructions for w in _words(page) for part in _parts(w[0]))
    ws = openpyxl.load_workbook(template)["Instructions"]
    wanted = Counter(
        part
        for row in ws.iter_rows()
        for cell in row
        if cell.value is not None
        for part in _parts(str(cell.value))
    )
    assert wanted - printed == Counter()
    assert [pair for page in instructions for pair in _overlaps(_words(page))] == []
    assert 1 <= len(instructions) <= 4
    for page in pages:
        width, height = (float(n) for n in re.findall(r'(?:width|height)="([\d.]+)"', page)[:2])
        assert (round(width), round(height)) in ((842, 595), (595, 842))  # A4, either way
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("template-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", str(pdf), str(SCREENSHOTS / "template")], check=True
    )
    assert len(list(SCREENSHOTS.glob("template-*.png"))) == len(pages)


def test_every_sheet_prints_one_page_wide_on_a4(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    for ws in wb.worksheets:
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.page_setup.paperSize == 9  # A4
        wide = sum(d.width for d in ws.column_dimensions.values() if d.width) > 100
        assert ws.page_setup.orientation == ("landscape" if wide else "portrait"), ws.title
    assert wb["Instructions"].page_setup.orientation == "landscape"
    assert wb["Budgets"].print_title_rows == "$1:$1"


def test_every_cell_names_its_font(template: Path) -> None:
    """A style that names no font is shown by LibreOffice in a serif default."""
    wb = openpyxl.load_workbook(template)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    assert cell.font.name == "Arial", (ws.title, cell.coordinate)
    styles = zipfile.ZipFile(template).read("xl/styles.xml").decode()
    assert styles.count("<font>") == styles.count('<name val="Arial"')


def test_wrapped_instructions_rows_are_tall_enough(template: Path) -> None:
    """Each row of wrapped text has a height of its own, at least a line per line of its
    longest cell (LibreOffice gives a row of no height one line, hiding the rest)."""
    ws = openpyxl.load_workbook(template)["Instructions"]
    reasons = next(row[0].row for row in ws.iter_rows() if row[1].value == "support_reason")
    assert ws.row_dimensions[reasons].height >= 13 * 12
    for row in ws.iter_rows():
        if any(cell.alignment.wrap_text for cell in row if cell.value is not None):
            lines = max(str(c.value).count("\n") + 1 for c in row if c.value is not None)
            assert (ws.row_dimensions[row[0].row].height or 0) >= lines * 12, row[0].row


@pytest.mark.parametrize(
    ("sheet", "cell", "text"),
    [("Instructions", "A1", "Our own notes"), ("Lists", "A1", "18-64")],
    ids=["instructions-of-our-own", "lists-of-our-own"],
)
def test_a_sheet_named_like_the_templates_but_not_its_is_reported(
    filled: Path, sheet: str, cell: str, text: str, tmp_path: Path
) -> None:
    """Only the template's own guide and code lists pass without a word; a council's own
    sheet of the same name is still an F006 info."""
    wb = openpyxl.load_workbook(filled)
    wb[sheet][cell] = text
    path = tmp_path / "own.xlsx"
    wb.save(path)
    assert [(f.rule, f.sheet) for f in validate_file(path).findings] == [("F006", sheet)]


def test_the_template_follows_the_umask(tmp_path: Path) -> None:
    """Like any file a program makes: 0o666 less the umask, written whole or not at all."""
    out = tmp_path / "t.xlsx"
    previous = os.umask(0o027)
    try:
        build_template(COUNCIL, PERIOD, out)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
