"""Write an annotated copy of a council's workbook: its findings marked on the cells they name.

The council sees its own workbook, with each cell a finding names filled by severity and
carrying a comment that gives the rule and the message, and a first sheet "Findings"
listing every finding with a link to its cell. The source file is never written to: the
copy goes to a temporary file beside ``out`` and is renamed into place only once complete.

openpyxl rewrites the workbook, so the copy keeps the cells' values, formulas and styles
and the other sheets, but not what openpyxl cannot read: formulas lose their saved results
(the copy asks the spreadsheet program to recalculate on opening) and features openpyxl
does not support (images without Pillow, threaded comments, some extensions) are left out.
The copy is for reading the findings; the council corrects and sends its own file.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from returns_kit.atomic import write_atomically
from returns_kit.errors import ReturnsKitError
from returns_kit.findings import Finding, Severity
from returns_kit.report import FileReport
from returns_kit.rules.catalogue import RULES
from returns_kit.sheet_layout import font, page_setup, row_height, width_for
from returns_kit.wording import place
from returns_kit.workbook.container import inspect_container

#: The fill of a marked cell, by the severity of its most serious finding.
FILLS = {
    Severity.ERROR: "FFC7CE",
    Severity.QUERY: "FFEB9C",
    Severity.WARNING: "FFF2CC",
    Severity.INFO: "DDEBF7",
}
#: Who the comments are from, as a spreadsheet program shows it.
AUTHOR = "returns_kit"
FINDINGS_SHEET = "Findings"
#: The name of the findings sheet when the workbook already has a sheet called "Findings".
FINDINGS_SHEET_ALTERNATIVE = "Findings (returns_kit)"
#: The Findings sheet's columns: the message comes straight after the link to its cell,
#: where it is read; scope and explained, which few findings have, come last.
HEADER = ("severity", "rule", "name", "sheet", "cell", "message", "scope", "explained")
#: The message column's width in characters: wrapped there, a message reads in lines of
#: about 90 characters, and the sheet fits a 1280-pixel screen at 100%.
MESSAGE_WIDTH = 80.0
#: Widest a column other than the message's is made; longer values wrap.
_MAX_WIDTH = 30.0
_LINK_COLUMN, _MESSAGE_COLUMN = HEADER.index("cell") + 1, HEADER.index("message") + 1
#: Rules that mean the validator could not open the file: there is nothing to mark.
_REFUSED = frozenset({"F001", "F002", "F003"})

# Comment boxes are sized in pixels; roughly 7 pixels a character and 15 a line of text in
# the default comment font, between a readable minimum and a box that still fits a screen.
_CHAR_PX, _LINE_PX, _PAD_PX = 7, 15, 20
_MIN_WIDTH_PX, _MAX_WIDTH_PX, _MIN_HEIGHT_PX = 220, 480, 60


class AnnotateError(ReturnsKitError):
    """The annotated copy cannot be written (the source is not an .xlsx openpyxl can open,
    e.g. an .ods, or OUT is the source itself)."""


def annotate(source: Path, report: FileReport, out: Path) -> None:
    """Write a copy of the council's own workbook to ``out`` with its findings marked: each
    finding's cell filled by severity with a comment giving rule and message, and a first
    sheet "Findings" listing every finding with a link to its cell. Never modifies ``source``.

    ``report`` is what :func:`returns_kit.validate.validate_file` said of ``source``.

    >>> source = Path("fixtures/invalid/B003.xlsx")
    >>> annotate(source, validate_file(source), Path("B003-checked.xlsx"))  # doctest: +SKIP

    Raises :class:`AnnotateError` when ``out`` is ``source`` (or not an .xlsx name, or not
    in an existing folder), when the validator refused the file as unreadable (F001-F003),
    or when the file is not an .xlsx workbook openpyxl can open, such as an .ods.
    """
    source, out = Path(source), Path(out)
    _check_out(source, out)
    refused = [f.rule for f in report.findings if f.rule in _REFUSED]
    if refused:
        raise AnnotateError(
            f"{source.name} could not be read as a workbook ({refused[0]}), "
            "so there is nothing to annotate."
        )
    workbook = _load(source)
    _mark_cells(workbook, report.findings)
    _add_findings_sheet(workbook, report.findings)
    _write(workbook, out)


def _check_out(source: Path, out: Path) -> None:
    if out.suffix.casefold() != ".xlsx":
        raise AnnotateError(f"The annotated copy is an .xlsx workbook; name it .xlsx: {out}")
    if out.resolve() == source.resolve() or (
        out.exists() and source.exists() and os.path.samefile(out, source)
    ):
        raise AnnotateError(
            f"{out} is the workbook being checked; write the annotated copy to another file."
        )
    if out.is_dir():
        raise AnnotateError(f"{out} is a folder; give the name of the annotated copy.")
    if not out.parent.is_dir():
        raise AnnotateError(f"The folder {out.parent} does not exist.")


def _load(source: Path) -> Any:
    """The workbook, after the validator's own checks of the file (size, zip, XML) pass.

    The container is inspected again rather than trusting the report alone: openpyxl must
    never open a file those checks would refuse, whatever report it came with.
    """
    from openpyxl import load_workbook

    container = inspect_container(source)
    if container.findings:
        rule = container.findings[0].rule
        raise AnnotateError(
            f"{source.name} could not be read as a workbook ({rule}), "
            "so there is nothing to annotate."
        )
    if container.kind == "ods" or source.suffix.casefold() == ".ods":
        raise AnnotateError(
            f"{source.name} is an OpenDocument spreadsheet (.ods); only .xlsx workbooks can "
            "be annotated. Save it as .xlsx first (File > Save As), then annotate that."
        )
    try:
        with warnings.catch_warnings():
            # openpyxl warns of parts it cannot keep (e.g. data validation extensions);
            # the copy is for reading the findings, and the source is untouched.
            warnings.simplefilter("ignore")
            return load_workbook(source, keep_vba=False, data_only=False)
    except Exception as exc:
        raise AnnotateError(
            f"{source.name} cannot be opened as an .xlsx workbook ({type(exc).__name__}); "
            "save it as .xlsx first."
        ) from exc


def _sheet(workbook: Any, name: str | None) -> Any:
    """The worksheet the validator read as ``name``: the first whose title matches it once
    spaces are trimmed and case is ignored, as the validator matches them."""
    if name is None:
        return None
    wanted = name.strip().casefold()
    for ws in workbook.worksheets:
        if ws.title.strip().casefold() == wanted:
            return ws
    return None


def _target(ws: Any, address: str) -> Any:
    """The cell at ``address``, or the top-left cell of the merged range it lies in
    (only that one can hold a comment), or None when the address is not a cell's."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.utils.cell import coordinate_from_string

    try:
        coordinate_from_string(address)
        cell = ws[address]
    except (ValueError, TypeError, IndexError, AttributeError):
        return None
    if isinstance(cell, MergedCell):
        for merged in ws.merged_cells.ranges:
            if address in merged:
                return ws.cell(merged.min_row, merged.min_col)
    return cell


