"""How far a sheet reaches, measured before calamine allocates it (zipfile, expat, regular
expressions and polars; never calamine).

calamine builds a dense grid from a sheet's first to its last cell (an .ods: every sheet, as
it opens the file) and aborts the whole process, with no exception, when it cannot allocate
it. So every sheet it will read is measured first, streaming, in a bounded amount of memory.
"""

from __future__ import annotations

import codecs
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

#: Excel's grid: no sheet may reach past it, whatever the cell limit.
GRID_ROWS = 1_048_576
GRID_COLUMNS = 16_384
#: The widest reference (Z) that does not, on its own, send a sheet to be measured, unless
#: the sheet says it is wider (see :class:`SheetReach`).
_NEAR_COLUMNS = 26

#: A parser for one member: ``parse(name, on_start, on_end)`` streams it through expat.
Parse = Callable[[str, Callable[[str, dict[str, str]], None], Callable[[str], None]], None]


def near_bounds(max_sheet_cells: int, columns: int = _NEAR_COLUMNS) -> tuple[int, int]:
    """(rows, columns) such that a sheet whose cell and row references all stay within both
    spans at most ``rows * columns <= max_sheet_cells`` cells and stays inside Excel's grid,
    so it need not be measured. (0, 1) when every sheet must be measured. ``columns`` is the
    widest the sheet is expected to be (Z, unless it says otherwise).
    """
    columns = max(1, min(columns, max_sheet_cells, GRID_COLUMNS))
    rows = min(max(0, max_sheet_cells) // columns, GRID_ROWS)
    return rows, columns


def _digits_at_least(n: int) -> str:
    """A pattern for a run of ASCII digits worth at least ``n`` (``n >= 1``), matched from its
    first digit. A run with leading zeros is only longer, so it matches all the same: the
    pattern may send a near sheet to be measured, but never lets a far one through.
    """
    text = str(n)
    options = [f"[0-9]{{{len(text) + 1},}}", text]
    for i, digit in enumerate(text):
        if digit != "9":
            rest = len(text) - i - 1
            options.append(f"{text[:i]}[{int(digit) + 1}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(options) + ")"


def column_letters(column: int) -> str:
    """The A1 letters of a 1-based column number."""
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def column_number(letters: str) -> int:
    """The 1-based column number of A1 letters, in either case."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _letters_at_least(column: int) -> str:
    """A pattern for column letters (either case) naming ``column`` (2 or more) or a later one,
    matched from the first letter: more letters, or as many and none earlier in the alphabet
    where they first differ."""
    text = column_letters(column)
    either = "".join(f"[{letter}{letter.lower()}]" for letter in text)
    options = [f"[A-Za-z]{{{len(text) + 1},}}", either]
    for i, letter in enumerate(text):
        if letter != "Z":
            after = chr(ord(letter) + 1)
            rest = len(text) - i - 1
            prefix = "".join(f"[{c}{c.lower()}]" for c in text[:i])
            options.append(
                f"{prefix}[{after}-Z{after.lower()}-z]" + (f"[A-Za-z]{{{rest}}}" if rest else "")
            )
    return "(?:" + "|".join(options) + ")"


_SPACE = r"[ \t\r\n]"


@functools.cache
def far_reference(max_sheet_cells: int, columns: int = _NEAR_COLUMNS) -> str:
    """The pattern for what sends a worksheet part to be measured under ``max_sheet_cells``.

    A cell or row reference past :func:`near_bounds` (a later column, or a later row,
    leading spaces and $ allowed as the measure allows them); a cell or row with no
    reference at all (its other attributes with values or without: calamine reads
    ``<c x t="n">`` too), whose place counts on from the one before it, so that only a walk
    through the sheet can say where it lands; a prefixed cell, row or sheet element,
    which the pattern for those does not follow; or a cell or row start tag with a raw "<"
    inside it (in an attribute's value, say, which calamine reads all the same), which
    could cut the tag where :class:`SheetReach` carries it from one read to the next. A
    sheet with none of these spans no more than the bounds allow, so the precise measure
    below runs only on the odd sheet that does. (ASCII classes and no prefix in the middle
    alternative keep the search to about 1 ms a MB.)
    """
    rows, columns = near_bounds(max_sheet_cells, columns)
    if rows < 1:
        return "(?s)."  # any content at all: every sheet is measured
    reference = (
        rf"(?:{_letters_at_least(columns + 1)}\$?[0-9]"
        rf"|[A-Za-z]*\$?{_digits_at_least(rows + 1)})"
    )
    return (
        rf"""{_SPACE}r{_SPACE}*={_SPACE}*["']{_SPACE}*\$?{reference}"""
        rf"""|<(?:c|row)(?:{_SPACE}+(?:(?:[^ \t\r\nr=/>][^ \t\r\n=]*|r[^ \t\r\n=]+){_SPACE}*="""
        rf"""{_SPACE}*(?:"[^"]*"|'[^']*')|[^ \t\r\n=/>"'<]+))*{_SPACE}*/?>"""
        rf"""|:(?:c|row|worksheet)[ \t\r\n/>]"""
        # From the tag's start to the first "<" after it, quoted or not, with no ">"
        # outside quotes between: so the match holds no "<" but its first and last.
        rf"""|<(?:c|row){_SPACE}(?:[^<>"']|"[^"<]*"|'[^'<]*')*(?:"[^"<]*|'[^'<]*)?<"""
    )


#: How much of one read is carried into the next at least: everything from its last "<" is
#: carried too, so that a tag cut by the read, however long, is seen whole.
_HINT_OVERLAP = 512
#: A carry longer than this (a tag or a text of megabytes) sends the sheet to be measured.
_MAX_HINT_CARRY = 4 * 1024 * 1024
#: Text searched at once: polars is fast on large strings, and memory stays bounded.
_HINT_BATCH = 16 * 1024 * 1024
#: The sheet's own account of its width: <dimension ref="A1:BH2000"/>, and its first cells.
_DIMENSION = re.compile(rb"""<dimension\s+ref\s*=\s*["'][^"':]*:?\$?([A-Za-z]{1,3})\$?[0-9]""")
_FIRST_COLUMNS = re.compile(rb'<c r="([A-Z]{1,3})[0-9]')


class SheetReach:
    """Whether a worksheet part may reach further than a cheap bound allows, fed chunk by chunk.

    The bound is a rectangle from A1 of at most the cell limit: as wide as the sheet says it
    is (its <dimension>, and the columns of its first read), at least A to Z, and as many rows
    as the limit then allows. A sheet whose references all stay inside spans no more cells
    than the limit, so only one that strays (or whose cells are placed by counting) is
    measured exactly. Wide sheets thus take the quick path too, at the speed of narrow ones.

    Searched with polars' Rust regex, a DFA, a batch of reads at a time: Python's re took
    7 ms a MB of sheet XML here, and expat (the exact measure) over 100.
    """

    def __init__(self, max_sheet_cells: int) -> None:
        self.max_sheet_cells = max_sheet_cells
        self.pattern: str | None = None
        self.texts: list[str] = []
        self.size = 0
        self.tail = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.far = False

    def feed(self, chunk: bytes) -> None:
        if self.far:
            return
        if self.pattern is None:
            self.pattern = far_reference(self.max_sheet_cells, self._columns(chunk))
        text = self.tail + self.decoder.decode(chunk)
        # Every match of the pattern holds no "<" but perhaps its first character and its
        # last, so one cut by this read starts at or after the read's last "<" (or in the
        # carry this text began with, when it has none) and is whole in the next text.
        carry = max(0, min(text.rfind("<"), len(text) - _HINT_OVERLAP))
        if len(text) - carry > _MAX_HINT_CARRY:
            self.far = True
            self.texts = []
            return
        self.tail = text[carry:]
        self.texts.append(text)
        self.size += len(text)
        if self.size >= _HINT_BATCH:
            self._search()

    def _columns(self, head: bytes) -> int:
        letters = {match.upper() for match in _FIRST_COLUMNS.findall(head)}
        dimension = _DIMENSION.search(head)
        if dimension:
            letters.add(dimension.group(1).upper())
        widest = max((column_number(text.decode()) for text in letters), default=0)
        return max(_NEAR_COLUMNS, widest)

    def _search(self) -> None:
        import polars as pl

        if self.texts and self.pattern is not None:
            found = pl.Series(self.texts, dtype=pl.String).str.contains(self.pattern).any()
            self.far = self.far or bool(found)
        self.texts = []
        self.size = 0

    def found(self) -> bool:
        """True when the sheet must be measured exactly (call once, after the last chunk)."""
        self._search()
        return self.far


#: A cell reference as calamine reads one, of any length, so an absurd row still counts.
_ANY_CELL_REF = re.compile(r"\$?([A-Za-z]+)\$?([0-9]+)")
#: Stands for a row or column number too long to be worth converting: far beyond any grid.
_FAR = 10**15


def _bounded(digits: str) -> int:
    """A row number as written, however many digits."""
    digits = digits.lstrip("0")
    return int(digits or "0") if len(digits) <= 15 else _FAR


class _Extent:
    """expat handlers that place each cell where calamine does, and bound those with content.

    A cell without ``r`` follows the one before it in its row; a row without ``r``
    follows the row before it (an empty ``<row/>`` included). A cell with no child
    element (``<c r="XFD1" s="3"/>``, a formatted empty cell) is not in calamine's grid,
    so it does not count: formatting a far cell is harmless, a value there is not.
    """

    def __init__(self) -> None:
        self.in_data = False
        self.row = 0
        self.column = 0
        self.cell: tuple[int, int] | None = None
        self.rows = [0, 0]  # min, max
        self.columns = [0, 0]

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "sheetData":
            self.in_data = True
        elif not self.in_data:
            return
        elif name == "row":
            number = attrs.get("r", "").strip()
            self.row = _bounded(number) if number.isdigit() else self.row + 1
            self.column = 0
        elif name == "c":
            ref = _ANY_CELL_REF.fullmatch(attrs.get("r", "").strip())
            if ref:
                letters = ref.group(1)
                # Past three letters a column is beyond any grid; eight keep the sum small.
                self.column = column_number(letters[:8]) if len(letters) <= 8 else _FAR
                self.cell = (_bounded(ref.group(2)), self.column)
            else:
                self.column += 1
                self.cell = (self.row, self.column)
        elif self.cell is not None:
            # A child (<v>, <f>, <is>): the cell holds something calamine will place.
            row, column = self.cell
            self.cell = None
            for bounds, value in ((self.rows, row), (self.columns, column)):
                bounds[0] = value if not bounds[0] else min(bounds[0], value)
                bounds[1] = max(bounds[1], value)

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name == "c":
            self.cell = None
        elif name == "sheetData":
            self.in_data = False


def sheet_extent(parse: Parse, part: str) -> tuple[int, int]:
    """(rows, columns) of the rectangle from the sheet's first to its last cell with content.

    A full expat parse, slower than a regular expression but not fooled by what XML
    allows and a pattern misreads (a ">" inside an attribute value, a reference in single
    quotes, cells placed by counting); only sheets hinted far out that
    :func:`quick_extent` cannot read pay for it.
    """
    extent = _Extent()
    parse(part, extent.start, extent.end)
    rows, columns = extent.rows, extent.columns
    if not rows[1]:
        return 0, 0
    return rows[1] - rows[0] + 1, columns[1] - columns[0] + 1


#: A cell start tag as every common writer writes it: r first, in double quotes, then plain
#: attributes; and whether it is self-closed, closed at once (no content) or opened.
_QUICK_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?: (?!r=)[A-Za-z_][\w:.-]*="[^"<>]*")*'
    rb"(/>|>(?:[ \t\r\n]*</c>)?)"
)
_ODD_CELL_STARTS = (b"<c\t", b"<c\n", b"<c\r", b"<c>", b"<c/")
_PREFIXED_TAG = re.compile(rb"</?[A-Za-z_][\w.-]*:")
_SHEET_DATA = re.compile(rb"<sheetData(/?)>")
_ROOT = re.compile(rb"<worksheet[ \t\r\n>]")
#: More before the sheet data (or in one tag) than any writer puts there: left to expat.
_QUICK_HEAD = 4 * 1024 * 1024
_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*<\?xml[^<>]*\?>")


