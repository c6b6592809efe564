"""Write a synthetic return as .xlsx (openpyxl or xlsxwriter) or .ods."""

from __future__ import annotations

import datetime
import re
import zipfile
from pathlib import Path
from typing import Any, Literal

from tools.synth.model import Cell, Formula, SyntheticReturn
from tools.synth.ods import write_ods
from tools.synth.zips import FixedTimeZipFile, rewrite_zip

__all__ = ["write_ods", "write_xlsx"]

#: Document created/modified time, constant so that the same return gives the same bytes.
FIXED_TIME = datetime.datetime(2000, 1, 1, 0, 0, 0)
DATE_FORMAT = "yyyy-mm-dd"
CREATOR = "returns_kit.synth"


def write_xlsx(
    ret: SyntheticReturn,
    path: Path,
    *,
    engine: Literal["openpyxl", "xlsxwriter"] = "openpyxl",
) -> None:
    """Write ``ret`` to ``path`` as an Office Open XML workbook."""
    if engine == "openpyxl":
        _write_openpyxl(ret, Path(path))
    elif engine == "xlsxwriter":
        _write_xlsxwriter(ret, Path(path))
    else:
        raise ValueError(f"unknown engine {engine!r}")


def _write_openpyxl(ret: SyntheticReturn, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    # Write-only mode streams rows to disk: 60,000 Clients rows in seconds, not minutes.
    wb = Workbook(write_only=True)
    wb.properties.creator = CREATOR
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    for name, grid in ret.sheets.items():
        ws = wb.create_sheet(name)
        for row in grid:
            ws.append([_openpyxl_value(ws, v) for v in row])
    # Not wb.save(): it stamps "modified" with the clock; the zip's member times are fixed too.
    with FixedTimeZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()


def _openpyxl_value(ws: Any, value: Cell) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, Formula):
        return value.text  # a str starting "=" becomes <f> with no cached <v>
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"  # text that only looks like a formula stays text
        return cell
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


_CACHED_BLANK = re.compile(rb'(<c [^>]*?)(?: t="str")?(><f>[^<]*</f>)<v></v>')


def _write_xlsxwriter(ret: SyntheticReturn, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,  # rows are written in order; keeps memory flat
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"author": CREATOR, "created": FIXED_TIME})
    date_fmt = wb.add_format({"num_format": DATE_FORMAT})
    has_formula = False
    for name, grid in ret.sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Formula):
                    # xlsxwriter always caches a value; "" is removed below.
                    ws.write_formula(r, c, value.text, None, "")
                    has_formula = True
                elif isinstance(value, str):
                    ws.write_string(r, c, value)
                elif isinstance(value, datetime.date):
                    ws.write_datetime(r, c, value, date_fmt)
                else:
                    ws.write_number(r, c, value)
    wb.close()
    if has_formula:
        rewrite_zip(path, _drop_cached_blank)


def _drop_cached_blank(name: str, data: bytes) -> bytes:
    # A formula that was never calculated has no <v> at all, as Excel itself writes it.
    if name.startswith("xl/worksheets/"):
        return _CACHED_BLANK.sub(rb"\1\2", data)
    return data
