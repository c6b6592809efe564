"""Make the corpus of real-world oddities: tests/data/oddities/, its expected.json and README.

Run from anywhere: python tests/make_corpus.py. Each file is a small valid return with
one oddity in it, and the findings expected of it are derived here from where the oddity
is planted, never by running the validator (as in fixtures/make_fixtures.py).

Files saved by LibreOffice (``.xlsx``, ``.ods`` and the legacy ``.xls``) are committed as
LibreOffice wrote them, and remade only when missing or with ``--libreoffice`` (LibreOffice
stamps the time into them, so each run would change them); everything else is
byte-for-byte the same on every run. Hostile files (bombs, huge grids) are not committed:
``HOSTILE`` says how tests/test_corpus.py builds each at test time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # so the script runs without installing returns_kit

from tools.synth import Formula, SyntheticReturn, generate_return, write_ods  # noqa: E402
from tools.synth.zips import FixedTimeZipFile, copy_zip, make_macro_enabled  # noqa: E402

DATA = HERE / "data"
ODDITIES = DATA / "oddities"

#: A finding as expected.json states it: [rule, sheet, cell].
Expected = list[str | None]

FIXED_TIME = datetime.datetime(2000, 1, 1)
BASE = ("E06000001", "2013-14")  # Hartlepool
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: The largest a committed file may be: the corpus stays small enough to read in a diff tool.
MAX_COMMITTED_BYTES = 30 * 1024


# --- addressing (deliberately not returns_kit's own, so a bug there cannot hide) --------


def letter(col: int) -> str:
    """Column letter of a 0-based column index (0 -> A, 26 -> AA)."""
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def addr(row: int, col: int) -> str:
    """A1 address of a 0-based grid position (grid row 0 is sheet row 1)."""
    return f"{letter(col)}{row + 1}"


def money(value: object) -> float:
    assert isinstance(value, int | float), value
    return float(value)


def about_row(ret: SyntheticReturn, field: str) -> int:
    return next(i for i, row in enumerate(ret.sheets["About"]) if row[0] == field)


def set_about(ret: SyntheticReturn, field: str, value: Any) -> str:
    """Set an About value; returns its cell."""
    i = about_row(ret, field)
    ret.sheets["About"][i][1] = value
    return addr(i, 1)


# --- bases and writers ------------------------------------------------------------------


def base(*, clients: bool = False, council: str = BASE[0]) -> SyntheticReturn:
    """A small valid return: 40 people, or 20 with a Clients sheet (dates live there)."""
    return generate_return(
        council, BASE[1], seed=0, people=20 if clients else 40, with_clients=clients
    )


def workbook(ret: SyntheticReturn) -> Any:
    """``ret`` as an openpyxl workbook in normal mode, so that cells can be merged, hidden
    and styled; formulas are written without a cached value, dates as date cells."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, grid in ret.sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(grid, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(
                    row=r, column=c, value=value.text if isinstance(value, Formula) else value
                )
                if isinstance(value, datetime.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(value, datetime.date):
                    cell.number_format = "yyyy-mm-dd"
    return wb


def save(wb: Any, path: Path) -> None:
    """Save with fixed document and zip times, so the same workbook gives the same bytes."""
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.creator = "tests/make_corpus.py"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    with FixedTimeZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()


def write(ret: SyntheticReturn, path: Path, edit: Callable[[Any], None] | None = None) -> None:
    wb = workbook(ret)
    if edit is not None:
        edit(wb)
    save(wb, path)


def sheet_part(ret: SyntheticReturn, sheet: str) -> str:
    """The zip member openpyxl writes ``sheet`` to (sheets are numbered in order)."""
    return f"xl/worksheets/sheet{list(ret.sheets).index(sheet) + 1}.xml"


def soffice() -> str | None:
    return shutil.which("soffice")


def libreoffice(source: Path, filter_name: str, path: Path) -> None:
    """Have LibreOffice open ``source`` and save it as ``path`` (real LibreOffice output)."""
    program = soffice()
    assert program is not None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        staged = folder / "in" / f"{path.stem}{source.suffix}"
        staged.parent.mkdir()
        shutil.copyfile(source, staged)
        subprocess.run(
            [
                program,
                f"-env:UserInstallation=file://{folder}/profile",
                "--headless",
                "--convert-to",
                filter_name,
                "--outdir",
                str(folder / "out"),
                str(staged),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        extension = filter_name.split(":")[0]
        shutil.copyfile(folder / "out" / f"{path.stem}.{extension}", path)


def via_libreoffice(
    ret: SyntheticReturn, path: Path, filter_name: str, edit: Callable[[Any], None] | None = None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.xlsx"
        write(ret, source, edit)
        libreoffice(source, filter_name, path)


XLSX = "xlsx:Calc MS Excel 2007 XML"
ODS = "ods"
XLS = "xls:MS Excel 97"


# --- the committed cases ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One committed file: what is odd about it, and why it gives the findings it does."""

    name: str
    oddity: str
    why: str
    #: writes the file at the given path and returns the findings it must produce
    build: Callable[[Path], list[Expected]]
    #: made by LibreOffice, so remade only where LibreOffice is installed
    libreoffice: bool = False


CASES: list[Case] = []


def case(
    name: str, oddity: str, why: str, *, by_libreoffice: bool = False
) -> Callable[[Callable[[Path], list[Expected]]], Callable[[Path], list[Expected]]]:
    def register(build: Callable[[Path], list[Expected]]) -> Callable[[Path], list[Expected]]:
        CASES.append(Case(name, oddity, why, build, by_libreoffice))
        return build

    return register


def budgets_total_formulas(ret: SyntheticReturn, rows: range | None = None) -> list[str]:
    """people_total as =SUM of the six budget types on the given grid rows; their cells."""
    grid = ret.sheets["Budgets"]
    cells = []
    for i in rows if rows is not None else range(1, len(grid)):
        grid[i][2] = Formula(f"=SUM(D{i + 1}:I{i + 1})")
        cells.append(addr(i, 2))
    return cells


# LibreOffice ------------------------------------------------------------------------------


@case(
    "libreoffice-saved.xlsx",
    "A return with a Clients sheet opened and saved as .xlsx by LibreOffice Calc 7.4.",
    "LibreOffice writes shared strings, styled empty cells and its own date styles; all read.",
    by_libreoffice=True,
)
def _libreoffice_xlsx(path: Path) -> list[Expected]:
    via_libreoffice(base(clients=True), path, XLSX)
    return []


@case(
    "libreoffice-saved.ods",
    "The same return saved as OpenDocument (.ods) by LibreOffice Calc 7.4.",
    "OpenDocument is an accepted format; repeated empty rows and cells are not read as data.",
    by_libreoffice=True,
)
def _libreoffice_ods(path: Path) -> list[Expected]:
    via_libreoffice(base(clients=True), path, ODS)
    return []


# Formulas ---------------------------------------------------------------------------------


def _formulas(ret: SyntheticReturn) -> None:
    budgets_total_formulas(ret)
    # Planned hours only where the format wants them, a cached "" elsewhere.
    for r, row in enumerate(ret.sheets["Services"][1:], start=2):
        hours = 0 if row[3] is None else row[3]
        row[3] = Formula(f'=IF(OR(A{r}="HOME_CARE",A{r}="PERSONAL_ASSISTANT"),{hours},"")')
    # A date worked out by a formula: its cached value is a serial day number.
    set_about(ret, "submitted_on", Formula("=DATE(2014,6,15)"))


@case(
    "formulas-cached-libreoffice.xlsx",
    "Every Budgets people_total is =SUM(D:I), every planned_hours_per_week is "
    '=IF(home care or personal assistant, hours, "") and submitted_on is =DATE(2014,6,15), '
    "calculated and saved by LibreOffice as .xlsx.",
    "A formula is read by its cached value: a cached empty string is a blank (allowed on "
    "rows without hours) and the date's cached serial number is a date.",
    by_libreoffice=True,
)
def _formulas_cached_xlsx(path: Path) -> list[Expected]:
    ret = base()
    _formulas(ret)
    via_libreoffice(ret, path, XLSX)
    return []


@case(
    "formulas-cached-libreoffice.ods",
    "The same formulas, calculated and saved by LibreOffice as .ods.",
    "OpenDocument formulas carry their value in office:value (or an empty paragraph for "
    "an empty string); read like any value.",
    by_libreoffice=True,
)
def _formulas_cached_ods(path: Path) -> list[Expected]:
    ret = base()
    _formulas(ret)
    via_libreoffice(ret, path, ODS)
    return []


def _hourly(ret: SyntheticReturn) -> int:
    """Grid row of the first Services row that is not home care or a personal assistant."""
    grid = ret.sheets["Services"]
    return next(
        i
        for i, row in enumerate(grid[1:], start=1)
        if row[0] not in ("HOME_CARE", "PERSONAL_ASSISTANT")
    )


@case(
    "formula-error-cached.xlsx",
    "planned_hours_per_week on a Services row without hours is =AVERAGE(Z1:Z3) of empty "
    "cells; LibreOffice saved its cached value, #DIV/0!.",
    "A cached spreadsheet error is V005 at its cell, even where a blank would be allowed.",
    by_libreoffice=True,
)
def _formula_error(path: Path) -> list[Expected]:
    ret = base()
    i = _hourly(ret)
    ret.sheets["Services"][i][3] = Formula("=AVERAGE(Z1:Z3)")
    via_libreoffice(ret, path, XLSX)
    return [["V005", "Services", addr(i, 3)]]


@case(
    "formulas-cached-xlsxwriter.xlsx",
    "Every Budgets people_total is =SUM(D:I) with its cached value, written by XlsxWriter "
    "(a writer that does not calculate, given the values by its caller).",
    "A formula is read by its cached value, whoever wrote it.",
)
def _formulas_xlsxwriter(path: Path) -> list[Expected]:
    import xlsxwriter

    ret = base()
    options = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    wb = xlsxwriter.Workbook(str(path), options)
    wb.set_properties({"author": "tests/make_corpus.py", "created": FIXED_TIME})
    date_format = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, grid in ret.sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if r and name == "Budgets" and c == 2:
                    ws.write_formula(r, c, f"=SUM(D{r + 1}:I{r + 1})", None, value)
                elif isinstance(value, datetime.date):
                    ws.write_datetime(r, c, value, date_format)
                elif value is not None:
                    ws.write(r, c, value)
    wb.close()
    return []


@case(
    "formulas-uncached.xlsx",
    "Three Budgets people_total cells are =SUM(D:I) formulas with no cached value "
    "(written by a program that does not calculate, never opened in a spreadsheet).",
    "A formula without a cached value is V005 at its cell, not a blank or a wrong type.",
)
def _formulas_uncached(path: Path) -> list[Expected]:
    ret = base()
    cells = budgets_total_formulas(ret, range(1, 4))
    write(ret, path)
    return [["V005", "Budgets", cell] for cell in cells]


@case(
    "formulas-uncached.ods",
    "The same three formulas in an OpenDocument file, with no office:value.",
    "As in .xlsx: V005 at each cell.",
)
def _formulas_uncached_ods(path: Path) -> list[Expected]:
    ret = base()
    cells = budgets_total_formulas(ret, range(1, 4))
    write_ods(ret, path)
    return [["V005", "Budgets", cell] for cell in cells]


# Merged cells -----------------------------------------------------------------------------


@case(
    "merged-title-above-header.xlsx",
    "A title merged across the table (A1:I1 on Budgets, A1:F1 on Services) above the header.",
    "The header is looked for in the first 30 rows; a merged title holds its text in its "
    "first cell only.",
)
def _merged_title(path: Path) -> list[Expected]:
    ret = base()
    for sheet in ("Budgets", "Services"):
        grid = ret.sheets[sheet]
        grid.insert(0, [f"{sheet} at 31 March 2014"] + [None] * (len(grid[0]) - 1))

    def merge(wb: Any) -> None:
        wb["Budgets"].merge_cells("A1:I1")
        wb["Services"].merge_cells("A1:F1")

    write(ret, path, merge)
    return []


@case(
    "merged-header-over-two-rows.xlsx",
    "Each Services heading is merged down over rows 1 and 2 (A1:A2 ... F1:F2); data from row 3.",
    "Row 2 is covered by the merged headings, so it is blank to a reader; blank rows between "
    "the header and the first data row are not in the middle of the table (no F008).",
)
def _merged_tall(path: Path) -> list[Expected]:
    ret = base()
    grid = ret.sheets["Services"]
    grid.insert(1, [None] * len(grid[0]))

    def merge(wb: Any) -> None:
        for column in "ABCDEF":
            wb["Services"].merge_cells(f"{column}1:{column}2")

    write(ret, path, merge)
    return []


@case(
    "merged-header-two-levels.xlsx",
    'A two-level Budgets header: "budget type" merged over D1:I1 with the six budget types '
    "in row 2 below it; age_band, support_reason and people_total merged down A1:C2.",
    "The spec asks for one header row; row 2 holds most headings, so the three in row 1 are "
    "missing from it (F005 each) and their columns have values but no heading (F007 each).",
)
def _merged_two_levels(path: Path) -> list[Expected]:
    ret = base()
    grid = ret.sheets["Budgets"]
    header = grid[0]
    grid[0] = [*header[:3], "budget type", *[None] * 5]
    grid.insert(1, [None, None, None, *header[3:]])

    def merge(wb: Any) -> None:
        ws = wb["Budgets"]
        for column in "ABC":
            ws.merge_cells(f"{column}1:{column}2")
        ws.merge_cells("D1:I1")

    write(ret, path, merge)
    unheaded: list[Expected] = [["F007", "Budgets", addr(1, column)] for column in range(3)]
    return [
        ["F005", "Budgets", None],
        ["F005", "Budgets", None],
        ["F005", "Budgets", None],
        *unheaded,
    ]


# Hidden rows, columns and sheets ---------------------------------------------------------


@case(
    "hidden-rows-and-columns.xlsx",
    "Budgets rows 3 to 5 and column E hidden; Services column F (providers) hidden.",
    "Hidden cells are part of the return (Excel's own SUM counts them), so they are read.",
)
def _hidden_rows(path: Path) -> list[Expected]:
    def hide(wb: Any) -> None:
        for row in (3, 4, 5):
            wb["Budgets"].row_dimensions[row].hidden = True
        wb["Budgets"].column_dimensions["E"].hidden = True
        wb["Services"].column_dimensions["F"].hidden = True

    write(base(), path, hide)
    return []


@case(
    "hidden-sheets.xlsx",
    'A hidden sheet "Workings" and a very hidden sheet "Lists" besides the return\'s sheets.',
    "Sheets that are not part of the return are ignored with an F006 (info), hidden or not.",
)
def _hidden_sheets(path: Path) -> list[Expected]:
    ret = base()
    ret.sheets["Workings"] = [["scratch", 1, 2]]
    ret.sheets["Lists"] = [["18-64"], ["65+"]]

    def hide(wb: Any) -> None:
        wb["Workings"].sheet_state = "hidden"
        wb["Lists"].sheet_state = "veryHidden"

    write(ret, path, hide)
    return [["F006", "Workings", None], ["F006", "Lists", None]]


@case(
    "hidden-required-sheet.xlsx",
    "The Services sheet is hidden.",
    "A hidden sheet is still in the file sent: Services is read as usual.",
)
def _hidden_required(path: Path) -> list[Expected]:
    def hide(wb: Any) -> None:
        wb["Services"].sheet_state = "hidden"

    write(base(), path, hide)
    return []


# Dates -------------------------------------------------------------------------------------


def _dates(ret: SyntheticReturn, convert: Callable[[int, datetime.date], Any]) -> None:
    """Convert every date of About and Clients; ``convert`` gets a counter and the date."""
    count = 0
    for grid in (ret.sheets["About"], ret.sheets["Clients"]):
        for row in grid[1:]:
            for k, value in enumerate(row):
                if isinstance(value, datetime.date):
                    row[k] = convert(count, value)
                    count += 1


def serial(day: datetime.date) -> int:
    """Excel's serial day number (1900 system) of ``day``."""
    return (day - datetime.date(1899, 12, 30)).days


@case(
    "dates-as-text.xlsx",
    "Every date (submitted_on and the Clients dates) typed as text, alternately ISO "
    "2014-06-15 and UK 15/06/2014.",
    "ISO and UK day/month/year text are accepted date forms.",
)
def _dates_text(path: Path) -> list[Expected]:
    ret = base(clients=True)
    _dates(ret, lambda n, d: d.isoformat() if n % 2 else d.strftime("%d/%m/%Y"))
    write(ret, path)
    return []


@case(
    "dates-as-serial-numbers.xlsx",
    "Every date as its serial day number in a General-formatted cell (41805 for 15 June 2014).",
    "Serial day numbers from 20000 to 80000 (1954 to 2119) are read as dates.",
)
def _dates_serial(path: Path) -> list[Expected]:
    ret = base(clients=True)
    _dates(ret, lambda _n, d: serial(d))
    write(ret, path)
    return []


@case(
    "dates-as-date-cells.xlsx",
    "Dates as date cells, alternately a plain date and a date-time at 09:30.",
    "Date cells are dates; the time of day is dropped.",
)
def _dates_cells(path: Path) -> list[Expected]:
    ret = base(clients=True)
    _dates(
        ret,
        lambda n, d: datetime.datetime.combine(d, datetime.time(9, 30)) if n % 2 else d,
    )
    write(ret, path)
    return []


@case(
    "dates-1904-system.xlsx",
    "Date cells in a workbook that uses the 1904 date system (old Excel for Mac).",
    "The workbook's date system is honoured, so every date reads as written, not four "
    "years and a day out.",
)
def _dates_1904(path: Path) -> list[Expected]:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    def mac(wb: Any) -> None:
        wb.epoch = CALENDAR_MAC_1904

    write(base(clients=True), path, mac)
    return []


@case(
    "date-in-words.xlsx",
    'submitted_on typed as the text "15 June 2014".',
    "Only ISO and UK numeric date text are accepted, so the cell is V001 (wrong type).",
)
def _date_words(path: Path) -> list[Expected]:
    ret = base()
    cell = set_about(ret, "submitted_on", "15 June 2014")
    write(ret, path)
    return [["V001", "About", cell]]


# Numbers as text ----------------------------------------------------------------------------


@case(
    "numbers-as-text.xlsx",
    'Counts as text with thousands separators and ".0" (people_total "1,234"-style), '
    'dp_self_managed as plain text digits, and gross_spend_gbp as text like "£139,902.36".',
    "Whole-number cells accept 1,234 and 1234.0; money cells also a leading £.",
)
def _numbers_text(path: Path) -> list[Expected]:
    ret = base()
    for row in ret.sheets["Budgets"][1:]:
        row[2] = f"{row[2]:,}.0"
        row[3] = str(row[3])
    for row in ret.sheets["Services"][1:]:
        row[2] = f"{row[2]:,}"
        row[4] = f"£{row[4]:,.2f}"
    write(ret, path)
    return []


@case(
    "numbers-in-other-forms.xlsx",
    "Three gross_spend_gbp cells as text in forms the format does not allow: a dollar sign, "
    "a space as thousands separator, and continental 1.234,56.",
    "Each is ambiguous or not pounds, so each is V001 at its cell rather than a guess.",
)
def _numbers_other(path: Path) -> list[Expected]:
    ret = base()
    grid = ret.sheets["Services"]
    spends = [i for i, row in enumerate(grid[1:], start=1) if money(row[4]) >= 1000][:3]
    forms: tuple[Callable[[float], str], ...] = (
        lambda v: f"${v:,.2f}",
        lambda v: f"{v:,.2f}".replace(",", " "),
        lambda v: f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", "."),
    )
    for i, form in zip(spends, forms, strict=True):
        grid[i][4] = form(money(grid[i][4]))
    write(ret, path)
    return [["V001", "Services", addr(i, 4)] for i in spends]


# Formatting beyond the table ----------------------------------------------------------------


@case(
    "trailing-formatted-rows.xlsx",
    "500 empty rows with borders after the Services table (a sheet formatted for data entry).",
    "Formatted empty cells hold no value; blank rows at the end are ignored.",
)
def _trailing(path: Path) -> list[Expected]:
    from openpyxl.styles import Border, Side

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    def format_rows(wb: Any) -> None:
        ws = wb["Services"]
        for row in range(ws.max_row + 1, ws.max_row + 501):
            for column in range(1, 7):
                ws.cell(row=row, column=column).border = border

    write(base(), path, format_rows)
    return []


@case(
    "wide-used-range.xlsx",
    "Budgets has a filled (formatted, empty) cell at XFD1 and another at A1048576, so its "
    "used range is the whole grid, 17 billion cells.",
    "A formatted empty cell is no cell to the reader, so the sheet is measured by its values "
    "(A1:I27) and accepted, not refused as F003.",
)
def _wide(path: Path) -> list[Expected]:
    from openpyxl.styles import PatternFill

    fill = PatternFill("solid", fgColor="FFFF00")

    def format_far(wb: Any) -> None:
        ws = wb["Budgets"]
        ws.cell(row=1, column=16384).fill = fill
        ws.cell(row=1048576, column=1).fill = fill

    write(base(), path, format_far)
    return []


# Non-ASCII ------------------------------------------------------------------------------------


@case(
    "non-ascii-council-name.xlsx",
    "Southend-on-Sea's return with council_name written with non-breaking hyphens (U+2011) "
    "and a no-break space: Southend\u2011on\u2011Sea\u00a0Borough Council.",
    "Names are compared ignoring case, punctuation and the word Borough/Council: no A003.",
)
def _non_ascii_name(path: Path) -> list[Expected]:
    ret = base(council="E06000033")
    set_about(ret, "council_name", "Southend\u2011on\u2011Sea\u00a0Borough Council")
    write(ret, path)
    return []


@case(
    "non-ascii-sheet-name.xlsx",
    'An extra sheet named "Notes \u2013 année 2013\u201114 \u2713".',
    "An extra sheet is F006 (info), named as written.",
)
def _non_ascii_sheet(path: Path) -> list[Expected]:
    ret = base()
    name = "Notes \u2013 année 2013\u201114 \u2713"
    ret.sheets[name] = [["Vérifié par l'équipe finance"]]
    write(ret, path)
    return [["F006", name, None]]


# File formats ---------------------------------------------------------------------------------


@case(
    "macro-enabled.xlsm",
    "The return made macro-enabled: the macroEnabled content type and a small "
    "xl/vbaProject.bin part (not a real VBA project).",
    "Macro-enabled workbooks are refused (F002), with advice to save as .xlsx.",
)
def _macro(path: Path) -> list[Expected]:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.xlsx"
        write(base(), source)
        make_macro_enabled(source, path)
    return [["F002", None, None]]


@case(
    "legacy.xls",
    "The return saved by LibreOffice as an Excel 97-2003 workbook (.xls).",
    "Legacy binary workbooks are refused (F002), with advice to save as .xlsx.",
    by_libreoffice=True,
)
def _legacy(path: Path) -> list[Expected]:
    via_libreoffice(base(), path, XLS)
    return [["F002", None, None]]


@case(
    "legacy-renamed.xlsx",
    "The same .xls file renamed to end in .xlsx.",
    "What the file holds decides, not its name: still F002.",
    by_libreoffice=True,
)
def _legacy_renamed(path: Path) -> list[Expected]:
    shutil.copyfile(ODDITIES / "legacy.xls", path)
    return [["F002", None, None]]


@case(
    "xlsx-named.ods",
    "A valid .xlsx workbook whose name ends in .ods.",
    "The file's name carries no meaning: it is read as the .xlsx it is.",
)
def _xlsx_named_ods(path: Path) -> list[Expected]:
    write(base(), path)
    return []


@case(
    "ods-named.xlsx",
    "A valid OpenDocument spreadsheet whose name ends in .xlsx.",
    "The file's name carries no meaning: it is read as the .ods it is.",
)
def _ods_named_xlsx(path: Path) -> list[Expected]:
    write_ods(base(), path)
    return []


# --- hostile cases, built at test time --------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """A file built by the tests (too big, or too dangerous to other tools, to commit)."""

    name: str
    oddity: str
    why: str
    expected: list[Expected]
    #: builds the file (or folder) in the given folder and returns its path
    build: Callable[[Path], Path]
    #: True where the reader (calamine) would see the file if the checks before it failed:
    #: a native crash there aborts the process, so the test runs it in a child process
    reaches_reader: bool = False
    #: a path the command line refuses before validating anything (exit 2, one line)
    usage_error: bool = False


def valid_xlsx(folder: Path) -> Path:
    path = folder / "valid.xlsx"
    if not path.exists():
        write(base(), path)
    return path


def with_budgets_sheet(folder: Path, name: str, edit: Callable[[bytes], bytes]) -> Path:
    """The valid return with its Budgets sheet part passed through ``edit``."""
    part = sheet_part(base(), "Budgets")
    path = folder / name
    copy_zip(valid_xlsx(folder), path, lambda member, data: edit(data) if member == part else data)
    return path


def append_rows(rows: bytes) -> Callable[[bytes], bytes]:
    return lambda sheet: sheet.replace(b"</sheetData>", rows + b"</sheetData>")


def _zero_byte(folder: Path) -> Path:
    path = folder / "zero-byte.xlsx"
    path.write_bytes(b"")
    return path


def _directory(folder: Path) -> Path:
    path = folder / "a-folder.xlsx"
    path.mkdir()
    return path


def _not_a_zip(folder: Path) -> Path:
    path = folder / "not-a-zip.xlsx"
    path.write_text("field,value\ncouncil_code,E06000001\nperiod,2013-14\n", encoding="utf-8")
    return path


def _truncated(folder: Path) -> Path:
    data = valid_xlsx(folder).read_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def _encrypted(folder: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    path = folder / "encrypted.xlsx"
    with valid_xlsx(folder).open("rb") as plain, path.open("wb") as locked:
        OOXMLFile(plain).encrypt("Hartlepool2014", locked)
    return path


#: Over the 500 MiB uncompressed limit; deflates to about 0.5 MB.
BOMB_MIB = 520


def _zip_bomb(folder: Path) -> Path:
    path = folder / "zip-bomb.xlsx"
    shutil.copyfile(valid_xlsx(folder), path)
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/media/image1.png", "w", force_zip64=True) as member:
            for _ in range(BOMB_MIB):
                member.write(zeros)
    return path


def _entity_bomb(folder: Path) -> Path:
    entities = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10)
    )
    doctype = f"<!DOCTYPE worksheet [{entities}]>".encode()

    def plant(sheet: bytes) -> bytes:
        sheet = sheet.replace(b"<worksheet", doctype + b"<worksheet", 1)
        # The entity used in a cell, as an attack would: never expanded, the file is refused.
        return sheet.replace(b"<t>18-64</t>", b"<t>&l9;</t>", 1)

    return with_budgets_sheet(folder, "entity-bomb.xlsx", plant)


def _dimension(folder: Path) -> Path:
    def declare(sheet: bytes) -> bytes:
        return re.sub(
            rb"<dimension ref=\"[^\"]*\"\s*/>", b'<dimension ref="A1:XFD1048576"/>', sheet
        )

    path = folder / "billion-cell-dimension.xlsx"
    copy_zip(
        valid_xlsx(folder),
        path,
        lambda member, data: declare(data) if member.startswith("xl/worksheets/") else data,
    )
    return path


#: A row of 16,384 cells without references (each one column on from the last), then a
#: cell in the last row: the grid runs to XFD1048576 although no reference is far out.
_UNREFERENCED = (
    b'<row r="28">' + b"<c><v>0</v></c>" * 16384 + b'</row><row r="1048576"><c><v>0</v></c></row>'
)


def _unreferenced(folder: Path) -> Path:
    return with_budgets_sheet(folder, "cells-without-references.xlsx", append_rows(_UNREFERENCED))


def _unreferenced_rows(folder: Path) -> Path:
    rows = b"<row>" + b"<c><v>0</v></c>" * 16384 + b"</row>" + b"<row/>" * 1_048_500
    rows += b"<row><c><v>0</v></c></row>"
    return with_budgets_sheet(folder, "rows-without-references.xlsx", append_rows(rows))


def _prefixed(folder: Path) -> Path:
    def plant(sheet: bytes) -> bytes:
        sheet = sheet.replace(
            f'xmlns="{MAIN_NS}"'.encode(), f'xmlns="{MAIN_NS}" xmlns:x="{MAIN_NS}"'.encode(), 1
        )
        return append_rows(_UNREFERENCED.replace(b"<c>", b"<x:c>").replace(b"</c>", b"</x:c>"))(
            sheet
        )

    return with_budgets_sheet(folder, "prefixed-cells-without-references.xlsx", plant)


def _single_quotes(folder: Path) -> Path:
    rows = b"<row r = '1048576'><c r = 'XFD1048576'><v>0</v></c></row>"
    return with_budgets_sheet(folder, "reference-in-single-quotes.xlsx", append_rows(rows))


def _angle_bracket(folder: Path) -> Path:
    rows = b'<row r="1048576"><c note="a > b" r="XFD1048576"><v>0</v></c></row>'
    return with_budgets_sheet(folder, "angle-bracket-in-attribute.xlsx", append_rows(rows))


_FAR = "calamine would allocate the whole grid and abort, so the sheet is measured first"

HOSTILE: list[Hostile] = [
    Hostile(
        "zero-byte.xlsx",
        "An empty file (0 bytes).",
        "Not a workbook: F001.",
        [["F001", None, None]],
        _zero_byte,
    ),
    Hostile(
        "a-folder.xlsx",
        "A folder passed where a workbook file is expected.",
        "The CLI stops with one line on stderr and exit 2; the library reports F001.",
        [["F001", None, None]],
        _directory,
        usage_error=True,
    ),
    Hostile(
        "not-a-zip.xlsx",
        "A CSV text file named .xlsx.",
        "Not a workbook: F001.",
        [["F001", None, None]],
        _not_a_zip,
    ),
    Hostile(
        "truncated.xlsx",
        "The first half of a valid return (an interrupted download).",
        "A corrupt zip: F001.",
        [["F001", None, None]],
        _truncated,
    ),
    Hostile(
        "encrypted.xlsx",
        "The valid return password-protected by msoffcrypto-tool (Office's own encryption).",
        "An encrypted workbook cannot be checked: F001, asking for the password to be removed.",
        [["F001", None, None]],
        _encrypted,
    ),
    Hostile(
        "zip-bomb.xlsx",
        f"The valid return plus a {BOMB_MIB} MiB member of zeros (about 0.5 MB on disk).",
        "Over the 500 MB uncompressed limit, decided from the zip directory: F003.",
        [["F003", None, None]],
        _zip_bomb,
    ),
    Hostile(
        "entity-bomb.xlsx",
        "The Budgets sheet XML starts with a billion-laughs entity declaration (a DTD).",
        "No XML part may hold a DTD: F001, before any parser sees it.",
        [["F001", None, None]],
        _entity_bomb,
    ),
    Hostile(
        "billion-cell-dimension.xlsx",
        'Every sheet declares `<dimension ref="A1:XFD1048576"/>`, 17 billion cells.',
        "The dimension is only a hint that calamine does not allocate from: no findings.",
        [],
        _dimension,
        reaches_reader=True,
    ),
    Hostile(
        "cells-without-references.xlsx",
        "Budgets gains a row of 16,384 cells without r attributes and one cell in row 1,048,576.",
        f"Cells without references still land far out: {_FAR}.",
        [["F003", None, None]],
        _unreferenced,
        reaches_reader=True,
    ),
    Hostile(
        "rows-without-references.xlsx",
        "Budgets gains a row of 16,384 unreferenced cells, then 1,048,500 empty `<row/>` "
        "elements and a row with one cell, none with an r attribute.",
        f"Each unreferenced row counts one on: {_FAR}.",
        [["F003", None, None]],
        _unreferenced_rows,
        reaches_reader=True,
    ),
    Hostile(
        "prefixed-cells-without-references.xlsx",
        "As cells-without-references, with the cells written `<x:c>` (a prefixed namespace).",
        f"Prefixed elements are measured too: {_FAR}.",
        [["F003", None, None]],
        _prefixed,
        reaches_reader=True,
    ),
    Hostile(
        "reference-in-single-quotes.xlsx",
        "Budgets gains a value at `r = 'XFD1048576'` (single quotes, spaces around =).",
        f"XML allows either quote and spaces: {_FAR}.",
        [["F003", None, None]],
        _single_quotes,
        reaches_reader=True,
    ),
    Hostile(
        "angle-bracket-in-attribute.xlsx",
        'Budgets gains a value at XFD1048576 whose cell has an attribute `note="a > b"` '
        "before its reference.",
        f'XML allows ">" in an attribute value: {_FAR}.',
        [["F003", None, None]],
        _angle_bracket,
        reaches_reader=True,
    ),
]


# --- expected.json and README.md --------------------------------------------------------------


def render_readme(expected: dict[str, dict[str, Any]]) -> str:
    """tests/data/README.md from expected.json and the hostile cases."""

    def findings(items: list[Expected]) -> str:
        if not items:
            return "none"
        return "<br>".join(
            " ".join(part for part in (rule, sheet, cell) if part is not None)
            for rule, sheet, cell in items
        )

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Test data",
        "",
        "<!-- Generated by `python tests/make_corpus.py`; edit that script, not this page. -->",
        "",
        "## oddities/",
        "",
        "Real-world oddities, each in an otherwise valid small return (Hartlepool E06000001, "
        "2013-14, 40 people; 20 with a Clients sheet where dates are concerned; Southend-on-Sea "
        "for the council name), with the exact findings expected of it in "
        "`oddities/expected.json` as `[rule, sheet, cell]`. "
        "`tests/test_corpus.py` checks each through the library and the CLI. Files marked "
        "LibreOffice were saved by LibreOffice Calc 7.4 and are remade only where it is "
        "installed.",
        "",
        "| file | oddity | expected findings | why |",
        "|---|---|---|---|",
    ]
    for name, entry in expected.items():
        by = " (LibreOffice)" if entry.get("libreoffice") else ""
        lines.append(
            f"| `{name}`{by} | {cell(entry['oddity'])} | {findings(entry['findings'])} "
            f"| {cell(entry['why'])} |"
        )
    lines += [
        "",
        "## Built at test time",
        "",
        "Hostile files, too large to commit or dangerous to other tools, are built by "
        "`tests/test_corpus.py` from the same valid return (see `HOSTILE` in "
        "`tests/make_corpus.py`); its tests also bound the memory each takes.",
        "",
        "| file | oddity | expected findings | why |",
        "|---|---|---|---|",
    ]
    for hostile in HOSTILE:
        lines.append(
            f"| `{hostile.name}` | {cell(hostile.oddity)} | {findings(hostile.expected)} "
            f"| {cell(hostile.why)} |"
        )
    return "\n".join(lines) + "\n"


def write_expected(expected: dict[str, dict[str, Any]]) -> None:
    # One file a line, so that a diff shows which file's findings changed.
    lines = [
        f"  {json.dumps(name, ensure_ascii=False)}: {json.dumps(entry, ensure_ascii=False)}"
        for name, entry in expected.items()
    ]
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    (ODDITIES / "expected.json").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--libreoffice", action="store_true", help="remake the files LibreOffice saves too"
    )
    remake_libreoffice = parser.parse_args().libreoffice
    ODDITIES.mkdir(parents=True, exist_ok=True)
    expected: dict[str, dict[str, Any]] = {}
    for item in CASES:
        path = ODDITIES / item.name
        if item.libreoffice and path.exists() and not remake_libreoffice:
            findings = _committed_findings(item.name)
            print(f"{item.name:45} kept (--libreoffice remakes it)")
        elif item.libreoffice and soffice() is None:
            raise SystemExit(f"{item.name} needs LibreOffice (soffice) to be made")
        else:
            findings = item.build(path)
            print(f"{item.name:45} {path.stat().st_size:>8,} bytes")
        size = path.stat().st_size
        if size > MAX_COMMITTED_BYTES:
            raise SystemExit(f"{item.name} is {size:,} bytes, over {MAX_COMMITTED_BYTES:,}")
        entry: dict[str, Any] = {"findings": findings, "oddity": item.oddity, "why": item.why}
        if item.libreoffice:
            entry["libreoffice"] = True
        expected[item.name] = entry
    write_expected(expected)
    (DATA / "README.md").write_text(render_readme(expected), encoding="utf-8")


def _committed_findings(name: str) -> list[Expected]:
    """The findings of a LibreOffice file kept as committed: from its committed entry."""
    current = json.loads((ODDITIES / "expected.json").read_text("utf-8"))
    findings: list[Expected] = current[name]["findings"]
    return findings


if __name__ == "__main__":
    main()