def _mark_cells(workbook: Any, findings: list[Finding]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    by_cell: dict[tuple[int, str], list[Finding]] = defaultdict(list)
    cells: dict[tuple[int, str], Any] = {}
    for item in findings:
        if item.cell is None:
            continue
        ws = _sheet(workbook, item.sheet)
        cell = None if ws is None else _target(ws, item.cell)
        if cell is None:
            continue
        key = (id(ws), cell.coordinate)
        by_cell[key].append(item)
        cells[key] = cell
    for key, marked in by_cell.items():
        cell = cells[key]
        worst = min((f.severity for f in marked), key=lambda severity: severity.rank)
        colour = FILLS[worst]
        cell.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
        text = "\n\n".join(f"{f.rule} {_rule_name(f.rule)}: {f.message}".strip() for f in marked)
        if cell.comment is not None and cell.comment.text:
            # Keep what the council had written there, below the findings.
            text += "\n\nComment already on this cell:\n" + cell.comment.text
        text = _clean(text)
        width, height = _comment_size(text)
        cell.comment = Comment(text, AUTHOR, height=height, width=width)


def _rule_name(rule: str) -> str:
    known = RULES.get(rule)
    return known.name if known is not None else ""


def _comment_size(text: str) -> tuple[int, int]:
    """Width and height in pixels of a comment box that shows ``text`` without scrolling."""
    lines = text.split("\n")
    longest = max(len(line) for line in lines)
    width = min(max(longest * _CHAR_PX + _PAD_PX, _MIN_WIDTH_PX), _MAX_WIDTH_PX)
    per_line = max((width - _PAD_PX) // _CHAR_PX, 1)
    rows = sum(max(math.ceil(len(line) / per_line), 1) for line in lines)
    return width, max(rows * _LINE_PX + _PAD_PX, _MIN_HEIGHT_PX)


def _add_findings_sheet(workbook: Any, findings: list[Finding]) -> Any:
    from openpyxl.styles import Alignment, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    # Which sheet each finding's cell is on, looked up before the new sheet joins them.
    located = [(item, _sheet(workbook, item.sheet)) for item in findings]
    taken = {title.casefold() for title in workbook.sheetnames}
    title = FINDINGS_SHEET
    if title.casefold() in taken:
        title = FINDINGS_SHEET_ALTERNATIVE
        number = 2
        while title.casefold() in taken:
            title = f"{FINDINGS_SHEET_ALTERNATIVE} {number}"
            number += 1
    ws = workbook.create_sheet(title, 0)

    wrap = Alignment(wrap_text=True, vertical="top")
    for column, heading in enumerate(HEADER, start=1):
        _put(ws, 1, column, heading).font = font(bold=True)
    rows: list[tuple[str | None, ...]] = []
    for row, (item, sheet) in enumerate(located, start=2):
        explained = None if item.explained is None else ("yes" if item.explained else "no")
        values: tuple[str | None, ...] = (
            item.severity.value,
            item.rule,
            _rule_name(item.rule) or None,
            place(item),  # "Whole workbook" or "Between periods", as the text and the page say
            item.cell,
            item.message,
            item.scope,
            explained,
        )
        rows.append(values)
        for column, value in enumerate(values, start=1):
            cell = _put(ws, row, column, value)
            cell.font = font()
            cell.alignment = wrap
        colour = FILLS[item.severity]
        ws.cell(row, 1).fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
        if item.cell is not None and sheet is not None and _target(sheet, item.cell) is not None:
            link = ws.cell(row, _LINK_COLUMN)
            # An internal link (a location, not a target): a target "#Sheet!A1" is written as
            # an external relationship, which LibreOffice resolves against the file's path.
            link.hyperlink = Hyperlink(ref=link.coordinate, location=_reference(sheet, item.cell))
            link.style = "Hyperlink"
            # The built-in Hyperlink style names Calibri; keep the sheet in one font.
            link.font = font(underline="single", color="0563C1")
            link.alignment = wrap
    widths = _widths(rows)
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    for row, values in enumerate(rows, start=2):
        # LibreOffice does not size a row to its wrapped text when it opens a file.
        ws.row_dimensions[row].height = row_height(
            (None if value is None else _clean(value), width)
            for value, width in zip(values, widths, strict=True)
        )
    page_setup(ws, widths, title_rows="1:1")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADER))}{len(findings) + 1}"

    # Open on the findings, with only that tab selected: a second selected tab would
    # group the sheets, and an edit on one would then change the other.
    for other in workbook.worksheets:
        other.sheet_view.tabSelected = False
    for chart in workbook.chartsheets:
        for view in chart.sheetViews.sheetView:
            view.tabSelected = False
    ws.sheet_view.tabSelected = True
    workbook.active = ws
    for view in workbook.views:
        view.firstSheet = 0
    # openpyxl does not keep formulas' saved results: have them worked out on opening.
    workbook.calculation.fullCalcOnLoad = True
    return ws


