"""Write tables to one formatted .xlsx fast: each sheet's XML is built by polars expressions.

General writers (xlsxwriter, openpyxl, pyexcelerate) spend a Python call per cell: over
four seconds for the 64,000-row breakdowns of a national run, more than the whole run
may take. Tables need only text, numbers and booleans, a bold frozen heading, column
widths, a percentage format and a format for changes in percentage points, so the
SpreadsheetML is small enough to write here. Text goes in as inline strings, which a
spreadsheet never evaluates as a formula. Every style names its font (Arial, which
LibreOffice shows as Liberation Sans, of the same widths).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import polars as pl

from returns_kit.atomic import write_atomically

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

#: Style indexes in styles.xml below.
BOLD, PERCENT, POINTS = 1, 2, 3
#: A change between two rates, in percentage points: the cell holds the points (the
#: change x 100, 14.6 for a fraction of 0.146) and shows "+14.6 pts".
POINTS_FORMAT = '+0.0" pts";-0.0" pts";0.0" pts"'
#: Column widths in characters: at least the heading's, at most this (longer text is cut
#: at the cell's edge on screen, and whole in the cell).
MIN_WIDTH, MAX_WIDTH = 8, 80
#: Characters XML 1.0 does not allow, dropped from text.
_INVALID_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"

_STYLES = "\n".join(
    [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<styleSheet xmlns="{MAIN}">',
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0%"/>',
        f'<numFmt numFmtId="165" formatCode={quoteattr(POINTS_FORMAT)}/></numFmts>',
        '<fonts count="2"><font><sz val="10"/><name val="Arial"/><family val="2"/></font>',
        '<font><b/><sz val="10"/><name val="Arial"/><family val="2"/></font></fonts>',
        '<fills count="2"><fill><patternFill patternType="none"/></fill>',
        '<fill><patternFill patternType="gray125"/></fill></fills>',
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>',
        '<cellStyleXfs count="1">',
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>',
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>',
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>',
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>',
        "</cellXfs>",
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>',
        "</styleSheet>",
    ]
)


def _cell(name: str, dtype: pl.DataType, percent: bool, points: bool = False) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.String:
        text = column.str.replace_all(_INVALID_XML, "").str.replace_all("&", "&amp;", literal=True)
        text = text.str.replace_all("<", "&lt;", literal=True).str.replace_all(
            ">", "&gt;", literal=True
        )
        # A parser turns a bare carriage return into a line feed; a reference keeps it.
        text = text.str.replace_all("\r", "&#13;", literal=True)
        value = '<c t="inlineStr"><is><t xml:space="preserve">' + text + "</t></is></c>"
    elif dtype == pl.Boolean:
        value = '<c t="b"><v>' + column.cast(pl.Int8).cast(pl.String) + "</v></c>"
    elif dtype.is_float() and points:
        # Rounded as the change was (6 places of a fraction), so 0.146 is 14.6, not 14.59999.
        shown = (column * 100).round(4)
        value = pl.when(column.is_finite()).then(
            f'<c s="{POINTS}"><v>' + shown.cast(pl.String) + "</v></c>"
        )
    elif dtype.is_float():
        style = f' s="{PERCENT}"' if percent else ""
        value = pl.when(column.is_finite()).then(
            f"<c{style}><v>" + column.cast(pl.String) + "</v></c>"
        )
    elif dtype.is_integer():
        value = "<c><v>" + column.cast(pl.String) + "</v></c>"
    else:
        value = '<c t="inlineStr"><is><t>' + column.cast(pl.String) + "</t></is></c>"
    # An empty <c/> keeps later cells of the row in their columns.
    return value.fill_null("<c/>")


def _shown_length(frame: pl.DataFrame, name: str, percent: bool, points: bool) -> int:
    """About how many characters the longest value of a column takes as shown."""
    dtype = frame.schema[name]
    column = pl.col(name)
    if not frame.height:
        return 0
    if dtype == pl.String:
        return int(frame.select(column.str.len_chars().max()).item() or 0)
    if dtype == pl.Boolean:
        return len("FALSE")
    if dtype.is_float() and (percent or points):
        return len("+100.0 pts") if points else len("100.0%")
    if dtype.is_numeric():
        longest = frame.select(column.cast(pl.String).str.len_chars().max()).item()
        return int(longest or 0)
    return int(frame.select(column.cast(pl.String).str.len_chars().max()).item() or 0)


def _width(frame: pl.DataFrame, name: str, percent: bool, points: bool) -> int:
    """A column as wide as its heading (bold) and its longest value, within limits."""
    longest = max(len(name) + 3, _shown_length(frame, name, percent, points) + 2)
    return max(MIN_WIDTH, min(MAX_WIDTH, longest))


def _sheet_xml(
    frame: pl.DataFrame,
    is_percent: Callable[[str], bool],
    is_points: Callable[[str], bool] = lambda name: False,
) -> bytes:
    heading = "".join(
        f'<c t="inlineStr" s="{BOLD}"><is><t>{escape(name)}</t></is></c>' for name in frame.columns
    )
    widths = "".join(
        f'<col min="{i}" max="{i}" '
        f'width="{_width(frame, name, is_percent(name), is_points(name))}" customWidth="1"/>'
        for i, name in enumerate(frame.columns, start=1)
    )
    if frame.height and frame.width:
        cells = [
            _cell(name, dtype, is_percent(name), is_points(name))
            for name, dtype in frame.schema.items()
        ]
        body = frame.select(("<row>" + pl.concat_str(cells) + "</row>").str.join("")).item()
    else:
        body = ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        f"<cols>{widths}</cols><sheetData><row>{heading}</row>{body}</sheetData></worksheet>"
    ).encode()


def write_tables(
    tables: dict[str, pl.DataFrame],
    path: Path,
    is_percent: Callable[[str], bool] = lambda name: False,
    is_points: Callable[[str], bool] = lambda name: False,
) -> None:
    """One sheet per table, named after it (at most 31 characters, as spreadsheets require).

    Columns for which ``is_percent`` holds show as percentages (0.146 as 14.6%); columns
    for which ``is_points`` holds are changes between two rates, written in percentage
    points (0.146 as 14.6, shown "+14.6 pts"). Written beside ``path`` and renamed into
    place.
    """
    names = list(tables)
    sheets = "".join(
        f'<sheet name={quoteattr(name[:31])} sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
        for i in range(1, len(names) + 1)
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"'
            f"/>{overrides}</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
            f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{sheets}</sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{PACKAGE_RELS}">{sheet_rels}<Relationship '
            f'Id="rId{len(names) + 1}" Type="{RELS}/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": _STYLES,
    }

    # Fixed timestamps and order, so the same tables give the same bytes.
    def write(target: Path) -> None:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, text in parts.items():
                archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text)
            for i, name in enumerate(names, start=1):
                info = zipfile.ZipInfo(f"xl/worksheets/sheet{i}.xml", (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                sheet = _sheet_xml(tables[name], is_percent, is_points)
                archive.writestr(info, sheet, compresslevel=1)

    write_atomically(Path(path), write)
