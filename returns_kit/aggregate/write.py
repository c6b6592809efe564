"""Write an aggregate's tables: CSV and Parquet each, and one formatted tables.xlsx.

Outputs are written to a staging folder beside the destination and swapped in whole,
so the folder holds either the complete previous outputs or the complete new ones.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import polars as pl

#: Marks a folder as ours, so that --out never replaces a folder of someone else's files.
MARKER = "manifest.csv"
#: Text a spreadsheet would take for a formula (CWE-1236); such text gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class OutputError(Exception):
    """The output folder cannot be used."""


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as formulas, made inert with a leading '."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    risky = "^[" + "".join("\\" + c if c in "-" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(risky))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def check_destination(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise OutputError(
            f"{out} exists and is not an earlier aggregate's output folder; choose another --out."
        )


def write_outputs(tables: dict[str, pl.DataFrame], out: Path) -> None:
    check_destination(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    try:
        for name, frame in tables.items():
            frame.write_parquet(staging / f"{name}.parquet")
            neutralise(frame).write_csv(staging / f"{name}.csv")
        write_workbook(tables, staging / "tables.xlsx")
        _swap(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.resolve().parent))
    os.replace(out, retired / "outputs")
    os.replace(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


def write_workbook(tables: dict[str, pl.DataFrame], path: Path) -> None:
    """One sheet per table: bold frozen headings, rates as percentages, text never a formula."""
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    book.set_properties({"created": None})
    bold = book.add_format({"bold": True, "bottom": 1})
    percent = book.add_format({"num_format": "0.0%"})
    for name, frame in tables.items():
        sheet = book.add_worksheet(name)
        sheet.freeze_panes(1, 0)
        for column, heading in enumerate(frame.columns):
            is_rate = heading.endswith(("_rate", "_share", "_before", "_after")) or heading in (
                "choice_rate_change",
                "pb_rate_change",
            )
            sheet.set_column(
                column,
                column,
                max(10, min(40, len(heading) + 2)),
                percent if is_rate and frame.schema[heading] == pl.Float64 else None,
            )
            sheet.write_string(0, column, heading, bold)
        for row, values in enumerate(frame.iter_rows(), start=1):
            for column, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, column, value)
                elif isinstance(value, bool):
                    sheet.write_boolean(row, column, value)
                else:
                    sheet.write_number(row, column, value)
    book.close()
