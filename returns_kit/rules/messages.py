"""Every finding's message, as a template its parameters fill (as frictionless errors do).

A rule's finding carries its numbers and names as ``params``; the message is the rule's
template filled with them. So a flag, a page, the ledger or a reader of the JSON report takes
a number from the data, never by reading it back out of the text, and the wording of every
message can be read (and documented) in one place.

Templates are keyed by rule id, then by variant: most rules say one thing (variant ``""``);
some say one of a few (A002 for a code that is no council, or a council not active in the
period). A template uses :meth:`str.format` fields, with one conversion of our own: ``!j``
joins a list with ", " (``{columns!j}``), and one format of our own: ``:size`` shows a count of
bytes in binary units, as a file's size is read (``{file_bytes:size}`` gives "1.5 MB"). A
parameter holds what the message shows and nothing more: a cell's value only as
:func:`returns_kit.privacy.shown` lets it be quoted.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from typing import Any

#: What every refusal of a file asks for, and what one refused for its size asks first.
_SAVE_AS_XLSX = "save it as an Excel Workbook (.xlsx) and send the new file"
_SHRINK = (
    "Remove sheets, images and data that are not part of the return, save it as .xlsx and "
    "send the new file."
)

#: rule id -> variant -> template. Grouped as the rules are: the file and its structure
#: (F), cells (V), About (A), Budgets (B), Services (S), Clients (C), Explanations (E),
#: periods (P) and the internal error (X).
TEMPLATES: dict[str, dict[str, str]] = {
    # -- the file and its structure (workbook/, validate.py) --
    "F001": {
        "unreadable": "The file could not be opened: it is not an ordinary file or it cannot be "
        f"read. Open the return in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "empty": "The file is empty (0 bytes). Open the return in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "not_workbook": "The file is not a workbook: it is neither an Excel workbook (.xlsx) nor "
        "an OpenDocument spreadsheet (.ods). Open the return in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "corrupt": "The workbook is corrupt and cannot be read (it may be incomplete, for "
        "example after an interrupted download or copy). Open it in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "password": "The workbook is password-protected, so it cannot be checked. Open it, "
        "remove the password and save as .xlsx, then send the new file.",
        "default_password": "The workbook is encrypted with Excel's built-in default password "
        "(Excel opens such a file without asking, for example one marked read-only or with its "
        "structure protected), so it cannot be checked. Open it in Excel, remove the protection "
        "and save it as .xlsx without a password, then send the new file.",
        "no_workbook_part": "The file is an Office document but holds no workbook (it may be a "
        "Word or PowerPoint file, or corrupt). Open the return in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "not_spreadsheet": "The file is a zip archive, not a spreadsheet. Open the return in a "
        f"spreadsheet program, {_SAVE_AS_XLSX}.",
        "dtd": "The workbook contains an XML document type declaration, which spreadsheet "
        "programs do not write in a workbook's data and which can hide an attack; refused for "
        f"safety. Open it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "long_prolog": "The workbook has an internal part that starts with over 1 MB of padding "
        "before its content, which spreadsheet programs never write; refused for safety. Open "
        f"it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "duplicate_part": "The workbook holds two internal parts with the same name (ignoring "
        "case), which spreadsheet programs never write, so it is unclear what it contains. Open "
        f"it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        # Past the container's checks, calamine could still not open the file or a sheet.
        "damaged": "The workbook is damaged and cannot be read. Open it in a spreadsheet program "
        "and save it again as .xlsx.",
        "sheet_damaged": 'Sheet "{sheet_name}" cannot be read: the workbook is damaged. Open it '
        "in a spreadsheet program and save it again as .xlsx.",
    },
    "F002": {
        "legacy_xls": "The file is an old-style Excel 97-2003 workbook (.xls), which is not "
        f"accepted. Open it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "old_excel": "The file is an old-style Excel 2.x to 4.0 workbook (a legacy binary "
        "workbook), which is not accepted. Open it in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "binary": "The workbook is an Excel Binary Workbook (.xlsb), which is not accepted. Open "
        f"it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "macro": "The workbook is macro-enabled (.xlsm), which is not accepted. Open it in a "
        f"spreadsheet program, {_SAVE_AS_XLSX} (this removes the macros).",
        "ods_macro": "The spreadsheet contains macros (LibreOffice Basic or scripts), which are "
        f"not accepted. Open it in a spreadsheet program, {_SAVE_AS_XLSX} (this removes the "
        "macros).",
    },
    "F003": {
        "file_size": "The file is {file_bytes:size}, over the {max_file_bytes:size} limit for a "
        "return. " + _SHRINK,
        "parts": "The workbook is made of more than {max_members:,} internal parts, too many to "
        "check safely. " + _SHRINK,
        # Declared: the sizes the zip's directory gives its parts, before any is inflated.
        "declared_size": "The workbook would take up {declared_bytes:size} once opened, over the "
        "{max_uncompressed_bytes:size} limit. " + _SHRINK,
        # Inflated: parts that declared less than they hold, stopped at the limit.
        "inflated_size": "The workbook would take up more than {max_uncompressed_bytes:size} "
        "once opened. " + _SHRINK,
        "sheet_extent": 'Sheet "{sheet_name}" spans {row_count:,} rows by {column_count:,} '
        "columns, {cell_count:,} cells: over the limit of {max_sheet_cells:,}. Delete the "
        "stray cells far from the table (or the rows and columns around them) and save the "
        "workbook again.",
        "ods_extent": "The spreadsheet's sheets span {cell_count:,} cells together, counting "
        "repeated rows and columns, over the limit of {max_sheet_cells:,}; the largest, "
        '"{largest_sheet_name}", spans {largest_row_count:,} rows by {largest_column_count:,} '
        "columns. Delete the rows and columns far from the table (a value or formula filled "
        "down or across far beyond it) and save the spreadsheet again.",
        "sheet_rows": 'Sheet "{sheet_name}" has {row_count:,} rows, more than the limit of '
        "{max_rows:,}.",
        # calamine's own cap on the cells it builds, which the checks above should pre-empt;
        # it names the sheet only when one sheet was being read.
        "reader_cap": "A sheet of the workbook spans {cell_count:,} cells, counting repeated "
        "rows and columns: over the reader's limit of {reader_max_cells:,}. Delete the rows "
        "and columns far from the table and save the workbook again.",
        "sheet_reader_cap": 'Sheet "{sheet_name}" spans {cell_count:,} cells, counting repeated '
        "rows and columns: over the reader's limit of {reader_max_cells:,}. Delete the rows "
        "and columns far from the table and save the workbook again.",
    },
    "F004": {"": "The required sheet {sheet_name} is missing."},
    "F005": {
        "no_header": "No header row found: the first {search_rows} rows hold none of the column "
        "names {column_names!j}.",
        "no_about_header": 'No header row with the columns "field" and "value" was found.',
        "missing_column": 'Required column "{column}" is missing from the header row (row '
        "{header_row}).",
    },
    "F006": {"": 'Sheet "{sheet_name}" is not part of the return and is ignored.'},
    "F007": {
        # The heading as privacy.shown quotes it (as typed, quotes inside made '); one that
        # looks like personal data is withheld and the column named by its letter instead.
        "heading": "Column {heading} is not part of the return and is ignored.",
        "letter": "Column {column_letter} is not part of the return and is ignored.",
        "no_heading": "Column {column_letter} has values but no heading; it is ignored.",
    },
    "F008": {
        "row": "Row {row} is blank in the middle of the table; delete it or fill it in.",
        "rows": "Rows {first_row} to {last_row} are blank in the middle of the table; delete "
        "them or fill them in.",
    },
    "F009": {
        "sheets": 'Sheets "{read_sheet_name}" and "{other_sheet_name}" are both the {sheet_name} '
        'sheet; only "{read_sheet_name}" is read.',
        "column": 'The column "{column}" appears twice; only the first (column {read_column_letter}'
        ") is read. Delete or rename the other.",
        "field": 'The field "{field}" appears twice; only the first (row {read_row}) is read.',
    },
    # -- cells (compile.py) --
    "V004": {
        # A required About field with no row at all (workbook/tables.py), not a blank value.
        "no_about_row": 'The About sheet has no "{field}" row; add one with its value.',
    },
    # -- About, Budgets, Services, Clients, Explanations (rules/) --
    # A006 is made where the About sheet's rows are read (workbook/tables.py).
    "A006": {
        "unknown": '"{field}" is not a field of the return; the row is ignored.',
        "no_name": "A value has no field name; the row is ignored.",
    },
    "B003": {
        "": "people_total is {people_total:,} but the six budget types add up to {types_sum:,}."
    },
    # -- periods (rules/periods.py, aggregate/screens.py, ledger) --
    # -- the internal error --
}


class _Formatter(string.Formatter):
    """str.format with ``!j`` (a list joined with ", ") and ``:size`` (bytes, as a size)."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "j":
            return ", ".join(str(item) for item in value)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec == "size":
            return _size_text(value)
        return super().format_field(value, format_spec)


