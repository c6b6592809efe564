"""Read a workbook's sheets as text grids with their cell positions; the only fastexcel user.

Every cell is read as text (calamine's string conversion) and converted by
returns_kit itself, so that "unknown" in a number column is a finding at its
cell rather than a silent null, as polars' own Excel path would make it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding

#: Excel's own row limit; a sheet longer than this (possible in .ods) is refused.
MAX_ROWS = 1_048_576


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
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


class WorkbookReader:
    """A workbook opened for reading; sheets are read only when asked for."""

    def __init__(self, path: Path) -> None:
        import fastexcel

        self._reader = fastexcel.read_excel(str(path))

    @property
    def sheet_names(self) -> list[str]:
        return list(self._reader.sheet_names)

    def read(self, name: str) -> RawSheet | Finding:
        """The sheet's cells, or an F001/F003 finding when calamine cannot read it."""
        try:
            sheet = self._reader.load_sheet(
                name, header_row=None, skip_rows=0, dtypes="string", schema_sample_rows=1
            )
            columns = [info.absolute_index for info in sheet.available_columns()]
            frame = sheet.to_polars()
        except Exception:  # calamine's errors for a damaged sheet are many and unstable
            return finding(
                "F001",
                f'Sheet "{name}" cannot be read: the workbook is damaged. Open it in a '
                "spreadsheet program and save it again as .xlsx.",
                sheet=name,
            )
        if frame.height > MAX_ROWS:
            return finding(
                "F003",
                f'Sheet "{name}" has {frame.height:,} rows, more than the limit of {MAX_ROWS:,}.',
                sheet=name,
            )
        frame.columns = [str(index) for index in columns]
        return RawSheet(name, frame)
