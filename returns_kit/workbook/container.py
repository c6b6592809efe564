"""Look inside a workbook file before any spreadsheet parser does (zipfile, zlib, expat and
one polars regular expression; never calamine)."""

from __future__ import annotations

import codecs
import os
import re
import stat
import struct
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, Literal, NoReturn
from xml.parsers import expat

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding
from returns_kit.workbook.encryption import opens_with_default_password
from returns_kit.workbook.extent import (
    GRID_COLUMNS,
    GRID_ROWS,
    OdsCells,
    SheetReach,
    TableCells,
    column_letters,
    column_number,
    far_reference,
    near_bounds,
    quick_extent,
    sheet_extent,
)
from returns_kit.workbook.package import Package, part_key, read_package

__all__ = [
    "Container",
    "Limits",
    "far_reference",
    "inspect_container",
    "near_bounds",
]

_MIB = 1024 * 1024
_CHUNK = _MIB
# A real prolog is an XML declaration and perhaps a comment: well under 1 KB.
_PROLOG_LIMIT = _MIB
#: A first look at each part reads this much at a time: its prolog is normally all of it.
_PROLOG_READ = 16 * 1024
# A sheet of uncalculated formulas could list a million cells; the first thousand say
# everything a council officer needs, and the list stays small in memory.
_MAX_CELLS_PER_SHEET = 1000

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# Bit 0: traditional zip encryption; bit 6: strong encryption.
_ZIP_ENCRYPTED_FLAGS = 0x01 | 0x40

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_ENTRY_SIZE = 46

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