def _size_text(n: int) -> str:
    """``n`` bytes in the largest binary unit it reaches, to one decimal place.

    >>> _size_text(52_428_800), _size_text(1536), _size_text(1023)
    ('50 MB', '1.5 KB', '1,023 bytes')
    """
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{n:,} bytes"


_FORMATTER = _Formatter()


def render(rule_id: str, variant: str, params: Mapping[str, Any]) -> str:
    """The message of ``rule_id``'s ``variant`` template filled with ``params``.

    >>> TEMPLATES["_example"] = {"": "people_total is {people_total:,} in {columns!j}."}
    >>> render("_example", "", {"people_total": 1200, "columns": ["a", "b"]})
    'people_total is 1,200 in a, b.'
    >>> del TEMPLATES["_example"]
    """
    template = TEMPLATES[rule_id][variant]
    if params.keys() != fields(template):
        # A defect of the rule, not of the file: params hold exactly what the message shows,
        # so that a reader of params sees every figure of the message and nothing else.
        raise ValueError(
            f"{rule_id} {variant!r}: params {sorted(params)} but the template uses "
            f"{sorted(fields(template))}"
        )
    return _FORMATTER.vformat(template, (), params)


@cache
def fields(template: str) -> frozenset[str]:
    """The parameter names a template uses: what its findings' ``params`` must hold."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name)
