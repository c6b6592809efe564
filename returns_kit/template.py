"""Write a blank return for one council and period, built from the JSON Schemas.

Every sheet, column, code list, drop-down and help text comes from
:func:`returns_kit.schema.sheet_specs`, so the template cannot drift from what
the validator checks. Only the short guide at the top of the Instructions sheet
is written by hand.

>>> from pathlib import Path
>>> build_template("E06000001", "2013-14", Path("hartlepool-2013-14.xlsx"))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import zipfile
from pathlib import Path
from typing import Any

from returns_kit.atomic import write_atomically
from returns_kit.cells import SERIAL_EPOCH, YEAR_MAX, YEAR_MIN, dropdown_entry
from returns_kit.errors import ReturnsKitError
from returns_kit.periods import Period
from returns_kit.reference import FIRST_PERIOD, Council, load_reference
from returns_kit.schema import FieldSpec, SheetSpec, sheet_specs
from returns_kit.sheet_layout import (
    FONT_SIZE,
    font,
    page_setup,
    row_height,
    set_default_font,
    width_for,
)
from returns_kit.zips import FixedTimeZipFile

__all__ = ["TemplateError", "build_template", "is_template_sheet"]

INSTRUCTIONS_SHEET = "Instructions"
#: The hidden sheet holding the code lists that the drop-downs read.
LISTS_SHEET = "Lists"
#: Data rows given drop-downs and checks on the sheets whose length the council decides.
TABLE_ROWS = 2_000
#: Clients has a row per person per service; validations on 100,000 rows make the file slow.
CLIENTS_ROWS = 5_000
#: Document created/modified time, constant so that the same arguments give the same bytes.
FIXED_TIME = datetime.datetime(2000, 1, 1, 0, 0, 0)
CREATOR = "returns_kit"

DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "£#,##0.00"
#: Text format, so that codes such as 18-64 and references such as 0012 are not read as numbers.
TEXT_FORMAT = "@"
#: Excel's limits on a validation's messages and titles.
_MESSAGE_LIMIT, _TITLE_LIMIT = 255, 32

_KIND_WORDS = {
    "integer": "whole number",
    "number": "number",
    "money": "amount in pounds",
    "date": "date (yyyy-mm-dd)",
    "code": "code or its label",
    "text": "text",
}


#: The first words of the Instructions sheet's title, by which the validator knows it.
TITLE_START = "Personal budgets monitoring return"


def is_template_sheet(name: str, first_row: list[str | None]) -> bool:
    """Whether a sheet that is not part of the return is one the template adds itself, known
    by its name and its first row: the guide (Instructions, titled as the template titles
    it) or the code lists (Lists, headed by code columns of the return). The validator
    passes over these without a word: a return made from the template has no finding."""
    cells = [cell.strip() for cell in first_row if cell is not None and cell.strip()]
    if not cells:
        return False
    if name.strip().casefold() == INSTRUCTIONS_SHEET.casefold():
        return cells[0].startswith(TITLE_START)
    if name.strip().casefold() == LISTS_SHEET.casefold():
        code_fields = {
            field.name
            for spec in sheet_specs().values()
            for field in spec.fields
            if field.kind == "code"
        }
        return all(cell in code_fields for cell in cells)
    return False


class TemplateError(ReturnsKitError):
    """The council or period cannot have a template, or the output is not an .xlsx file."""


def build_template(council_code: str, period: str, out: Path) -> None:
    """Write a blank return for ``council_code`` and ``period`` to ``out`` (.xlsx), built from
    the JSON Schemas.

    Raises :class:`TemplateError` when the council is not in the reference list, the period is
    not ``YYYY-YY``, the council had no adult social services responsibilities in that period,
    or ``out`` does not end in ``.xlsx``.
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise TemplateError(f"The template is an .xlsx workbook; name it {out.stem}.xlsx.")
    code = council_code.strip().upper()
    when = _period(period)
    council = _council(code, when)

    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    specs = sheet_specs()
    wb = Workbook()
    set_default_font(wb)
    wb.properties.creator = CREATOR
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.title = f"Personal budgets monitoring return: {council.name}, {when}"
    instructions = wb.active
    instructions.title = INSTRUCTIONS_SHEET
    lists = _Lists(wb.create_sheet(LISTS_SHEET))
    sheets = {name: wb.create_sheet(name) for name in specs}
    # The Lists sheet goes last: it is hidden and only the drop-downs use it.
    wb.move_sheet(lists.ws, offset=len(specs))
    lists.ws.sheet_state = "hidden"

    _write_instructions(instructions, specs, code, council, when)
    _write_about(sheets["About"], specs["About"], lists, code, council, when)
    for name, spec in specs.items():
        if spec.layout == "table":
            _write_table(sheets[name], spec, lists)
    page_setup(lists.ws, [d.width for d in lists.ws.column_dimensions.values()])

    # Not wb.save(): it stamps "modified" with the clock; the zip's member times are fixed too.
    # Written beside OUT and renamed into place, so OUT is never left half written.
    def write(path: Path) -> None:
        with FixedTimeZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(wb, archive).save()

    write_atomically(out, write)


