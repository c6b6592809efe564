"""Cells whose value cannot be read: formulas saved without a calculated value (a workbook
written by a program that does not calculate) and error cells (#DIV/0!, Err:502). calamine
reads such a cell as empty or as text; these scans say which cells they are, by sheet."""

from __future__ import annotations

import codecs
import re
import zipfile

from returns_kit.workbook import stream
from returns_kit.workbook.extent import column_letters, column_number
from returns_kit.workbook.package import Package
from returns_kit.workbook.refusal import MIB
from returns_kit.workbook.stream import PROLOG_ITEMS, contains_any, parse_member, read_head

# A sheet of uncalculated formulas could list a million cells; the first thousand say
# everything a council officer needs, and the list stays small in memory.
_MAX_CELLS_PER_SHEET = 1000

_ERROR_CODES = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
        "#EXTERNAL!",
        "#PYTHON!",
    }
)

_LIBREOFFICE_ERROR = re.compile(r"Err:\d{3}")

#: What the one pass over content.xml looks for: an .ods without it holds no formula.
ODS_HINTS = (b"formula",)

_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_CALCEXT_NS = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"


class SheetHints:
    """Whether a worksheet part may hold a formula or an error cell; a false hint only
    costs a precise re-read, a missed one a wrong answer, so hints err on the wide side.

    Formulas are <f>, or <x:f> from writers that prefix SpreadsheetML; error cells are
    t="e", and their codes start with "#" (<v>#DIV/0!</v>). The strings of two bytes or
    more are looked for in batches of reads (:func:`stream.contains_any`), at the end of
    the part or of each batch: call :meth:`finish` for the answer.
    """

    def __init__(self) -> None:
        self.tail = b""
        self.hit = False
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        #: the needles some pending read may hold, by the one byte each needs
        self.needles = {b'"e"'}

    def feed(self, chunk: bytes) -> bool:
        if self.hit:
            return True
        # Searching for one byte is a memchr, far faster than a search for two or more,
        # and a sheet of plain values has neither "#" nor "f" nor "'". A needle cut by
        # a read shows up in the seam, the end of the last read joined to this one.
        seam = self.tail + chunk[:2]
        self.tail = (self.tail + chunk)[-2:] if len(chunk) < 2 else chunk[-2:]
        if b"#" in chunk or any(needle in seam for needle in _SHEET_NEEDLES):
            self.hit = True
            self.pending = []
            return True
        if b"f" in chunk:
            self.needles.update((b"<f", b":f"))
        if b"'" in chunk:
            self.needles.add(b"'e'")
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes >= _HINT_BATCH_BYTES:
            self._search()
        return self.hit

    def finish(self) -> bool:
        """Whether the part may hold a formula or an error cell, once fed to its end."""
        self._search()
        return self.hit

    def _search(self) -> None:
        if self.pending and not self.hit:
            self.hit = contains_any(self.pending, self.needles)
        self.pending = []
        self.pending_bytes = 0
        self.needles = {b'"e"'}


_SHEET_NEEDLES = (b"<f", b":f", b'"e"', b"'e'")
#: Reads held for one search: enough to keep polars' cost per call small, little memory.
_HINT_BATCH_BYTES = 8 * MIB


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def xlsx_unreadable_cells(
    archive: zipfile.ZipFile, package: Package, hinted: set[str]
) -> dict[str, list[tuple[str, str]]]:
    by_part: dict[str, _Found] = {}  # each part read once, however many sheets name it
    cells: dict[str, _Found] = {}
    for sheet, part in package.sheets:
        if part not in hinted:
            continue
        found = by_part.get(part)
        if found is None:
            try:
                found = _scan_sheet_quickly(archive, part)
            except _NeedsFullParse:
                reader = _XlsxCells()
                parse_member(archive, part, reader.start, reader.end, reader.text)
                found = reader.found
            by_part[part] = found
        if found.cells:
            # Two sheets cannot share a name, but a hostile workbook could say they do.
            cells.setdefault(sheet, _Found()).merge(found)
    return {sheet: found.ordered() for sheet, found in cells.items()}