def _widths(rows: list[tuple[str | None, ...]]) -> list[float]:
    """Column widths in characters: the message's fixed (it wraps), the others as wide as
    their heading and values, up to :data:`_MAX_WIDTH`."""
    widths = []
    for column, heading in enumerate(HEADER):
        if column + 1 == _MESSAGE_COLUMN:
            widths.append(MESSAGE_WIDTH)
            continue
        values = [_clean(row[column] or "") for row in rows]
        fitted = max(width_for(values), width_for([heading], bold=True))
        widths.append(min(fitted, _MAX_WIDTH))
    return widths


def _reference(ws: Any, address: str) -> str:
    """``'Sheet name'!C2``, quoting the title as a formula would."""
    title: str = ws.title
    return "'" + title.replace("'", "''") + "'!" + address


def _put(ws: Any, row: int, column: int, value: str | None) -> Any:
    """Write ``value`` as text, never as a formula, even when it starts with "="."""
    cell = ws.cell(row, column)
    if value is not None:
        cell.value = _clean(value)
        cell.data_type = "s"
    return cell


def _clean(text: str) -> str:
    """``text`` without the control characters an .xlsx file cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cleaned: str = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", text)
    return cleaned


def _write(workbook: Any, out: Path) -> None:
    """Save beside ``out``, then rename it into place: ``out`` is either the complete copy
    or what it was before, never half written; made with the umask, like any new file."""
    try:
        write_atomically(out, workbook.save)
    except OSError as exc:
        raise AnnotateError(f"The annotated copy could not be written to {out}: {exc}") from exc
