"""The sheet-extent guard: calamine allocates the rectangle from a sheet's first cell to its
last (and, for an .ods, every sheet at once) before it reads a value, and aborts the process
when it cannot; a sheet that would be too big is refused before calamine opens the file."""

from __future__ import annotations

import zipfile
from collections.abc import Callable

from returns_kit.workbook import stream
from returns_kit.workbook.extent import (
    GRID_COLUMNS,
    GRID_ROWS,
    TableCells,
    quick_extent,
    sheet_extent,
)
from returns_kit.workbook.package import Package
from returns_kit.workbook.refusal import refuse
from returns_kit.workbook.stream import parse_member


def check_extents(
    archive: zipfile.ZipFile, package: Package, far: set[str], max_sheet_cells: int
) -> None:
    def parse(
        name: str,
        start: Callable[[str, dict[str, str]], None],
        end: Callable[[str], None],
    ) -> None:
        parse_member(archive, name, start, end)

    sheet_of = {part: sheet for sheet, part in reversed(package.sheets)}
    for part in sorted(far):
        try:
            with archive.open(part) as member:
                extent = quick_extent(member.read, stream.CHUNK)
        except Exception:
            extent = None  # damage: let the full parse say so
        rows, columns = extent if extent is not None else sheet_extent(parse, part)
        over_grid = rows > GRID_ROWS or columns > GRID_COLUMNS
        if rows * columns > max_sheet_cells or over_grid:
            refuse(
                "F003",
                {
                    "sheet_name": sheet_of.get(part, part),
                    "row_count": rows,
                    "column_count": columns,
                    "cell_count": rows * columns,
                    "max_sheet_cells": max_sheet_cells,
                },
                variant="sheet_extent",
            )


def check_tables(tables: list[TableCells], max_sheet_cells: int) -> None:
    """calamine builds every sheet of an .ods as it opens the file, whichever are read, so
    their cells together are held to the limit one .xlsx sheet is held to."""
    total = sum(table.cells for table in tables)
    if total <= max_sheet_cells:
        return
    largest = max(tables, key=lambda table: table.cells)
    refuse(
        "F003",
        {
            "cell_count": total,
            "max_sheet_cells": max_sheet_cells,
            "largest_sheet_name": largest.name,
            "largest_row_count": largest.rows,
            "largest_column_count": largest.columns,
        },
        variant="ods_extent",
    )