class _Found:
    """Unreadable cells of one sheet by (row, column), no more than the per-sheet cap."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], str] = {}

    def add(self, rows: range, columns: range, reason: str) -> None:
        # Bounded by the cap however many rows and columns a repeat claims.
        budget = _MAX_CELLS_PER_SHEET
        for row in rows:
            for column in columns:
                budget -= 1
                if budget < 0:
                    return
                key = (row, column)
                if key in self.cells:
                    # An error is the more precise account of a cell than a missing value.
                    if reason.startswith("error:"):
                        self.cells[key] = reason
                elif len(self.cells) < _MAX_CELLS_PER_SHEET:
                    self.cells[key] = reason
                else:
                    return

    def merge(self, other: _Found) -> None:
        for (row, column), reason in other.cells.items():
            self.add(range(row, row + 1), range(column, column + 1), reason)

    def ordered(self) -> list[tuple[str, str]]:
        return [(_a1(row, column), self.cells[row, column]) for row, column in sorted(self.cells)]


class _NeedsFullParse(Exception):
    """The quick scan met something it does not read reliably; use expat instead."""


# What Excel, LibreOffice and the common libraries write: an unprefixed <worksheet>, and
# cells whose start tag carries r="A1". Anything else goes to the full expat parse.
_SHEET_ROOT = re.compile(rb"<worksheet[\s>]")

# An <f> element (shared formulas are <f t="shared" si="0"/>) followed by the end of
# the cell or an empty <v>. Formula text holds no raw "<": XML escapes it.
_FORMULA_GAP = re.compile(rb"<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(?:(</c>)|<v\s*/>|<v\s*>\s*</v>)")

_ERROR_TYPE = (b't="e"', b"t='e'")

_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")

_VALUE = re.compile(rb"<v\s*>([^<]*)</v>")

# A single cell larger than this is not something a spreadsheet program writes.
_MAX_CARRY = 8 * MIB

# A cell start tag (r, s, t, cm, vm, ph) is far shorter than this.
_CELL_LOOK_BACK = 4096


def _scan_sheet_quickly(archive: zipfile.ZipFile, part: str) -> _Found:
    """Find unreadable cells with regular expressions over the raw XML, at C speed.

    A sheet of 700,000 formula cells takes tens of milliseconds this way against seconds
    through expat callbacks; expat remains the fallback for anything unusual.
    """
    found = _Found()
    with archive.open(part) as member:
        chunk = read_head(member)
        bom = len(codecs.BOM_UTF8) if chunk.startswith(codecs.BOM_UTF8) else 0
        prolog = PROLOG_ITEMS.match(chunk, bom)
        body = prolog.end() if prolog else bom
        if not _SHEET_ROOT.match(chunk, body):
            raise _NeedsFullParse
        carry = b""
        while True:
            buf = carry + chunk if carry else chunk
            # Comments and CDATA sections could hide or fake markup from a regular
            # expression; no spreadsheet program writes them in a sheet. (A "<" left at
            # the end of the last read is in the carry, so buf sees the whole "<!".)
            if b"!" in chunk and buf.find(b"<!", body) >= 0:
                raise _NeedsFullParse
            body = 0
            if chunk:
                # Scan whole cells only: up to the last cell end or cell start, whichever
                # is later; the cell that may be cut short waits for the next read.
                cut = max(buf.rfind(b"<c "), buf.rfind(b"</c>"))
                if cut <= 0:
                    if len(buf) > _MAX_CARRY:
                        raise _NeedsFullParse
                    carry = buf
                    chunk = member.read(stream.CHUNK)
                    continue
                if buf.startswith(b"</c>", cut):
                    cut += len(b"</c>")
            else:
                cut = len(buf)
            _scan_cells(buf, cut, found)
            if not chunk:
                return found
            carry = buf[cut:]
            chunk = member.read(stream.CHUNK)


def _scan_cells(buf: bytes, end: int, found: _Found) -> None:
    for gap in _FORMULA_GAP.finditer(buf, 0, end):
        cell = _enclosing_cell(buf, gap.start())
        if cell is None:
            continue
        row, column, tag_end, cell_type = cell
        # A stray <f> outside any cell (after a self-closed or closed one) is no formula.
        if buf[tag_end - 2 : tag_end] == b"/>" or buf.find(b"</c>", tag_end, gap.start()) >= 0:
            continue
        # An empty <v> on a t="str" cell is a cached empty string, which Excel and
        # LibreOffice write for formulas such as =IF(A1>0,"",1): a value, not a gap.
        if gap.group(1) is None and cell_type == b"str":
            continue
        found.add(range(row, row + 1), range(column, column + 1), "formula-without-value")
    for needle in _ERROR_TYPE:
        pos = buf.find(needle, 0, end)
        while pos >= 0:
            if buf[pos - 1 : pos] in (b" ", b"\t", b"\r", b"\n"):
                cell = _enclosing_cell(buf, pos)
                # Only a t="e" inside the cell's own start tag says it is an error cell.
                if cell is not None and cell[2] > pos:
                    row, column, tag_end, _ = cell
                    value = b""
                    if buf[tag_end - 2 : tag_end] != b"/>":
                        close = buf.find(b"</c>", tag_end, end)
                        match = _VALUE.search(buf, tag_end, close if close >= 0 else end)
                        value = match.group(1) if match else b""
                    reason = _error_reason(value[:64].decode("utf-8", "replace"))
                    found.add(range(row, row + 1), range(column, column + 1), reason)
            pos = buf.find(needle, pos + 1, end)


def _enclosing_cell(buf: bytes, pos: int) -> tuple[int, int, int, bytes] | None:
    """(row, column, end of start tag, t) of the <c> starting last before ``pos``."""
    # <f> is a cell's first child and t="e" sits in its start tag, so the start is near;
    # a bounded look back keeps many hits in one read from costing a read each.
    low = max(0, pos - _CELL_LOOK_BACK)
    start = max(buf.rfind(b"<c" + space, low, pos) for space in (b" ", b"\t", b"\r", b"\n"))
    if start < 0:
        if low > 0:
            raise _NeedsFullParse
        return None
    tag_end = buf.find(b">", start) + 1
    if tag_end <= 0:
        return None
    attributes = {
        match.group(1): match.group(2) if match.group(2) is not None else match.group(3)
        for match in _ATTRIBUTE.finditer(buf, start + 2, tag_end)
    }
    ref = _CELL_REF.fullmatch(attributes.get(b"r", b"").decode("ascii", "replace"))
    if ref is None:
        # A cell without r sits after the previous one: only a full parse can count it.
        raise _NeedsFullParse
    return int(ref.group(2)), column_number(ref.group(1)), tag_end, attributes.get(b"t", b"n")


def _a1(row: int, column: int) -> str:
    return f"{column_letters(column)}{row}"


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def _error_reason(text: str) -> str:
    code = text.strip()
    if code in _ERROR_CODES or _LIBREOFFICE_ERROR.fullmatch(code):
        return f"error:{code}"
    return "error:unknown"


class _XlsxCells:
    """expat handlers that note formula cells without a cached value, and error cells."""

    def __init__(self) -> None:
        self.found = _Found()
        self.locals: dict[str, str] = {}
        self.in_data = False
        self.row = 0
        self.column = 0
        self.in_cell = False
        self.cell_row = 0
        self.cell_type = "n"
        self.has_formula = False
        self.has_inline = False
        self.value: list[str] | None = None
        self.in_value = False
        self.value_len = 0

    def _name(self, tag: str) -> str:
        local = self.locals.get(tag)
        if local is None:
            local = self.locals[tag] = _local(tag)
        return local

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = self._name(tag)
        if name == "sheetData":
            self.in_data = True
        elif not self.in_data:
            return
        elif name == "row":
            number = attrs.get("r", "")
            # A row may omit r, meaning the one after the last.
            self.row = int(number) if number.isdigit() and len(number) < 8 else self.row + 1
            self.column = 0
        elif name == "c":
            ref = _CELL_REF.fullmatch(attrs.get("r", ""))
            if ref:
                self.column = column_number(ref.group(1))
                self.cell_row = int(ref.group(2))
            else:
                self.column += 1
                self.cell_row = self.row
            self.in_cell = True
            self.cell_type = attrs.get("t", "n")
            self.has_formula = self.has_inline = False
            self.value = None
        elif self.in_cell:
            if name == "f":
                self.has_formula = True
            elif name == "v":
                self.value = []
                self.value_len = 0
                self.in_value = True
            elif name == "is":
                self.has_inline = True

    def text(self, data: str) -> None:
        # Only short values matter (emptiness, an error code): keep at most 64 characters.
        if self.in_value and self.value is not None and self.value_len < 64:
            self.value.append(data[:64])
            self.value_len += len(data)

    def end(self, tag: str) -> None:
        name = self._name(tag)
        if name == "v":
            self.in_value = False
        elif name == "sheetData":
            self.in_data = False
        elif name == "c" and self.in_cell:
            self.in_cell = False
            reason = self._reason()
            if reason is not None:
                cell_range = range(self.cell_row, self.cell_row + 1)
                self.found.add(cell_range, range(self.column, self.column + 1), reason)

    def _reason(self) -> str | None:
        value = None if self.value is None else "".join(self.value)
        if self.cell_type == "e":
            return _error_reason(value or "")
        if not self.has_formula or self.has_inline:
            return None
        if value is None:
            return "formula-without-value"
        # An empty <v></v> on a t="str" cell is a cached empty string, which Excel and
        # LibreOffice write for formulas such as =IF(A1>0,"",1): a value, not a gap.
        if self.cell_type != "str" and not value.strip():
            return "formula-without-value"
        return None


def _repeat(value: str | None) -> int:
    if value is None or not value.isdigit():
        return 1
    return max(1, int(value[:10]))


class _OdsCells:
    """expat handlers that note ODS formula cells without a value, and error cells."""

    TABLE = f"{_TABLE_NS}}}table"
    ROW = f"{_TABLE_NS}}}table-row"
    CELLS = (f"{_TABLE_NS}}}table-cell", f"{_TABLE_NS}}}covered-table-cell")
    PARAGRAPH = f"{_TEXT_NS}}}p"

    def __init__(self) -> None:
        self.found: dict[str, _Found] = {}
        self.sheet = ""
        self.depth = 0  # table nesting: only top-level tables are sheets
        self.row = 0
        self.rows = range(0)
        self.in_row = False
        self.column = 0
        self.cell: tuple[range, str | None, str | None] | None = None
        self.cell_depth = 0
        self.has_paragraph = False
        self.text_parts: list[str] = []
        self.text_len = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == self.TABLE:
            self.depth += 1
            if self.depth == 1:
                self.sheet = attrs.get(f"{_TABLE_NS}}}name", "")
                self.row = 0
            return
        if self.depth != 1:
            return
        if self.cell is not None:
            self.cell_depth += 1
            if tag == self.PARAGRAPH:
                self.has_paragraph = True
            return
        if tag == self.ROW:
            # Repeats can run to a million rows: count them, never walk them.
            repeat = _repeat(attrs.get(f"{_TABLE_NS}}}number-rows-repeated"))
            self.rows = range(self.row + 1, self.row + 1 + repeat)
            self.row += repeat
            self.column = 0
            self.in_row = True
        elif tag in self.CELLS and self.in_row:
            repeat = _repeat(attrs.get(f"{_TABLE_NS}}}number-columns-repeated"))
            columns = range(self.column + 1, self.column + 1 + repeat)
            self.column += repeat
            if f"{_TABLE_NS}}}formula" in attrs:
                self.cell = (
                    columns,
                    attrs.get(f"{_OFFICE_NS}}}value-type"),
                    attrs.get(f"{_CALCEXT_NS}}}value-type"),
                )
                self.cell_depth = 0
                self.has_paragraph = False
                self.text_parts = []
                self.text_len = 0

    def text(self, data: str) -> None:
        if self.cell is not None and self.text_len < 64:
            self.text_parts.append(data[:64])
            self.text_len += len(data)

    def end(self, tag: str) -> None:
        if tag == self.TABLE:
            self.depth -= 1
            return
        if self.depth != 1:
            return
        if self.cell is not None:
            if self.cell_depth > 0:
                self.cell_depth -= 1
                return
            columns, value_type, calc_type = self.cell
            self.cell = None
            reason = None
            if calc_type == "error":
                reason = _error_reason("".join(self.text_parts))
            # LibreOffice writes a formula whose result is an empty string with no value
            # type but with an empty paragraph: that is a cached value, so only a formula
            # cell with neither is one that was never calculated.
            elif value_type is None and not self.has_paragraph:
                reason = "formula-without-value"
            if reason is not None:
                self.found.setdefault(self.sheet, _Found()).add(self.rows, columns, reason)
        elif tag == self.ROW:
            self.in_row = False


# The prefixes every ODS writer uses; the quick look below relies on them.
_ODS_ROOT_PREFIXES = (
    f'xmlns:table="{_TABLE_NS}"'.encode(),
    f'xmlns:office="{_OFFICE_NS}"'.encode(),
)

# A formula attribute not followed, in its start tag, by office:value-type. Writers put the
# formula first; one that puts the value type first only costs a needless full parse.
# Starting with a literal keeps the search fast: 100 MB in about 50 ms.
_ODS_VALUELESS_FORMULA = re.compile(
    rb"""table:formula=(?:"[^"]*"|'[^']*')(?![^>]*office:value-type=)"""
)

