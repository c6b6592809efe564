"""What the sheet rules share about rows: each sheet's key, a row's scope, and the rows a
rule must pass over (repeated keys, cells that could not be read). It sits below the rule
modules so that none of them imports another."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ROW, Sheet
from returns_kit.schema import sheet_specs


def _key(sheet: str) -> tuple[str, str]:
    """The two columns that name a row of ``sheet``: its schema's ``x-key``."""
    first, second = sheet_specs()[sheet].key
    return first, second


#: The columns that name a Budgets row, and a Services row.
BUDGET_KEY = _key("Budgets")
SERVICE_KEY = _key("Services")


def scope_of(first: str | None, second: str | None) -> str | None:
    return f"{first}/{second}" if first is not None and second is not None else None


def repeated_keys(sheet: Sheet, key: tuple[str, str]) -> set[tuple[Any, ...]]:
    """Keys given on more than one row (B001 and S001 report each repeat): rules comparing
    a row with another sheet pass over them, so that one mistake gives one finding."""
    if not sheet.has(*key):
        return set()
    counts = sheet.complete(*key).group_by(key).len()
    return {tuple(row[:2]) for row in counts.filter(pl.col("len") > 1).iter_rows()}


def could_be(unread: Iterable[tuple[Any, ...]], values: tuple[Any, ...]) -> bool:
    """Whether one of ``unread`` (values with None where a cell could not be read) may stand
    for ``values`` (in which None stands for any value)."""
    return any(
        all(
            part is None or value is None or part == value
            for part, value in zip(item, values, strict=True)
        )
        for item in unread
    )


def duplicate_rows(sheet: Sheet, key: tuple[str, str], rule: str) -> Iterator[Finding]:
    """Rows whose key repeats an earlier row's (B001 and S001)."""
    if not sheet.has(*key):
        return
    rows = sheet.complete(*key).with_columns(
        pl.col(ROW).first().over(key).alias("_first"),
        (pl.int_range(pl.len()).over(key) > 0).alias("_repeat"),
    )
    for row in rows.filter(pl.col("_repeat")).iter_rows(named=True):
        yield finding(
            rule,
            {key[0]: row[key[0]], key[1]: row[key[1]], "first_row": row["_first"]},
            sheet=sheet.name,
            cell=sheet.cell(key[0], row[ROW]),
            row=row[ROW],
            scope=scope_of(row[key[0]], row[key[1]]),
        )