# Markup allowed before the root element once any DTD is ruled out. Possessive, so a long
# run of whitespace or comments costs one linear pass and never backtracks.
_PROLOG_ITEMS = re.compile(rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*+", re.DOTALL)
# The same, also stepping over stray text and any "<" that starts neither an element nor
# a declaration: parsers differ in what they forgive, so the search for a DTD in an XML
# part goes on until the root element itself.
_PROLOG_ANYTHING = re.compile(
    rb"(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->|[^<]+|<(?![A-Za-z_:\x80-\xff!?]))*+", re.DOTALL
)

_ODS_HINTS = (b"formula",)

_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_CALCEXT_NS = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"

_SAVE_AS_XLSX = "save it as an Excel Workbook (.xlsx) and send the new file"
_MSG_UNREADABLE = (
    "The file could not be opened: it is not an ordinary file or it cannot be read. "
    f"Open the return in a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_EMPTY = (
    f"The file is empty (0 bytes). Open the return in a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_NOT_WORKBOOK = (
    "The file is not a workbook: it is neither an Excel workbook (.xlsx) nor an OpenDocument "
    f"spreadsheet (.ods). Open the return in a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_CORRUPT = (
    "The workbook is corrupt and cannot be read (it may be incomplete, for example after an "
    f"interrupted download or copy). Open it in a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_PASSWORD = (
    "The workbook is password-protected, so it cannot be checked. Open it, remove the password "
    "and save as .xlsx, then send the new file."
)
_MSG_DEFAULT_PASSWORD = (
    "The workbook is encrypted with Excel's built-in default password (Excel opens such a "
    "file without asking, for example one marked read-only or with its structure protected), "
    "so it cannot be checked. Open it in Excel, remove the protection and save it as .xlsx "
    "without a password, then send the new file."
)
_MSG_LEGACY = (
    "The file is an old-style Excel 97-2003 workbook (.xls), which is not accepted. Open it in "
    f"a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_MACRO = (
    "The workbook is macro-enabled (.xlsm), which is not accepted. Open it in a spreadsheet "
    f"program, {_SAVE_AS_XLSX} (this removes the macros)."
)
_MSG_ODS_MACRO = (
    "The spreadsheet contains macros (LibreOffice Basic or scripts), which are not accepted. "
    f"Open it in a spreadsheet program, {_SAVE_AS_XLSX} (this removes the macros)."
)
_MSG_OLD_EXCEL = (
    "The file is an old-style Excel 2.x to 4.0 workbook (a legacy binary workbook), which is "
    f"not accepted. Open it in a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_BINARY = (
    "The workbook is an Excel Binary Workbook (.xlsb), which is not accepted. Open it in a "
    f"spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_NO_WORKBOOK_PART = (
    "The file is an Office document but holds no workbook (it may be a Word or PowerPoint "
    f"file, or corrupt). Open the return in a spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_NOT_SPREADSHEET = (
    "The file is a zip archive, not a spreadsheet. Open the return in a spreadsheet program, "
    f"{_SAVE_AS_XLSX}."
)
_MSG_DTD = (
    "The workbook contains an XML document type declaration, which spreadsheet programs do not "
    "write in a workbook's data and which can hide an attack; refused for safety. Open it in a "
    f"spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_LONG_PROLOG = (
    "The workbook has an internal part that starts with over 1 MB of padding before its "
    "content, which spreadsheet programs never write; refused for safety. Open it in a "
    f"spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_DUPLICATE_PART = (
    "The workbook holds two internal parts with the same name (ignoring case), which "
    "spreadsheet programs never write, so it is unclear what it contains. Open it in a "
    f"spreadsheet program, {_SAVE_AS_XLSX}."
)
_MSG_SHRINK = (
    "Remove sheets, images and data that are not part of the return, save it as .xlsx and "
    "send the new file."
)


@dataclass(frozen=True)
class Limits:
    """How big a file may be before it is refused (rule F003)."""

    max_file_bytes: int = 50 * 1024 * 1024  #: "50 MB on disk"
    max_uncompressed_bytes: int = 500 * 1024 * 1024  #: "500 MB uncompressed", all members
    max_members: int = 10_000  #: files inside the zip
    #: cells in the rectangle from a sheet's first to its last cell: calamine allocates it
    #: whole, and aborts the process (no exception) when it cannot. An .ods's sheets count
    #: together, repeated rows and columns included: calamine builds them all as it opens it.
    max_sheet_cells: int = 20_000_000
    #: rows in a sheet as calamine reads it (Excel's own maximum), checked once it is read
    max_rows: int = 1_048_576


@dataclass
class Container:
    """What the look inside found: the kind of workbook, or why it was refused."""

    kind: Literal["xlsx", "ods"] | None
    findings: list[Finding]
    #: sheet name as written -> [(A1 address, "formula-without-value" or "error:#DIV/0!")],
    #: by row then column; at most 1,000 cells a sheet. An error text that is not a
    #: spreadsheet error code is given as "error:unknown", so cell contents never leak.
    unreadable_cells: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def inspect_container(path: Path, limits: Limits = Limits()) -> Container:
    """Decide whether ``path`` is a safe workbook of an accepted kind; never raises.

    A refused file has ``kind`` None and exactly one F001, F002 or F003 finding.
    """
    try:
        return _inspect(Path(path), limits)
    except _Refusal as refusal:
        return Container(None, [refusal.finding], {})
    except Exception:
        # Whatever slipped past the specific checks, the file could not be read as a
        # workbook: say so rather than crash the whole run.
        return Container(None, [finding("F001", _MSG_CORRUPT)], {})


class _Refusal(Exception):
    def __init__(self, refused: Finding) -> None:
        super().__init__(refused.message)
        self.finding = refused


def _refuse(rule_id: str, message: str) -> NoReturn:
    raise _Refusal(finding(rule_id, message))


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024 * _MIB), ("MB", _MIB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{n:,} bytes"


def _inspect(path: Path, limits: Limits) -> Container:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        _refuse("F001", _MSG_UNREADABLE)
    # Checked before opening: opening a FIFO or device could block or never end.
    if not stat.S_ISREG(info.st_mode):
        _refuse("F001", _MSG_UNREADABLE)
    _check_file_size(info.st_size, limits)
    try:
        fh = open(path, "rb")
    except OSError:
        _refuse("F001", _MSG_UNREADABLE)
    with fh:
        # The file may have changed since stat: trust what is actually open.
        size = os.fstat(fh.fileno()).st_size
        _check_file_size(size, limits)
        magic = fh.read(len(_OLE_MAGIC))
        if magic == _OLE_MAGIC:
            _refuse_compound_file(fh)
        if _is_biff2_to_4(magic):
            _refuse("F002", _MSG_OLD_EXCEL)
        if not magic.startswith(_ZIP_MAGIC):
            _refuse("F001", _MSG_NOT_WORKBOOK)
        # zipfile builds an object for every central directory entry before we could
        # count them, so a directory of a million tiny entries is refused first.
        if _central_directory_count(fh, size, limits.max_members) > limits.max_members:
            _refuse_members(limits)
        try:
            archive = zipfile.ZipFile(fh)
        except Exception:
            _refuse("F001", _MSG_CORRUPT)
        with archive:
            return _inspect_zip(archive, limits)


def _check_file_size(size: int, limits: Limits) -> None:
    if size == 0:
        _refuse("F001", _MSG_EMPTY)
    if size > limits.max_file_bytes:
        _refuse(
            "F003",
            f"The file is {_size(size)}, over the {_size(limits.max_file_bytes)} limit for a "
            f"return. {_MSG_SHRINK}",
        )


def _refuse_members(limits: Limits) -> NoReturn:
    _refuse(
        "F003",
        f"The workbook is made of more than {limits.max_members:,} internal parts, too many "
        f"to check safely. {_MSG_SHRINK}",
    )


#: The BOF record that starts an Excel 2, 3 or 4 file (which, unlike later ones, is not wrapped
#: in a compound file): record type, then its length.
_BIFF2_TO_4_BOF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00")
#: The BOF's document type: a worksheet, a chart, a macro sheet or a workbook.
_BIFF_DOCUMENT_TYPES = (0x0010, 0x0020, 0x0040, 0x0100)


def _is_biff2_to_4(head: bytes) -> bool:
    if head[:4] not in _BIFF2_TO_4_BOF:
        return False
    # BIFF2's BOF holds (version, type); BIFF3 and 4's hold (version, type, build).
    return len(head) >= 8 and struct.unpack_from("<H", head, 6)[0] in _BIFF_DOCUMENT_TYPES


def _refuse_compound_file(fh: BinaryIO) -> NoReturn:
    # Office wraps a password-protected .xlsx in the same compound-file container as a
    # legacy .xls; only the stream name EncryptedPackage tells them apart. The file is
    # within the size limit, so a chunked scan of all of it is affordable.
    fh.seek(0)
    hints = _Hints(("EncryptedPackage".encode("utf-16-le"),))
    while chunk := fh.read(_CHUNK):
        if hints.feed(chunk):
            # Only trying Excel's default password tells its files from ones a person locked.
            fh.seek(0)
            if opens_with_default_password(fh.read()):
                _refuse("F001", _MSG_DEFAULT_PASSWORD)
            _refuse("F001", _MSG_PASSWORD)
    _refuse("F002", _MSG_LEGACY)


def _central_directory_count(fh: BinaryIO, size: int, stop_after: int) -> int:
    """Entries in the zip's central directory, read the way zipfile reads it.

    Counts no further than ``stop_after + 1``; returns what it counted before anything
    malformed, which zipfile will then refuse itself.
    """
    tail_len = min(size, _EOCD.size + 65536)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    signature = b"PK\x05\x06"
    if tail[-_EOCD.size :].startswith(signature) and tail.endswith(b"\0\0"):
        pos = len(tail) - _EOCD.size
    else:
        pos = tail.rfind(signature)
    if pos < 0 or len(tail) - pos < _EOCD.size:
        return 0
    directory_size = _EOCD.unpack_from(tail, pos)[5]
    location = size - tail_len + pos
    start = location - directory_size
    if location >= _EOCD64_LOCATOR.size + _EOCD64.size:
        fh.seek(location - _EOCD64_LOCATOR.size)
        locator = fh.read(_EOCD64_LOCATOR.size)
        if locator.startswith(b"PK\x06\x07"):
            fh.seek(location - _EOCD64_LOCATOR.size - _EOCD64.size)
            record = fh.read(_EOCD64.size)
            if len(record) == _EOCD64.size and record.startswith(b"PK\x06\x06"):
                directory_size = _EOCD64.unpack(record)[8]
                start = location - _EOCD64_LOCATOR.size - _EOCD64.size - directory_size
    if start < 0:
        return 0
    fh.seek(start)
    count = consumed = 0
    while consumed < directory_size and count <= stop_after:
        head = fh.read(_CENTRAL_ENTRY_SIZE)
        if len(head) < _CENTRAL_ENTRY_SIZE or not head.startswith(b"PK\x01\x02"):
            break
        name_len, extra_len, comment_len = struct.unpack_from("<3H", head, 28)
        variable = name_len + extra_len + comment_len
        fh.seek(variable, os.SEEK_CUR)
        consumed += _CENTRAL_ENTRY_SIZE + variable
        count += 1
    return count


def _inspect_zip(archive: zipfile.ZipFile, limits: Limits) -> Container:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        _refuse_members(limits)
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_uncompressed_bytes:
        _refuse(
            "F003",
            f"The workbook would take up {_size(declared)} once opened, over the "
            f"{_size(limits.max_uncompressed_bytes)} limit. {_MSG_SHRINK}",
        )
    if any(info.flag_bits & _ZIP_ENCRYPTED_FLAGS for info in infos):
        _refuse("F001", _MSG_PASSWORD)
    # calamine finds a part whatever its case and with "\\" for "/": two members that it
    # would take for one leave it unclear which one is read, so neither is.
    members: dict[str, str] = {}
    for info in infos:
        key = part_key(info.filename)
        if key in members:
            _refuse("F001", _MSG_DUPLICATE_PART)
        members[key] = info.filename
    kind, package = _kind(archive, infos, members)
    sheets = package.parts
    hinted, far, tables = _stream_members(archive, infos, kind, limits, sheets)
    if kind == "xlsx":
        _check_extents(archive, package, far, limits)
        cells = _xlsx_unreadable_cells(archive, package, hinted)
    else:
        _check_tables(tables, limits)
        content = members["content.xml"]
        cells = _ods_unreadable_cells(archive, content) if content in hinted else {}
    return Container(kind, [], cells)


def _kind(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], members: dict[str, str]
) -> tuple[Literal["xlsx", "ods"], Package]:
    """What the zip holds, from its parts (never from a word in a content type, which
    SheetJS, for one, declares for parts it never writes)."""

    def parse(name: str, start: Callable[[str, dict[str, str]], None]) -> None:
        _parse_member(archive, name, start)

    if "[content_types].xml" in members or "_rels/.rels" in members:
        # The package's parts are parsed to find its sheets before the pass that inflates
        # every part: look at each part's start first, so that no parser ever sees a DTD.
        for info in infos:
            _check_prolog(archive, info)
        package = read_package(members, parse)
        if package.macros:
            _refuse("F002", _MSG_MACRO)
        if not package.workbooks:
            if package.binary or any(key.endswith("/workbook.bin") for key in members):
                _refuse("F002", _MSG_BINARY)
            _refuse("F001", _MSG_NO_WORKBOOK_PART)
        return "xlsx", package
    if "mimetype" in members:
        with archive.open(members["mimetype"]) as member:
            mimetype = member.read(len(_ODS_MIMETYPE) + 64).strip()
        if mimetype == _ODS_MIMETYPE:
            manifest = members.get("meta-inf/manifest.xml")
            if manifest is not None and _member_contains(archive, manifest, b"encryption-data"):
                _refuse("F001", _MSG_PASSWORD)
            # LibreOffice keeps Basic macros in Basic/ (their dialogs in Dialogs/) and other
            # scripts in Scripts/; its Basic parts carry a DTD, so look before the DTD check.
            if any(key.startswith(("basic/", "dialogs/", "scripts/")) for key in members):
                _refuse("F002", _MSG_ODS_MACRO)
            if "content.xml" not in members:
                _refuse("F001", _MSG_CORRUPT)
            return "ods", Package()
    _refuse("F001", _MSG_NOT_SPREADSHEET)


