"""Write an aggregate's tables: CSV and Parquet each, and one formatted tables.xlsx.

Outputs are written to a staging folder beside the destination and swapped in whole,
so the folder holds either the complete previous outputs or the complete new ones.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from returns_kit.aggregate.xlsx import write_tables

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


#: Writes one more output (the HTML report, GX Data Docs) into the staging folder it is given.
ExtraOutput = Callable[[Path], None]


def write_outputs(
    tables: dict[str, pl.DataFrame],
    out: Path,
    extras: Mapping[str, ExtraOutput] | None = None,
) -> None:
    """Write every table, then each extra, into staging; swap it in only when all succeeded."""
    check_destination(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    try:
        for name, frame in tables.items():
            frame.write_parquet(staging / f"{name}.parquet")
            neutralise(frame).write_csv(staging / f"{name}.csv")
        write_workbook(tables, staging / "tables.xlsx")
        for write_extra in (extras or {}).values():
            write_extra(staging)
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


def is_rate(column: str) -> bool:
    """Columns shown as percentages in tables.xlsx."""
    return column.endswith(
        ("_rate", "_share", "_before", "_after", "_min", "_median", "_max")
    ) or column in ("choice_rate_change", "pb_rate_change")


def write_workbook(tables: dict[str, pl.DataFrame], path: Path) -> None:
    """One sheet per table: bold frozen headings, rates as percentages, text never a formula."""
    write_tables(tables, path, is_rate)