def quick_extent(read: Callable[[int], bytes], size: int) -> tuple[int, int] | None:
    """:func:`sheet_extent` by regular expression, ten times faster, for a sheet written as
    every common writer writes one (each cell's reference in r="A1", nothing prefixed, no
    comment); None for any other sheet, which then needs the full parse. A cell with text
    but no element inside (which no writer writes) counts as having content here.

    ``read(size)`` reads the next part of the sheet's XML.
    """
    head = b""
    while (start := head.find(b"<sheetData")) < 0:
        more = read(size)
        if not more or len(head) > _QUICK_HEAD:
            return None
        head += more
    before = head[:start]
    declaration = _DECLARATION.match(before)
    if declaration:
        before = before[declaration.end() :]
    if (
        _ROOT.search(before) is None
        or b"<!" in before
        or b"<?" in before
        or b":worksheet" in before
        or b":sheetData" in before
    ):
        return None
    opening = _SHEET_DATA.match(head, start)
    if opening is None:
        return None
    if opening.group(1):  # <sheetData/>
        return _no_second_sheet_data(head[opening.end() :], read, size)

    bounds: list[int] = []  # first row, last row, first column, last column
    buf = head[opening.end() :]
    while True:
        end = buf.find(b"</sheetData>")
        if end >= 0:
            if not _quick_cells(buf[:end], bounds):
                return None
            closing = end + len(b"</sheetData>")
            if _no_second_sheet_data(buf[closing:], read, size) is None:
                return None
            break
        # Up to the start of the last cell or row: every cell scanned is then whole, with
        # what follows its start tag (an empty cell's "</c>" included).
        cut = max(buf.rfind(b"<c "), buf.rfind(b"<row"))
        if cut > 0:
            if not _quick_cells(buf[:cut], bounds):
                return None
            buf = buf[cut:]
        elif len(buf) > _QUICK_HEAD:
            return None
        more = read(size)
        if not more:
            return None
        buf += more
    if not bounds:
        return 0, 0
    return bounds[1] - bounds[0] + 1, bounds[3] - bounds[2] + 1