def _member_contains(
    archive: zipfile.ZipFile, name: str, needle: bytes, *, fold_case: bool = False
) -> bool:
    hints = _Hints((needle,))
    with archive.open(name) as member:
        while chunk := member.read(_CHUNK):
            if hints.feed(chunk.lower() if fold_case else chunk):
                return True
    return False


class _Hints:
    """Whether any of a few short byte strings occurs in a stream fed chunk by chunk."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        self.needles = tuple(needles)
        self.keep = max(len(needle) for needle in self.needles) - 1
        self.tail = b""
        self.hit = False

    def feed(self, chunk: bytes) -> bool:
        if self.hit:
            return True
        # A needle split across two chunks shows up in the seam: the end of the last
        # chunk joined to the start of this one.
        seam = self.tail + chunk[: self.keep]
        self.hit = any(needle in chunk or needle in seam for needle in self.needles)
        if len(chunk) >= self.keep:
            self.tail = chunk[len(chunk) - self.keep :]
        else:
            joined = self.tail + chunk
            self.tail = joined[max(0, len(joined) - self.keep) :]
        return self.hit


class _SheetHints:
    """Whether a worksheet part may hold a formula or an error cell; a false hint only
    costs a precise re-read, a missed one a wrong answer, so hints err on the wide side."""

    def __init__(self) -> None:
        self.tail = b""
        self.hit = False

    def feed(self, chunk: bytes) -> bool:
        if self.hit:
            return True
        # Searching for one byte is a memchr, ten times faster than a two-byte search,
        # and a sheet of plain values has neither "f" nor "#" nor "'": check those first.
        # Formulas are <f>, or <x:f> from writers that prefix SpreadsheetML; error cells
        # are t="e", and their codes start with "#" (<v>#DIV/0!</v>).
        seam = self.tail + chunk[:2]
        self.hit = (
            b"#" in chunk
            or (b"f" in chunk and (b"<f" in chunk or b":f" in chunk))
            or b'"e"' in chunk
            or (b"'" in chunk and b"'e'" in chunk)
            or any(needle in seam for needle in (b"<f", b":f", b'"e"', b"'e'"))
        )
        self.tail = (self.tail + chunk)[-2:] if len(chunk) < 2 else chunk[-2:]
        return self.hit


class _Prolog:
    """Watches the start of one zip member for a DTD before its root element.

    In a part named .xml or .rels (``strict``) the watch lasts until the root element,
    whatever comes before it. Any other member (an image, say) counts as XML only if it
    starts like XML, so binary data is never mistaken for an endless prolog.
    """

    def __init__(self, *, strict: bool) -> None:
        self.items = _PROLOG_ANYTHING if strict else _PROLOG_ITEMS
        self.buffer = bytearray()
        self.decoder: codecs.IncrementalDecoder | None = None
        self.started = False
        self.done = False
        self.utf16 = False
        #: False once the member is known not to be XML (an image, say)
        self.xml = True
        self.scan_at = 0

    def feed(self, chunk: bytes) -> None:
        if not self.started:
            self.started = True
            self._detect_encoding(chunk[:2])
        if self.decoder is not None:
            chunk = self.decoder.decode(chunk).encode("utf-8")
        self.buffer += chunk[: _PROLOG_LIMIT + 16 - len(self.buffer)]
        # Each scan starts over, so scan only once the buffer has doubled: short reads
        # then cost O(n log n), not O(n^2). A 1 MiB read is normally scanned just once.
        if len(self.buffer) >= self.scan_at or len(self.buffer) > _PROLOG_LIMIT:
            self.scan_at = 2 * len(self.buffer)
            self._scan(final=False)

    def finish(self) -> None:
        if not self.done:
            self._scan(final=True)

    def _detect_encoding(self, head: bytes) -> None:
        # Spreadsheet programs write UTF-8, but XML may be UTF-16, in which a DTD would
        # not show up in a byte search: read such a prolog as text instead.
        if head in (b"\xff\xfe", b"\xfe\xff"):
            codec = "utf-16"
        elif len(head) == 2 and head[1] == 0 and head[0] != 0:
            codec = "utf-16-le"
        elif len(head) == 2 and head[0] == 0 and head[1] != 0:
            codec = "utf-16-be"
        else:
            return
        self.utf16 = True
        self.decoder = codecs.getincrementaldecoder(codec)(errors="replace")

    def _scan(self, *, final: bool) -> None:
        buf = bytes(self.buffer)
        start = len(codecs.BOM_UTF8) if buf.startswith(codecs.BOM_UTF8) else 0
        match = self.items.match(buf, start)
        end = match.end() if match else start
        rest = buf[end : end + 4]
        if not rest or rest in (b"<", b"<!", b"<!-") or rest.startswith((b"<?", b"<!--")):
            # The prolog goes on past what has been read: an unfinished comment or
            # processing instruction, or just the end of the data so far.
            if len(self.buffer) > _PROLOG_LIMIT:
                _refuse("F001", _MSG_LONG_PROLOG)
            if final:
                self.done = True
            return
        self.done = True
        if rest.startswith(b"<!"):
            _refuse("F001", _MSG_DTD)
        if rest[0] != ord("<") or not _is_name_start(rest[1:2]):
            self.xml = False
        self.buffer = bytearray()


def _check_prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    prolog = _Prolog(strict=info.filename.lower().endswith((".xml", ".rels")))
    try:
        with archive.open(info) as member:
            while not prolog.done and (chunk := member.read(_PROLOG_READ)):
                prolog.feed(chunk)
            prolog.finish()
    except _Refusal:
        raise
    except Exception:
        _refuse("F001", _MSG_CORRUPT)


def _is_name_start(char: bytes) -> bool:
    return bool(char) and (char.isalpha() or char in b"_:" or char[0] >= 0x80)


def _stream_members(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    kind: Literal["xlsx", "ods"],
    limits: Limits,
    sheets: set[str],
) -> tuple[set[str], set[str], list[TableCells]]:
    """Inflate every member once, refusing on a lie, a bomb or a DTD.

    Returns the names of members hinted to hold formulas or errors, for a precise re-read;
    the worksheet parts among ``sheets`` that may reach far enough to need measuring; and, for
    an .ods, the cells each table of content.xml makes calamine build.
    """
    total = 0
    hinted: set[str] = set()
    far: set[str] = set()
    tables: list[TableCells] = []
    for info in infos:
        prolog = _Prolog(strict=info.filename.lower().endswith((".xml", ".rels")))
        hints: _Hints | _SheetHints | None = None
        reach = SheetReach(limits.max_sheet_cells) if info.filename in sheets else None
        ods_cells = None
        if kind == "xlsx":
            hints = _SheetHints()
        elif part_key(info.filename) == "content.xml":
            hints = _Hints(_ODS_HINTS)
            ods_cells = OdsCells()
        try:
            with archive.open(info) as member:
                # zipfile stops at the declared size and then checks the CRC, so a
                # member that lies about its size fails here without growing memory.
                while chunk := member.read(_CHUNK):
                    total += len(chunk)
                    if total > limits.max_uncompressed_bytes:
                        _refuse(
                            "F003",
                            "The workbook would take up more than "
                            f"{_size(limits.max_uncompressed_bytes)} once opened. {_MSG_SHRINK}",
                        )
                    if not prolog.done:
                        prolog.feed(chunk)
                    if hints is not None and prolog.xml and hints.feed(chunk):
                        hints = None
                        hinted.add(info.filename)
                    if reach is not None:
                        reach.feed(chunk)
                    if ods_cells is not None:
                        ods_cells.feed(chunk)
                prolog.finish()
            if reach is not None and reach.found():
                far.add(info.filename)
            if ods_cells is not None:
                tables = ods_cells.finish()
        except _Refusal:
            raise
        except Exception:
            _refuse("F001", _MSG_CORRUPT)
        if prolog.utf16:
            hinted.add(info.filename)
    return hinted, far, tables


def _check_extents(
    archive: zipfile.ZipFile, package: Package, far: set[str], limits: Limits
) -> None:
    def parse(
        name: str,
        start: Callable[[str, dict[str, str]], None],
        end: Callable[[str], None],
    ) -> None:
        _parse_member(archive, name, start, end)

    sheet_of = {part: sheet for sheet, part in reversed(package.sheets)}
    for part in sorted(far):
        try:
            with archive.open(part) as member:
                extent = quick_extent(member.read, _CHUNK)
        except Exception:
            extent = None  # damage: let the full parse say so
        rows, columns = extent if extent is not None else sheet_extent(parse, part)
        over_grid = rows > GRID_ROWS or columns > GRID_COLUMNS
        if rows * columns > limits.max_sheet_cells or over_grid:
            name = sheet_of.get(part, part)
            _refuse(
                "F003",
                f'Sheet "{name}" spans {rows:,} rows by {columns:,} columns, '
                f"{rows * columns:,} cells: over the limit of {limits.max_sheet_cells:,}. "
                "Delete the stray cells far from the table (or the rows and columns around "
                "them) and save the workbook again.",
            )


def _check_tables(tables: list[TableCells], limits: Limits) -> None:
    """calamine builds every sheet of an .ods as it opens the file, whichever are read, so
    their cells together are held to the limit one .xlsx sheet is held to."""
    total = sum(table.cells for table in tables)
    if total <= limits.max_sheet_cells:
        return
    largest = max(tables, key=lambda table: table.cells)
    _refuse(
        "F003",
        f"The spreadsheet's sheets span {total:,} cells together, counting repeated rows and "
        f"columns, over the limit of {limits.max_sheet_cells:,}; the largest, "
        f'"{largest.name}", spans {largest.rows:,} rows by {largest.columns:,} columns. Delete '
        "the rows and columns far from the table (a value or formula filled down or across "
        "far beyond it) and save the spreadsheet again.",
    )


def _parse_member(
    archive: zipfile.ZipFile,
    name: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
    text: Callable[[str], None] | None = None,
) -> None:
    """Stream one member through expat; the prolog check has already refused any DTD."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    # A second line of defence: expat would otherwise expand entities a DTD declares.
    def refuse_dtd(*_: object) -> None:
        _refuse("F001", _MSG_DTD)

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = start
    # Handlers on every kind of event keep CurrentByteIndex moving, see below.
    parser.EndElementHandler = end or _ignore
    parser.CharacterDataHandler = text or _ignore
    fed = 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(_CHUNK):
                parser.Parse(chunk, False)
                fed += len(chunk)
                # expat holds a whole tag, attribute or comment in memory until it ends;
                # no event for this long means one token larger than any spreadsheet
                # program writes, growing memory for as long as it goes on.
                if fed - max(parser.CurrentByteIndex, 0) > _MAX_TOKEN:
                    _refuse("F001", _MSG_CORRUPT)
        parser.Parse(b"", True)
    except _Refusal:
        raise
    except Exception:
        _refuse("F001", _MSG_CORRUPT)


