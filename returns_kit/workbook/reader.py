"""Read a workbook's sheets as text grids with their cell positions; the only fastexcel user.

Every cell is read as text (calamine's string conversion) and converted by
returns_kit itself, so that "unknown" in a number column is a finding at its
cell rather than a silent null, as polars' own Excel path would make it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from returns_kit.config import Limits
from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding
from returns_kit.workbook.extent import column_letters

#: calamine's own cap on the cells it builds for a sheet (an .ods's, as it opens the file).
_CELL_CAP = re.compile(r"Cell limit exceeded \((\d+) cells requested, max (\d+)\)")

#: Name endings for which calamine picks the reader that fits each kind of workbook.
_ENDINGS = {"xlsx": (".xlsx", ".xlsm"), "ods": (".ods",)}


@dataclass(frozen=True)
class RawSheet:
    """One sheet's cells as text. Row ``i`` of ``frame`` is sheet row ``i + 1``."""

    name: str
    #: string columns named by absolute 0-based column index ("0" is column A)
    frame: pl.DataFrame

    @property
    def columns(self) -> list[int]:
        return [int(name) for name in self.frame.columns]


def column_letter(index: int) -> str:
    """The A1 letters of a 0-based column index.

    >>> column_letter(0), column_letter(25), column_letter(26), column_letter(16383)
    ('A', 'Z', 'AA', 'XFD')
    """
    return column_letters(index + 1)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Silence what calamine's native code prints on a damaged sheet (such as "'worksheet'
    not a valid worksheet"): the damage is reported as a finding, and a stray line on the
    user's terminal would only confuse."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class WorkbookReader:
    """A workbook opened for reading; sheets are read only when asked for."""

    def __init__(self, reader: object, limits: Limits | None = None) -> None:
        self._reader: Any = reader
        #: a sheet longer than this (possible in .ods) is refused
        self.max_rows = (limits or Limits()).max_rows

    @classmethod
    def open(
        cls, path: Path, kind: Literal["xlsx", "ods"] | None = None, limits: Limits | None = None
    ) -> WorkbookReader | Finding:
        """The workbook, or an F001 finding when calamine cannot open it (a damaged
        workbook.xml or content.xml passes the container check but not the parser).

        ``kind`` is what the file holds, as the container check found. calamine picks its
        reader by the name's ending, so an .xlsx named .ods (or the reverse) would read as
        damaged; such a file is handed over as bytes, which calamine reads by content.
        ``limits.max_rows`` is the most rows a sheet may have once read.
        """
        import fastexcel

        source: str | bytes = str(path)
        if kind is not None and Path(path).suffix.lower() not in _ENDINGS[kind]:
            try:
                source = Path(path).read_bytes()
            except OSError:
                pass  # left to calamine, which reports it as any other unreadable file
        try:
            with _native_stderr_silenced():
                reader = fastexcel.read_excel(source)
                reader.sheet_names  # noqa: B018  (read now, so damage shows here, not later)
        except Exception as error:  # calamine's errors for a damaged workbook are many
            return _over_cap(error) or finding("F001", variant="damaged")
        return cls(reader, limits)

    @property
    def sheet_names(self) -> list[str]:
        return list(self._reader.sheet_names)

    def read(self, name: str) -> RawSheet | Finding:
        """The sheet's cells, or an F001/F003 finding when calamine cannot read it."""
        try:
            with _native_stderr_silenced():
                sheet = self._reader.load_sheet(
                    name, header_row=None, skip_rows=0, dtypes="string", schema_sample_rows=1
                )
                columns = [info.absolute_index for info in sheet.available_columns()]
                frame = sheet.to_polars()
        except Exception as error:  # calamine's errors for a damaged sheet are many
            return _over_cap(error, name) or finding(
                "F001", {"sheet_name": name}, variant="sheet_damaged", sheet=name
            )
        if frame.height > self.max_rows:
            return finding(
                "F003",
                {"sheet_name": name, "row_count": frame.height, "max_rows": self.max_rows},
                variant="sheet_rows",
                sheet=name,
            )
        frame.columns = [str(index) for index in columns]
        return RawSheet(name, frame)


def _over_cap(error: Exception, sheet: str | None = None) -> Finding | None:
    """An F003 when calamine refused to build a sheet for its size (its own cap, which the
    checks before it should make unreachable), rather than call the file damaged."""
    match = _CELL_CAP.search(str(error))
    if match is None:
        return None
    requested, cap = (int(group) for group in match.groups())
    over = {"cell_count": requested, "reader_max_cells": cap}
    if sheet is None:
        return finding("F003", over, variant="reader_cap")
    return finding("F003", {"sheet_name": sheet, **over}, variant="sheet_reader_cap", sheet=sheet)