def _no_second_sheet_data(
    rest: bytes, read: Callable[[int], bytes], size: int
) -> tuple[int, int] | None:
    """(0, 0) when nothing after the sheet data starts another one (or hides one), else None."""
    tail = b""
    while True:
        window = tail + rest
        if b"sheetData" in window or b"<!" in window:
            return None
        tail = window[-16:]
        rest = read(size)
        if not rest:
            return 0, 0


def _quick_cells(piece: bytes, bounds: list[int]) -> bool:
    if b"<!" in piece or b"<?" in piece or any(odd in piece for odd in _ODD_CELL_STARTS):
        return False
    if b":" in piece and _PREFIXED_TAG.search(piece):
        return False
    matches = _QUICK_CELL.findall(piece)
    if len(matches) != piece.count(b"<c "):
        return False
    # A formatted cell with nothing in it is not in calamine's grid.
    content = [match for match in matches if match[2] == b">"]
    if not content:
        return True
    rows = list(map(int, map(operator.itemgetter(1), content)))
    columns = [
        column_number(letters.decode()) for letters in set(map(operator.itemgetter(0), content))
    ]
    extremes = [min(rows), max(rows), min(columns), max(columns)]
    if bounds:
        extremes = [
            min(bounds[0], extremes[0]),
            max(bounds[1], extremes[1]),
            min(bounds[2], extremes[2]),
            max(bounds[3], extremes[3]),
        ]
    bounds[:] = extremes
    return True


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# --- OpenDocument: the cells calamine builds when it opens the file -----------------------

