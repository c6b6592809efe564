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

from returns_kit.cells import SERIAL_EPOCH, YEAR_MAX, YEAR_MIN
from returns_kit.periods import Period
from returns_kit.reference import FIRST_PERIOD, Council, load_reference
from returns_kit.schema import FieldSpec, SheetSpec, sheet_specs
from returns_kit.synth.zips import FixedTimeZipFile

__all__ = ["TemplateError", "build_template"]

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


class TemplateError(Exception):
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
    # Not wb.save(): it stamps "modified" with the clock; the zip's member times are fixed too.
    with FixedTimeZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()


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
    """The hidden sheet of code lists: one column per code list, codes first, then labels."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._ranges: dict[tuple[tuple[str, str], ...], str] = {}

    def range_for(self, spec: FieldSpec) -> str:
        """The absolute reference (``Lists!$A$2:$A$5``) of ``spec``'s codes and labels."""
        from openpyxl.utils import get_column_letter

        if spec.codes not in self._ranges:
            column = len(self._ranges) + 1
            letter = get_column_letter(column)
            entries = _choices(spec)
            header = self.ws.cell(row=1, column=column, value=spec.name)
            header.font = _bold()
            for row, entry in enumerate(entries, start=2):
                self.ws.cell(row=row, column=column, value=entry).number_format = TEXT_FORMAT
            self.ws.column_dimensions[letter].width = min(max(map(len, entries)) + 2, 60)
            last = len(entries) + 1
            self._ranges[spec.codes] = f"{LISTS_SHEET}!${letter}$2:${letter}${last}"
        return self._ranges[spec.codes]


def _choices(spec: FieldSpec) -> list[str]:
    """The codes, then the labels that differ from their code other than in case."""
    # Excel's list check ignores case, so UNKNOWN's label "Unknown" would only repeat it.
    labels = [label for code, label in spec.codes if label.casefold() != code.casefold()]
    return [*spec.code_list, *labels]


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
        options = {"type": "list", "formula1": lists.range_for(spec)}
        expected = "Choose a code or its label from the list."
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
        options |= {
            "errorStyle": "stop",
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


def _bold() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)


def _header(ws: Any, names: tuple[str, ...] | list[str]) -> None:
    for column, name in enumerate(names, start=1):
        ws.cell(row=1, column=column, value=name).font = _bold()
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
        ws.cell(row=row, column=1, value=field.name)
        cell = ws.cell(row=row, column=2, value=known.get(field.name))
        number_format = _number_format(field)
        if number_format is not None:
            cell.number_format = number_format
        validation = _validation(field, lists)
        validation.add(cell.coordinate)
        ws.add_data_validation(validation)
    ws.column_dimensions["A"].width = max(len(name) for name in spec.field_names) + 4
    ws.column_dimensions["B"].width = max(len(council.name) + 4, 40)


def _write_table(ws: Any, spec: SheetSpec, lists: _Lists) -> None:
    """A table sheet: header row, key rows for Budgets, and checks on every data cell."""
    from openpyxl.utils import get_column_letter

    _header(ws, spec.field_names)
    if spec.name == "Budgets":
        rows = _budget_keys(spec)
        for row, key in enumerate(rows, start=2):
            for column, value in enumerate(key, start=1):
                ws.cell(row=row, column=column, value=value).number_format = TEXT_FORMAT
        last = len(rows) + 1
    else:
        last = (CLIENTS_ROWS if spec.name == "Clients" else TABLE_ROWS) + 1
    for column, field in enumerate(spec.fields, start=1):
        letter = get_column_letter(column)
        dimension = ws.column_dimensions[letter]
        dimension.width = _width(field)
        # A column style, not styled empty cells: Excel and LibreOffice give it to each cell
        # typed into the column, and the file stays small.
        number_format = _number_format(field)
        if number_format is not None:
            dimension.number_format = number_format
        validation = _validation(field, lists)
        validation.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(validation)


def _budget_keys(spec: SheetSpec) -> list[tuple[str, ...]]:
    """Every combination of the key's codes, in code-list order (the 26 Budgets rows)."""
    keys: list[tuple[str, ...]] = [()]
    for name in spec.key:
        keys = [(*key, code) for key in keys for code in spec.field(name).code_list]
    return keys


def _width(field: FieldSpec) -> float:
    longest = max([len(field.name), *map(len, field.code_list)])
    if field.kind == "date":
        longest = max(longest, len("2014-03-31"))
    return float(min(max(longest + 3, 12), 40))


def _write_instructions(
    ws: Any, specs: dict[str, SheetSpec], code: str, council: Council, when: Period
) -> None:
    """A short guide, the sheets, and every column with its type, meaning and codes."""
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
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
        "Code cells take a code or its label: choose from the drop-down list. Do not rename, "
        "reorder or delete sheets or columns. Check the file with: returns validate FILE",
    ]
    title = ws.cell(
        row=1,
        column=1,
        value=f"Personal budgets monitoring return {version}: {council.name} ({code}), {when}",
    )
    title.font = Font(bold=True, size=14)
    row = 3
    for paragraph in guide:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        cell = ws.cell(row=row, column=1, value=paragraph)
        cell.alignment = wrap
        ws.row_dimensions[row].height = 15 * (1 + len(paragraph) // 150)
        row += 1

    row += 1
    for column, heading in enumerate(["sheet", "required", "what it holds"], start=1):
        ws.cell(row=row, column=column, value=heading).font = _bold()
    for spec in specs.values():
        row += 1
        ws.cell(row=row, column=1, value=spec.name)
        ws.cell(row=row, column=2, value="yes" if spec.required else "no")
        ws.merge_cells(start_row=row, start_column=3, end_row=row, end_column=6)
        ws.cell(row=row, column=3, value=spec.description).alignment = wrap
        ws.row_dimensions[row].height = 15 * (1 + len(spec.description) // 120)

    row += 2
    for column, heading in enumerate(INSTRUCTIONS_COLUMNS, start=1):
        ws.cell(row=row, column=column, value=heading).font = _bold()
    for spec in specs.values():
        for field in spec.fields:
            row += 1
            codes = "\n".join(
                code if label.casefold() == code.casefold() else f"{code} ({label})"
                for code, label in field.codes
            )
            values = [
                spec.name,
                field.name,
                "yes" if field.required else "no",
                _kind_text(field),
                field.description,
                codes or None,
            ]
            for column, value in enumerate(values, start=1):
                ws.cell(row=row, column=column, value=value).alignment = wrap
    for letter, width in zip("ABCDEF", (14, 26, 10, 22, 70, 55), strict=True):
        ws.column_dimensions[letter].width = width


#: The headings of the Instructions sheet's table of columns.
INSTRUCTIONS_COLUMNS = ("sheet", "column", "required", "type", "meaning", "allowed codes")
