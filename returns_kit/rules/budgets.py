"""Rules on the Budgets sheet: every age band and support reason once, and rows that add up."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from returns_kit.findings import Finding
from returns_kit.measures import BUDGET_TYPES
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ROW, ReturnContext
from returns_kit.rules.rows import BUDGET_KEY as KEY
from returns_kit.rules.rows import could_be, duplicate_rows, scope_of
from returns_kit.schema import sheet_specs


def budgets_duplicate_row(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Budgets")
    if sheet:
        yield from duplicate_rows(sheet, KEY, "B001")


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
                    {"age_band": age, "support_reason": reason},
                    sheet="Budgets",
                    scope=f"{age}/{reason}",
                )


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
            {"people_total": row["people_total"], "types_sum": row["_sum"]},
            **sheet.at("people_total", row[ROW]),
            scope=scope,
            evidence={"people_total": row["people_total"], "sum_of_budget_types": row["_sum"]},
        )