#: The table elements, as calamine matches them: by this exact prefix ("table:"), which every
#: writer uses. A start tag is matched whole, so a ">" inside an attribute value cannot end it.
_ODS_TAG = re.compile(
    rb"<(/?)table:(table|table-row|table-cell|covered-table-cell)"
    # An attribute may have no value: calamine reads <table:table-cell x office:value="1" ...>
    rb"""((?:[ \t\r\n]+[^ \t\r\n=/>]+(?:[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|'[^']*'))?)*)"""
    rb"""[ \t\r\n]*(/?)>"""
)
_REPEATED = re.compile(
    rb"""table:number-(?:rows|columns)-repeated[ \t\r\n]*=[ \t\r\n]*["'][ \t\r\n]*\+?([0-9]+)"""
)
#: What gives calamine a value or a formula for a cell (office:value, office:value-type,
#: office:string-value, -date-, -time-, -boolean-value, table:formula); a cell with none of them
#: is empty to it and costs nothing, however often it repeats.
_ODS_CONTENT = (b"office:value", b"-value", b"table:formula")
_MAX_ODS_CARRY = 8 * 1024 * 1024


@dataclass
class TableCells:
    """One table's share of the cells calamine builds."""

    name: str
    rows: int
    columns: int

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def _repeats(attributes: bytes) -> int:
    match = _REPEATED.search(attributes) if b"-repeated" in attributes else None
    return int(match.group(1)) if match else 1


def _table_name(attributes: bytes) -> str:
    match = re.search(rb"""table:name[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""", attributes)
    if not match:
        return ""
    raw = match.group(1) if match.group(1) is not None else match.group(2)
    text = raw.decode("utf-8", "replace")
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


