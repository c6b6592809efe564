"""Fonts, row heights and page setup for the workbooks we write (template, annotated copy).

Wrapped text needs an explicit row height: LibreOffice does not size the rows of an .xlsx
to their text when it opens one, so a wrapped cell in a row of default height shows only
its first line. The height is worked out here by wrapping the text as a spreadsheet does,
word by word, with the advance widths of Arial. Arial is the font every style names:
Excel has it wherever it runs and LibreOffice substitutes Liberation Sans, whose widths
are the same, so the estimate holds in both. (A style that names no font is shown by
LibreOffice in its default, a serif font; Calibri becomes a font of other widths where
Carlito is not installed.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

#: The font every style we write names, and its size in points.
FONT_NAME = "Arial"
FONT_SIZE = 10

#: Advance widths of Arial (and Liberation Sans) in thousandths of an em, for the printable
#: ASCII characters from space to tilde, regular then bold.
_REGULAR = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584"
)
_BOLD = (
    "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
    "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 "
    "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
    "556 556 500 389 280 389 584"
)
_WIDTHS = {
    False: dict(zip(map(chr, range(32, 127)), map(int, _REGULAR.split()), strict=True)),
    True: dict(zip(map(chr, range(32, 127)), map(int, _BOLD.split()), strict=True)),
}
#: Width taken for a character outside printable ASCII (£, dashes, accents): a full em,
#: more than any of them needs, so that a row is never too short.
_OTHER = 1000
#: Pixels per point on a screen at 100% (96 dpi), and per character of column width
#: (the width of a digit in the workbook's default font, as Excel measures columns).
_PX_PER_PT = 96 / 72
_PX_PER_WIDTH = 7
#: Pixels of a cell's width that are margin, not text.
_CELL_PADDING_PX = 6
#: Text is taken as this much wider than its metrics say, for hinting and rounding.
_SAFETY = 1.02
#: Height in points of one line of text at FONT_SIZE (Excel's row height for Arial 10 is
#: 12.75), and of the padding a row adds.
LINE_PT = 12.75 * FONT_SIZE / 10
_ROW_PADDING_PT = 2.0


def font(*, bold: bool = False, size: float = FONT_SIZE, **options: Any) -> Any:
    """An openpyxl Font that names its face, so LibreOffice shows no serif default."""
    from openpyxl.styles import Font

    return Font(name=FONT_NAME, size=size, bold=bold, **options)


def set_default_font(workbook: Any) -> None:
    """Make Arial the font of a new workbook's Normal style, which every cell without a font
    of its own shows and by which column widths are measured: Excel and LibreOffice then
    give a column the same width in pixels (with Calibri, LibreOffice measures by the
    wider font it substitutes). openpyxl has no public setting for it."""
    from openpyxl.styles import Font
    from openpyxl.utils.indexed_list import IndexedList

    normal = Font(name=FONT_NAME, sz=FONT_SIZE, family=2)
    workbook._fonts = IndexedList([normal])
    workbook._named_styles["Normal"].font = normal


def text_px(text: str, *, bold: bool = False, size: float = FONT_SIZE) -> float:
    """The width of ``text`` on one line, in screen pixels at 100%."""
    widths = _WIDTHS[bold]
    thousandths = sum(widths.get(ch, _OTHER) for ch in text)
    return thousandths / 1000 * size * _PX_PER_PT * _SAFETY


def column_px(width: float) -> float:
    """The room for text, in pixels, in a column ``width`` characters wide."""
    return width * _PX_PER_WIDTH - _CELL_PADDING_PX


def wrapped_lines(text: str, width: float, *, bold: bool = False, size: float = FONT_SIZE) -> int:
    """How many lines ``text`` takes wrapped in a column ``width`` characters wide: broken
    at spaces, a word longer than the line broken within it, as spreadsheets wrap."""
    room = column_px(width)
    space = text_px(" ", bold=bold, size=size)
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split(" "):
            needed = text_px(word, bold=bold, size=size)
            if used and used + space + needed <= room:
                used += space + needed
                continue
            if used:
                lines += 1
            # A word wider than the line fills whole lines, then starts the next one.
            extra = max(math.ceil(needed / room) - 1, 0) if room > 0 else 0
            lines += extra
            used = needed - extra * room
    return lines


def row_height(
    cells: Iterable[tuple[str | None, float]], *, bold: bool = False, size: float = FONT_SIZE
) -> float:
    """The height in points of a row whose wrapped cells are ``(text, column width)``."""
    lines = max(
        (wrapped_lines(text, width, bold=bold, size=size) for text, width in cells if text),
        default=1,
    )
    return round(lines * LINE_PT * size / FONT_SIZE + _ROW_PADDING_PT, 2)


def fits(text: str, width: float, *, bold: bool = False) -> bool:
    """Whether ``text`` shows whole on one line of a column ``width`` characters wide."""
    return text_px(text, bold=bold) <= column_px(width)


def width_for(texts: Iterable[str], *, bold: bool = False, least: float = 8) -> float:
    """The column width (in characters) that shows the longest of ``texts`` on one line."""
    widest = max((text_px(text, bold=bold) for text in texts), default=0.0)
    return max(least, math.ceil((widest + _CELL_PADDING_PX) / _PX_PER_WIDTH) + 1)


def page_setup(ws: Any, widths: Iterable[float], *, title_rows: str | None = None) -> None:
    """Print on A4, one page wide (as many pages long as the rows need), landscape when the
    columns are too wide for portrait at a readable scale; ``title_rows`` (``"1:1"``)
    repeat at the top of every page."""
    from openpyxl.worksheet.properties import PageSetupProperties

    total = sum(widths)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    # A4 portrait holds about 90 characters of column width at 100%, landscape about 135.
    ws.page_setup.orientation = "landscape" if total > 100 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows is not None:
        ws.print_title_rows = title_rows
