"""Zip and OLE safety: what kind of file this is, and whether it is safe to open. A file
too big, an Office compound file (an .xls, or an encrypted workbook), an Excel 2-4 file, a
zip with too many parts or with parts that lie about their size, an encrypted zip, two
parts of one name, macros, or a zip that is no spreadsheet: each is refused here."""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable
from typing import BinaryIO, Literal, NoReturn

from returns_kit.workbook import stream
from returns_kit.workbook.encryption import opens_with_default_password
from returns_kit.workbook.package import Package, part_key, read_package
from returns_kit.workbook.refusal import refuse
from returns_kit.workbook.stream import Hints, check_prolog, member_contains, parse_member

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# Bit 0: traditional zip encryption; bit 6: strong encryption.
_ZIP_ENCRYPTED_FLAGS = 0x01 | 0x40

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_ENTRY_SIZE = 46


def check_file_size(size: int, max_file_bytes: int) -> None:
    if size == 0:
        refuse("F001", variant="empty")
    if size > max_file_bytes:
        refuse(
            "F003",
            {"file_bytes": size, "max_file_bytes": max_file_bytes},
            variant="file_size",
        )


def refuse_members(max_members: int) -> NoReturn:
    refuse("F003", {"max_members": max_members}, variant="parts")


def check_members(
    infos: list[zipfile.ZipInfo], max_members: int, max_uncompressed_bytes: int
) -> dict[str, str]:
    """The zip's members by the key calamine finds them by (:func:`part_key`), once they are
    few enough, small enough as declared, not encrypted and not two of one name."""
    if len(infos) > max_members:
        refuse_members(max_members)
    declared = sum(info.file_size for info in infos)
    if declared > max_uncompressed_bytes:
        refuse(
            "F003",
            {"declared_bytes": declared, "max_uncompressed_bytes": max_uncompressed_bytes},
            variant="declared_size",
        )
    if any(info.flag_bits & _ZIP_ENCRYPTED_FLAGS for info in infos):
        refuse("F001", variant="password")
    # calamine finds a part whatever its case and with "\\" for "/": two members that it
    # would take for one leave it unclear which one is read, so neither is.
    members: dict[str, str] = {}
    for info in infos:
        key = part_key(info.filename)
        if key in members:
            refuse("F001", variant="duplicate_part")
        members[key] = info.filename
    return members


#: The BOF record that starts an Excel 2, 3 or 4 file (which, unlike later ones, is not wrapped
#: in a compound file): record type, then its length.
_BIFF2_TO_4_BOF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00")

#: The BOF's document type: a worksheet, a chart, a macro sheet or a workbook.
_BIFF_DOCUMENT_TYPES = (0x0010, 0x0020, 0x0040, 0x0100)


def is_biff2_to_4(head: bytes) -> bool:
    if head[:4] not in _BIFF2_TO_4_BOF:
        return False
    # BIFF2's BOF holds (version, type); BIFF3 and 4's hold (version, type, build).
    return len(head) >= 8 and struct.unpack_from("<H", head, 6)[0] in _BIFF_DOCUMENT_TYPES


def refuse_compound_file(fh: BinaryIO) -> NoReturn:
    # Office wraps a password-protected .xlsx in the same compound-file container as a
    # legacy .xls; only the stream name EncryptedPackage tells them apart. The file is
    # within the size limit, so a chunked scan of all of it is affordable.
    fh.seek(0)
    hints = Hints(("EncryptedPackage".encode("utf-16-le"),))
    while chunk := fh.read(stream.CHUNK):
        if hints.feed(chunk):
            # Only trying Excel's default password tells its files from ones a person locked.
            fh.seek(0)
            if opens_with_default_password(fh.read()):
                refuse("F001", variant="default_password")
            refuse("F001", variant="password")
    refuse("F002", variant="legacy_xls")


def central_directory_count(fh: BinaryIO, size: int, stop_after: int) -> int:
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


def workbook_kind(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], members: dict[str, str]
) -> tuple[Literal["xlsx", "ods"], Package]:
    """What the zip holds, from its parts (never from a word in a content type, which
    SheetJS, for one, declares for parts it never writes)."""

    def parse(name: str, start: Callable[[str, dict[str, str]], None]) -> None:
        parse_member(archive, name, start)

    if "[content_types].xml" in members or "_rels/.rels" in members:
        # The package's parts are parsed to find its sheets before the pass that inflates
        # every part: look at each part's start first, so that no parser ever sees a DTD.
        for info in infos:
            check_prolog(archive, info)
        package = read_package(members, parse)
        if package.macros:
            refuse("F002", variant="macro")
        if not package.workbooks:
            if package.binary or any(key.endswith("/workbook.bin") for key in members):
                refuse("F002", variant="binary")
            refuse("F001", variant="no_workbook_part")
        return "xlsx", package
    if "mimetype" in members:
        with archive.open(members["mimetype"]) as member:
            mimetype = member.read(len(_ODS_MIMETYPE) + 64).strip()
        if mimetype == _ODS_MIMETYPE:
            manifest = members.get("meta-inf/manifest.xml")
            if manifest is not None and member_contains(archive, manifest, b"encryption-data"):
                refuse("F001", variant="password")
            # LibreOffice keeps Basic macros in Basic/ (their dialogs in Dialogs/) and other
            # scripts in Scripts/; its Basic parts carry a DTD, so look before the DTD check.
            if any(key.startswith(("basic/", "dialogs/", "scripts/")) for key in members):
                refuse("F002", variant="ods_macro")
            if "content.xml" not in members:
                refuse("F001", variant="corrupt")
            return "ods", Package()
    refuse("F001", variant="not_spreadsheet")