def _period(text: str) -> Period:
    when = Period.parse(text)
    if when is None:
        raise TemplateError(
            f'"{text}" is not a financial year: write it as YYYY-YY with consecutive years, '
            "such as 2013-14."
        )
    if when < FIRST_PERIOD:
        raise TemplateError(
            f"{when} is before {FIRST_PERIOD}, the first year the reference list of councils "
            "covers."
        )
    return when


def _council(code: str, when: Period) -> Council:
    council = load_reference().lookup(code)
    if council is None:
        raise TemplateError(
            f"{code} is not in the reference list of councils with adult social services "
            "responsibilities."
        )
    if not council.active_in(when):
        since = f" from {council.first_period}" if council.first_period else ""
        until = f" until {council.last_period}" if council.last_period else ""
        raise TemplateError(
            f"{code} ({council.name}) was not a council with adult social services "
            f"responsibilities in {when}; it was one{since}{until}."
        )
    return council


# --- the code lists and validations -------------------------------------------------------


class _Lists:
    """The hidden sheet of code lists: one column per code list, one entry per code."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._ranges: dict[tuple[tuple[str, str], ...], str] = {}

    def range_for(self, spec: FieldSpec) -> str:
        """The absolute reference (``Lists!$A$2:$A$5``) of ``spec``'s drop-down entries."""
        from openpyxl.utils import get_column_letter

        if spec.codes not in self._ranges:
            column = len(self._ranges) + 1
            letter = get_column_letter(column)
            entries = _choices(spec)
            _put(self.ws, 1, column, spec.name, bold=True)
            for row, entry in enumerate(entries, start=2):
                _put(self.ws, row, column, entry).number_format = TEXT_FORMAT
            self.ws.column_dimensions[letter].width = width_for(entries)
            last = len(entries) + 1
            self._ranges[spec.codes] = f"{LISTS_SHEET}!${letter}$2:${letter}${last}"
        return self._ranges[spec.codes]


def _choices(spec: FieldSpec) -> list[str]:
    """One entry per code, with its label where the label says more (``HOME_CARE: Home
    care``): the reader takes each entry as its code."""
    return [dropdown_entry(code, label) for code, label in spec.codes]