class OdsCells:
    """Counts, streaming, the cells calamine builds for each table of an .ods's content.xml.

    calamine keeps each row as written, from column A to its last cell with a value or a
    formula (an empty cell repeated 16,384 times costs nothing; a value repeated so costs
    16,384 cells), then builds the table's grid from its first to its last row with content,
    each row repeated as often as it says. So a table costs (rows from its first to its last
    row with content, repeats included) times (columns from A to its furthest cell with
    content), which bounds both. Everything inside a cell (a nested table, an annotation) is
    skipped, as calamine skips it; a row outside any table counts for none. Repeats are taken
    as written, beyond any cap calamine may apply, so the count never falls short.
    """

    def __init__(self) -> None:
        self.tables: list[TableCells] = []
        self.carry = b""
        self.in_table = False
        self.in_row = False
        self.skip: tuple[bytes, int] | None = None  # (element skipped, nesting)
        self.name = ""
        self.row = 0  # rows seen in this table, repeats included
        self.first = -1  # first row with content
        self.end = 0  # row after the last with content
        self.widest = 0
        self.row_repeat = 1
        self.column = 0
        self.row_width = 0

    def feed(self, chunk: bytes) -> None:
        buf = self.carry + chunk if self.carry else chunk
        # A raw "<" cannot occur inside a tag: up to the last one, every tag is whole.
        cut = buf.rfind(b"<")
        if cut < 0:
            self.carry = b""
            return
        self._scan(buf, cut)
        self.carry = buf[cut:]
        if len(self.carry) > _MAX_ODS_CARRY:
            raise ValueError("a tag longer than any spreadsheet program writes")

    def finish(self) -> list[TableCells]:
        self._scan(self.carry, len(self.carry))
        self.carry = b""
        return self.tables

    def _scan(self, buf: bytes, end: int) -> None:
        search = _ODS_TAG.search
        pos = 0
        while (match := search(buf, pos, end)) is not None:
            pos = match.end()
            closing, element, attributes, empty = match.groups()
            if self.skip is not None:
                skipped, depth = self.skip
                if element == skipped and not empty:
                    depth += -1 if closing else 1
                    self.skip = None if depth == 0 else (skipped, depth)
                continue
            if element == b"table":
                if closing and self.in_table:
                    self._end_table()
                elif not closing and not self.in_table:
                    self._start_table(_table_name(attributes))
                    if empty:
                        self._end_table()
                continue
            if not self.in_table:
                continue
            if element == b"table-row":
                if not closing:
                    self.row_repeat = _repeats(attributes)
                    self.column = self.row_width = 0
                    self.in_row = True
                    if not empty and (after := self._plain_row(buf, pos, end)) > 0:
                        pos = after
                        continue
                if closing or empty:
                    self._end_row()
            elif not closing and self.in_row:  # a cell (calamine reads cells in rows only)
                repeat = _repeats(attributes)
                if any(needle in attributes for needle in _ODS_CONTENT):
                    self.row_width = self.column + repeat
                self.column += repeat
                if not empty:
                    self.skip = (element, 1)

    def _plain_row(self, buf: bytes, pos: int, end: int) -> int:
        """Count, at C speed, a row as writers mostly write one: no repeats, no nesting, its
        last cell with content; returns where the row ends, or 0 to go tag by tag."""
        close = buf.find(b"</table:table-row>", pos, end)
        if close < 0:
            return 0
        body = buf[pos:close]
        if b"-repeated" in body or b"<table:table-row" in body or b"<table:table " in body:
            return 0
        # The row reaches to its last cell with content: look for it from the end.
        before = len(body)
        while True:
            last = max(
                body.rfind(b"<table:table-cell", 0, before),
                body.rfind(b"<table:covered-table-cell", 0, before),
            )
            if last < 0:
                self.row_width = 0
                break
            cell = _ODS_TAG.match(body, last)
            if cell is None:
                return 0
            if any(needle in cell.group(3) for needle in _ODS_CONTENT):
                cells = body.count(b"<table:table-cell", 0, last)
                self.row_width = cells + body.count(b"<table:covered-table-cell", 0, last) + 1
                break
            before = last
        self._end_row()
        return close + len(b"</table:table-row>")

    def _start_table(self, name: str) -> None:
        self.in_table = True
        self.in_row = False
        self.name = name
        self.row = self.end = self.widest = 0
        self.first = -1

    def _end_row(self) -> None:
        self.in_row = False
        if self.row_width:
            if self.first < 0:
                self.first = self.row
            self.end = self.row + self.row_repeat
            self.widest = max(self.widest, self.row_width)
        self.row += self.row_repeat
        self.row_repeat = 1
        self.row_width = 0

    def _end_table(self) -> None:
        self.in_table = False
        if self.first >= 0:
            self.tables.append(TableCells(self.name, self.end - self.first, self.widest))
