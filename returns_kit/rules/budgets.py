"""Rules on the Budgets sheet: every age band and support reason once, and rows that add up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

from returns_kit.findings import Finding
from returns_kit.measures import BUDGET_TYPES
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ROW, ReturnContext, Sheet
from returns_kit.rules.registry import implements
from returns_kit.schema import sheet_specs

KEY = ("age_band", "support_reason")


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
        scope = scope_of(row[key[0]], row[key[1]])
        yield finding(
            rule,
            f"This row repeats {scope}, already given in row {row['_first']}; keep one row for it.",
            sheet=sheet.name,
            cell=sheet.cell(key[0], row[ROW]),
            row=row[ROW],
            scope=scope,
        )


@implements("B001")
def budgets_duplicate_row(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Budgets")
    if sheet:
        yield from duplicate_rows(sheet, KEY, "B001")


@implements("B002")
def budgets_missing_row(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Budgets")
    if sheet is None or not sheet.has(*KEY):
        return
    spec = sheet_specs()["Budgets"]
    present = set(sheet.complete(*KEY).select(KEY).iter_rows())
    # A row whose age band or support reason cannot be read (a finding at its cell) may be
    # any row it could match: that row is not reported missing as well.
    unread = list(
        sheet.typed.filter(pl.any_horizontal(pl.col(name).is_null() for name in KEY))
        .select(KEY)
        .iter_rows()
    )
    for age in spec.field("age_band").code_list:
        for reason in spec.field("support_reason").code_list:
            if (age, reason) not in present and not could_be(unread, (age, reason)):
                yield finding(
                    "B002",
                    f"No row for {age}/{reason}; add it, with zeros if nobody is in it.",
                    sheet="Budgets",
                    scope=f"{age}/{reason}",
                )


@implements("B003")
def budgets_sum(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Budgets")
    if sheet is None or not sheet.has("people_total", *BUDGET_TYPES):
        return
    rows = sheet.complete("people_total", *BUDGET_TYPES).with_columns(
        pl.sum_horizontal(BUDGET_TYPES).alias("_sum")
    )
    for row in rows.filter(pl.col("_sum") != pl.col("people_total")).iter_rows(named=True):
        scope = scope_of(row.get("age_band"), row.get("support_reason"))
        yield finding(
            "B003",
            f"people_total is {row['people_total']:,} but the six budget types add up to "
            f"{row['_sum']:,}.",
            **sheet.at("people_total", row[ROW]),
            scope=scope,
            evidence={"people_total": row["people_total"], "sum_of_budget_types": row["_sum"]},
        )
