"""Look inside a workbook file before any spreadsheet parser does (zipfile, zlib, expat and
regular expressions; never calamine).

This module holds the configuration (:class:`Limits`), the answer (:class:`Container`) and
the one pass that inflates every part of the zip once, feeding each scanner as it goes; the
scanners have a module each: ``safety`` (zip and OLE safety, the kind of file),
``extent_guard`` (sheets too big for calamine to allocate) and ``formulas`` (formulas
without values, and error cells). ``refusal`` holds the finding a scan raises, ``stream``
the safe reading of one part."""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from returns_kit.config import Limits
from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding
from returns_kit.workbook import stream
from returns_kit.workbook.extent import OdsCells, SheetReach, TableCells, far_reference, near_bounds
from returns_kit.workbook.extent_guard import check_extents, check_tables
from returns_kit.workbook.formulas import (
    ODS_HINTS,
    SheetHints,
    ods_unreadable_cells,
    xlsx_unreadable_cells,
)
from returns_kit.workbook.package import part_key
from returns_kit.workbook.refusal import Refusal, refuse
from returns_kit.workbook.safety import (
    OLE_MAGIC,
    ZIP_MAGIC,
    central_directory_count,
    check_file_size,
    check_members,
    is_biff2_to_4,
    refuse_compound_file,
    refuse_members,
    workbook_kind,
)
from returns_kit.workbook.stream import Hints, Prolog

__all__ = [
    "Container",
    "Limits",
    "far_reference",
    "inspect_container",
    "near_bounds",
]


@dataclass
class Container:
    """What the look inside found: the kind of workbook, or why it was refused."""

    kind: Literal["xlsx", "ods"] | None
    findings: list[Finding]
    #: sheet name as written -> [(A1 address, "formula-without-value" or "error:#DIV/0!")],
    #: by row then column; at most 1,000 cells a sheet. An error text that is not a
    #: spreadsheet error code is given as "error:unknown", so cell contents never leak.
    unreadable_cells: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def inspect_container(path: Path, limits: Limits | None = None) -> Container:
    """Decide whether ``path`` is a safe workbook of an accepted kind; never raises.

    A refused file has ``kind`` None and exactly one F001, F002 or F003 finding.
    """
    limits = limits or Limits()
    try:
        return _inspect(Path(path), limits)
    except Refusal as refusal:
        return Container(None, [refusal.finding], {})
    except Exception:
        # Whatever slipped past the specific checks, the file could not be read as a
        # workbook: say so rather than crash the whole run.
        return Container(None, [finding("F001", variant="corrupt")], {})


def _inspect(path: Path, limits: Limits) -> Container:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        refuse("F001", variant="unreadable")
    # Checked before opening: opening a FIFO or device could block or never end.
    if not stat.S_ISREG(info.st_mode):
        refuse("F001", variant="unreadable")
    check_file_size(info.st_size, limits.max_file_bytes)
    try:
        fh = open(path, "rb")
    except OSError:
        refuse("F001", variant="unreadable")
    with fh:
        # The file may have changed since stat: trust what is actually open.
        size = os.fstat(fh.fileno()).st_size
        check_file_size(size, limits.max_file_bytes)
        magic = fh.read(len(OLE_MAGIC))
        if magic == OLE_MAGIC:
            refuse_compound_file(fh)
        if is_biff2_to_4(magic):
            refuse("F002", variant="old_excel")
        if not magic.startswith(ZIP_MAGIC):
            refuse("F001", variant="not_workbook")
        # zipfile builds an object for every central directory entry before we could
        # count them, so a directory of a million tiny entries is refused first.
        if central_directory_count(fh, size, limits.max_members) > limits.max_members:
            refuse_members(limits.max_members)
        try:
            archive = zipfile.ZipFile(fh)
        except Exception:
            refuse("F001", variant="corrupt")
        with archive:
            return _inspect_zip(archive, limits)


def _inspect_zip(archive: zipfile.ZipFile, limits: Limits) -> Container:
    infos = archive.infolist()
    members = check_members(infos, limits.max_members, limits.max_uncompressed_bytes)
    found_kind, package = workbook_kind(archive, infos, members)
    sheets = package.parts
    hinted, far, tables = _stream_members(archive, infos, found_kind, limits, sheets)
    if found_kind == "xlsx":
        check_extents(archive, package, far, limits.max_sheet_cells)
        cells = xlsx_unreadable_cells(archive, package, hinted)
    else:
        check_tables(tables, limits.max_sheet_cells)
        content = members["content.xml"]
        cells = ods_unreadable_cells(archive, content) if content in hinted else {}
    return Container(found_kind, [], cells)


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
        prolog = Prolog(strict=info.filename.lower().endswith((".xml", ".rels")))
        hints: Hints | SheetHints | None = None
        reach = SheetReach(limits.max_sheet_cells) if info.filename in sheets else None
        ods_cells = None
        if kind == "xlsx":
            hints = SheetHints()
        elif part_key(info.filename) == "content.xml":
            hints = Hints(ODS_HINTS)
            ods_cells = OdsCells()
        try:
            with archive.open(info) as member:
                # zipfile stops at the declared size and then checks the CRC, so a
                # member that lies about its size fails here without growing memory.
                while chunk := member.read(stream.CHUNK):
                    total += len(chunk)
                    if total > limits.max_uncompressed_bytes:
                        refuse(
                            "F003",
                            {"max_uncompressed_bytes": limits.max_uncompressed_bytes},
                            variant="inflated_size",
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
            # Hints look for some strings in batches of reads: the last batch is searched now.
            if hints is not None and hints.finish():
                hinted.add(info.filename)
            if reach is not None and reach.found():
                far.add(info.filename)
            if ods_cells is not None:
                tables = ods_cells.finish()
        except Refusal:
            raise
        except Exception:
            refuse("F001", variant="corrupt")
        if prolog.utf16:
            hinted.add(info.filename)
    return hinted, far, tables