def _ignore(*_: object) -> None:
    pass


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xlsx_unreadable_cells(
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
                _parse_member(archive, part, reader.start, reader.end, reader.text)
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
_MAX_CARRY = 8 * _MIB
_MAX_TOKEN = 16 * _MIB
# A cell start tag (r, s, t, cm, vm, ph) is far shorter than this.
_CELL_LOOK_BACK = 4096
# Enough of a member's start to hold its prolog and root start tag.
_HEAD_BYTES = 64 * 1024


def _scan_sheet_quickly(archive: zipfile.ZipFile, part: str) -> _Found:
    """Find unreadable cells with regular expressions over the raw XML, at C speed.

    A sheet of 700,000 formula cells takes tens of milliseconds this way against seconds
    through expat callbacks; expat remains the fallback for anything unusual.
    """
    found = _Found()
    with archive.open(part) as member:
        chunk = _read_head(member)
        bom = len(codecs.BOM_UTF8) if chunk.startswith(codecs.BOM_UTF8) else 0
        prolog = _PROLOG_ITEMS.match(chunk, bom)
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
                    chunk = member.read(_CHUNK)
                    continue
                if buf.startswith(b"</c>", cut):
                    cut += len(b"</c>")
            else:
                cut = len(buf)
            _scan_cells(buf, cut, found)
            if not chunk:
                return found
            carry = buf[cut:]
            chunk = member.read(_CHUNK)


def _read_head(member: IO[bytes]) -> bytes:
    """The first read of a member, made long enough to hold its root start tag."""
    parts = [member.read(_CHUNK)]
    size = len(parts[0])
    while size < _HEAD_BYTES and (more := member.read(_CHUNK)):
        parts.append(more)
        size += len(more)
    return b"".join(parts)


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
        chunk = _read_head(member)
        bom = len(codecs.BOM_UTF8) if chunk.startswith(codecs.BOM_UTF8) else 0
        prolog = _PROLOG_ITEMS.match(chunk, bom)
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
            chunk = member.read(_CHUNK)
    return _ods_suspect(carry, len(carry))


def _ods_suspect(buf: bytes, end: int) -> bool:
    return _ODS_VALUELESS_FORMULA.search(buf, 0, end) is not None or any(
        buf.find(needle, 0, end) >= 0 for needle in _ODS_ERROR
    )


def _ods_unreadable_cells(
    archive: zipfile.ZipFile, content: str
) -> dict[str, list[tuple[str, str]]]:
    if not _ods_may_have_unreadable_cells(archive, content):
        return {}
    reader = _OdsCells()
    _parse_member(archive, content, reader.start, reader.end, reader.text)
    return {sheet: found.ordered() for sheet, found in reader.found.items() if found.cells}