def _clip(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _serial(day: datetime.date) -> int:
    # Spreadsheet day numbers agree with SERIAL_EPOCH from March 1900; before it, Excel's
    # phantom 29 February 1900 puts them one day out, so the first of January 1900 is 1.
    return max((day - SERIAL_EPOCH).days - (day < datetime.date(1900, 3, 1)), 1)


def _validation(spec: FieldSpec, lists: _Lists) -> Any:
    """The data validation a cell of ``spec`` gets: a check by kind, and its description."""
    from openpyxl.worksheet.datavalidation import DataValidation

    kind = _kind_text(spec)
    options: dict[str, Any] = {}
    if spec.kind == "code":
        # A warning, not a stop: the list offers "CODE: label", and a code or a label typed
        # on its own, which the validator accepts as well, must not be refused.
        options = {"type": "list", "formula1": lists.range_for(spec), "errorStyle": "warning"}
        expected = (
            "Choose an entry from the list. A code or its label typed on its own is accepted "
            "too: choose Yes (or OK) to keep it."
        )
    elif spec.kind in ("integer", "number", "money"):
        options = {"type": "whole" if spec.kind == "integer" else "decimal"}
        if spec.minimum is not None:
            options |= {"operator": "greaterThanOrEqual", "formula1": f"{spec.minimum:g}"}
        else:
            options |= {"operator": "between", "formula1": "-1E+15", "formula2": "1E+15"}
        expected = f"Enter a {kind}."
    elif spec.kind == "date":
        first, last = datetime.date(YEAR_MIN, 1, 1), datetime.date(YEAR_MAX, 12, 31)
        options = {
            "type": "date",
            "operator": "between",
            "formula1": str(_serial(first)),
            "formula2": str(_serial(last)),
        }
        expected = f"Enter a date, such as {datetime.date(2014, 5, 31).isoformat()}."
    else:
        # Free text: no check, only the description shown when the cell is selected.
        expected = ""
    if options:
        options = {
            "errorStyle": "stop",
            **options,
            "showErrorMessage": True,
            "errorTitle": _clip(spec.name, _TITLE_LIMIT),
            "error": _clip(f"{expected} {spec.name}: {spec.description}"),
        }
    return DataValidation(
        allow_blank=True,
        showInputMessage=True,
        promptTitle=_clip(spec.name, _TITLE_LIMIT),
        prompt=_clip(spec.description),
        **options,
    )


def _kind_text(spec: FieldSpec) -> str:
    """The field's type in words, as the Instructions table and error messages give it."""
    words = _KIND_WORDS[spec.kind]
    if spec.kind in ("integer", "number", "money") and spec.minimum is not None:
        words += f", {spec.minimum:g} or more"
    return words


def _number_format(spec: FieldSpec) -> str | None:
    return {
        "money": MONEY_FORMAT,
        "date": DATE_FORMAT,
        "code": TEXT_FORMAT,
        "text": TEXT_FORMAT,
    }.get(spec.kind)


# --- the sheets ---------------------------------------------------------------------------

#: Column widths (in characters) of the Instructions sheet: sheet, column, required, type,
#: meaning, allowed codes. 165 characters fit a 1280-pixel screen at 100% beside the row
#: numbers, and an A4 landscape page at 85%.
INSTRUCTIONS_WIDTHS = (12.0, 23.0, 9.0, 23.0, 56.0, 42.0)
#: The guide paragraphs span the first five columns: lines short enough to read.
_GUIDE_COLUMNS = 5
_TITLE_SIZE = 14


def _bold() -> Any:
    return font(bold=True)


def _put(ws: Any, row: int, column: int, value: Any, *, bold: bool = False) -> Any:
    """Write ``value`` in the named font (a cell with no font of its own is shown by
    LibreOffice in a serif default)."""
    cell = ws.cell(row=row, column=column, value=value)
    cell.font = font(bold=bold)
    return cell


def _header(ws: Any, names: tuple[str, ...] | list[str]) -> None:
    for column, name in enumerate(names, start=1):
        _put(ws, 1, column, name, bold=True)
    ws.freeze_panes = "A2"


def _write_about(
    ws: Any, spec: SheetSpec, lists: _Lists, code: str, council: Council, when: Period
) -> None:
    """Field and value, one row per field; the council fills in the blank values."""
    known: dict[str, str] = {
        "schema_version": spec.field("schema_version").code_list[0],
        "council_code": code,
        "council_name": council.name,
        "period": str(when),
    }
    _header(ws, ["field", "value"])
    for row, field in enumerate(spec.fields, start=2):
        _put(ws, row, 1, field.name)
        cell = _put(ws, row, 2, known.get(field.name))
        number_format = _number_format(field)
        if number_format is not None:
            cell.number_format = number_format
        validation = _validation(field, lists)
        validation.add(cell.coordinate)
        ws.add_data_validation(validation)
    widths = (
        width_for(spec.field_names, least=12) + 2,
        max(width_for([council.name, "name.surname@council.gov.uk"]) + 4, 40),
    )
    for letter, width in zip("AB", widths, strict=True):
        ws.column_dimensions[letter].width = width
    page_setup(ws, widths)


def _write_table(ws: Any, spec: SheetSpec, lists: _Lists) -> None:
    """A table sheet: header row, key rows for Budgets, and checks on every data cell."""
    from openpyxl.utils import get_column_letter

    _header(ws, spec.field_names)
    if spec.name == "Budgets":
        rows = _budget_keys(spec)
        for row, key in enumerate(rows, start=2):
            for column, value in enumerate(key, start=1):
                _put(ws, row, column, value).number_format = TEXT_FORMAT
        last = len(rows) + 1
    else:
        last = (CLIENTS_ROWS if spec.name == "Clients" else TABLE_ROWS) + 1
    widths = []
    for column, field in enumerate(spec.fields, start=1):
        letter = get_column_letter(column)
        dimension = ws.column_dimensions[letter]
        dimension.width = _width(field)
        widths.append(dimension.width)
        # A column style, not styled empty cells: Excel and LibreOffice give it to each cell
        # typed into the column, and the file stays small.
        dimension.font = font()
        number_format = _number_format(field)
        if number_format is not None:
            dimension.number_format = number_format
        validation = _validation(field, lists)
        validation.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(validation)
    page_setup(ws, widths, title_rows="1:1")


def _budget_keys(spec: SheetSpec) -> list[tuple[str, ...]]:
    """Every combination of the key's codes, in code-list order (the 26 Budgets rows)."""
    keys: list[tuple[str, ...]] = [()]
    for name in spec.key:
        keys = [(*key, code) for key in keys for code in spec.field(name).code_list]
    return keys


def _width(field: FieldSpec) -> float:
    """Wide enough for the heading and for every drop-down entry or an example value."""
    texts = [field.name, *_choices(field)] if field.kind == "code" else [field.name]
    if field.kind == "date":
        texts.append("2014-03-31")
    return float(min(max(width_for(texts, least=12), width_for([field.name], bold=True)), 70))


def _wrapped(ws: Any, row: int, column: int, value: Any, *, bold: bool = False) -> Any:
    from openpyxl.styles import Alignment

    cell = _put(ws, row, column, value, bold=bold)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def _spanning(
    ws: Any, row: int, first: int, last: int, text: str, *, size: float = FONT_SIZE
) -> None:
    """``text`` wrapped across columns ``first`` to ``last`` (merged), its row as tall as
    its lines."""
    from openpyxl.styles import Alignment

    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    cell = ws.cell(row=row, column=first, value=text)
    bold = size != FONT_SIZE
    cell.font = font(bold=bold, size=size)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    width = sum(INSTRUCTIONS_WIDTHS[first - 1 : last])
    ws.row_dimensions[row].height = row_height([(text, width)], bold=bold, size=size)


def _write_instructions(
    ws: Any, specs: dict[str, SheetSpec], code: str, council: Council, when: Period
) -> None:
    """A short guide, the sheets, and every column with its type, meaning and codes.

    Every row of wrapped text is given the height its text needs in the column widths
    set here (LibreOffice does not size them when it opens the file), so every word shows
    on screen and in print."""
    version = specs["About"].field("schema_version").code_list[0]
    snapshot = when.snapshot
    guide = [
        "This return counts the people with a personal budget by budget type, including "
        "budgets managed by a third party and Individual Service Funds that national returns "
        "cannot show, with the services they receive, so that a real change in choice can be "
        "told from a relabelling.",
        f"It describes people accessing long-term support in the community on "
        f"{snapshot.day} {snapshot:%B %Y}, the end of {when}.",
        "How to fill it in: on About, add submitted_on (the date the return was signed off, "
        "after the period has ended) and contact_email. On Budgets, fill every count on all "
        "rows, writing 0 where there is nobody; people_total is the sum of the six budget "
        "types. On Services, add one row for each service type and arrangement that anyone "
        "receives. Clients and Explanations are optional.",
        "Code cells take an entry from the drop-down list (such as HOME_CARE: Home care), or "
        "a code or its label typed in. Do not rename, reorder or delete sheets or columns. "
        "Check the file with: returns validate FILE",
    ]
    _spanning(
        ws,
        1,
        1,
        _GUIDE_COLUMNS,
        f"{TITLE_START} {version}: {council.name} ({code}), {when}",
        size=_TITLE_SIZE,
    )
    row = 3
    for paragraph in guide:
        _spanning(ws, row, 1, _GUIDE_COLUMNS, paragraph)
        row += 1

    row += 1
    for column, heading in enumerate(["sheet", "required", "what it holds"], start=1):
        _put(ws, row, column, heading, bold=True)
    for spec in specs.values():
        row += 1
        _wrapped(ws, row, 1, spec.name)
        _wrapped(ws, row, 2, "yes" if spec.required else "no")
        _spanning(ws, row, 3, len(INSTRUCTIONS_WIDTHS), spec.description)

    row += 2
    for column, heading in enumerate(INSTRUCTIONS_COLUMNS, start=1):
        _put(ws, row, column, heading, bold=True)
    for spec in specs.values():
        for field in spec.fields:
            row += 1
            codes = "\n".join(dropdown_entry(code, label) for code, label in field.codes)
            values = [
                spec.name,
                field.name,
                "yes" if field.required else "no",
                _kind_text(field),
                field.description,
                codes or None,
            ]
            for column, value in enumerate(values, start=1):
                _wrapped(ws, row, column, value)
            ws.row_dimensions[row].height = row_height(
                zip(values, INSTRUCTIONS_WIDTHS, strict=True)
            )
    for letter, width in zip("ABCDEF", INSTRUCTIONS_WIDTHS, strict=True):
        ws.column_dimensions[letter].width = width
    page_setup(ws, INSTRUCTIONS_WIDTHS)


#: The headings of the Instructions sheet's table of columns.
INSTRUCTIONS_COLUMNS = ("sheet", "column", "required", "type", "meaning", "allowed codes")