_ODS_ERROR = (b'calcext:value-type="error"', b"calcext:value-type='error'")


def _ods_may_have_unreadable_cells(archive: zipfile.ZipFile, content: str) -> bool:
    """Whether content.xml may hold a formula without a value or an error, by a quick look.

    Walking every cell through expat costs seconds on a large sheet; LibreOffice writes a
    value for almost every formula, so a regular expression can usually rule them out.
    """
    carry = b""
    with archive.open(content) as member:
        chunk = read_head(member)
        bom = len(codecs.BOM_UTF8) if chunk.startswith(codecs.BOM_UTF8) else 0
        prolog = PROLOG_ITEMS.match(chunk, bom)
        root_start = prolog.end() if prolog else bom
        root = chunk[root_start : chunk.find(b">", root_start) + 1]
        if not root or not all(prefix in root for prefix in _ODS_ROOT_PREFIXES):
            return True
        while chunk:
            buf = carry + chunk if carry else chunk
            # Look at whole tags only: up to the start of the last one, which may be cut
            # short (a raw "<" cannot occur inside a tag, a raw ">" can).
            cut = max(buf.rfind(b"<"), 0)
            if cut == 0 and len(buf) > _MAX_CARRY:
                return True
            if _ods_suspect(buf, cut):
                return True
            carry = buf[cut:]
            chunk = member.read(stream.CHUNK)
    return _ods_suspect(carry, len(carry))


def _ods_suspect(buf: bytes, end: int) -> bool:
    return _ODS_VALUELESS_FORMULA.search(buf, 0, end) is not None or any(
        buf.find(needle, 0, end) >= 0 for needle in _ODS_ERROR
    )


def ods_unreadable_cells(
    archive: zipfile.ZipFile, content: str
) -> dict[str, list[tuple[str, str]]]:
    if not _ods_may_have_unreadable_cells(archive, content):
        return {}
    reader = _OdsCells()
    parse_member(archive, content, reader.start, reader.end, reader.text)
    return {sheet: found.ordered() for sheet, found in reader.found.items() if found.cells}
