"""Rules on the Services sheet, and on how it squares with Budgets (S001-S005)."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ROW, ReturnContext
from returns_kit.rules.rows import SERVICE_KEY as KEY
from returns_kit.rules.rows import duplicate_rows, scope_of

HOURS_SERVICES = ("HOME_CARE", "PERSONAL_ASSISTANT")
DIRECT_PAYMENT_TYPES = ("dp_self_managed", "dp_part", "third_party_managed")


def services_duplicate_row(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Services")
    if sheet:
        yield from duplicate_rows(sheet, KEY, "S001")


def planned_hours_missing(context: ReturnContext) -> Iterator[Finding]:
    for name in ("Services", "Clients"):
        sheet = context.sheet(name)
        if sheet is None or not sheet.has("service_type"):
            continue
        needs = pl.col("service_type").is_in(HOURS_SERVICES)
        if name == "Services":
            needs = needs & (pl.col("people").fill_null(0) > 0) if sheet.has("people") else needs
        has_column = "planned_hours_per_week" in sheet.table.frame.columns
        rows = sheet.typed.with_columns(sheet.blank("planned_hours_per_week").alias("_blank"))
        for row in rows.filter(needs & pl.col("_blank")).iter_rows(named=True):
            cell = sheet.cell("planned_hours_per_week", row[ROW]) if has_column else None
            yield finding(
                "S002",
                {"service_type": row["service_type"]},
                sheet=name,
                cell=cell,
                row=row[ROW],
                column="planned_hours_per_week",
                scope=scope_of(row["service_type"], row.get("arrangement"))
                if name == "Services"
                else None,
            )


def _budget_and_service_people(
    context: ReturnContext, budget_columns: tuple[str, ...], arrangement: str
) -> tuple[int, int] | None:
    """(budget holders, people served by ``arrangement``), or None when either total could
    be zero or not depending on a cell that cannot be read (reported at that cell)."""
    budgets, services = context.sheet("Budgets"), context.sheet("Services")
    if (
        budgets is None
        or services is None
        or not budgets.has(*budget_columns)
        or not services.has("arrangement", "people")
    ):
        return None
    held = int(budgets.typed.select(pl.sum_horizontal(budget_columns).sum()).item() or 0)
    # Every column involved is required, so a null is a cell that could not be read.
    held_unread = budgets.typed.select(
        pl.any_horizontal(pl.col(name).is_null() for name in budget_columns).any()
    ).item()
    arranged = pl.col("arrangement") == arrangement
    served = int(services.typed.filter(arranged)["people"].sum() or 0)
    served_unread = services.typed.select(
        (
            (arranged & pl.col("people").is_null())
            | (pl.col("arrangement").is_null() & pl.col("people").fill_null(1).gt(0))
        ).any()
    ).item()
    if (held == 0 and held_unread) or (served == 0 and served_unread):
        return None
    return held, served


def _mismatch(rule: str, counts: tuple[int, int] | None) -> Iterator[Finding]:
    if counts is None:
        return
    held, served = counts
    if (held > 0) == (served > 0):
        return
    if held:
        variant, params = "budgets_only", {"budget_holders": held}
    else:
        variant = "services_only"
        params = {"people_served": served}
    yield finding(
        rule,
        params,
        variant=variant,
        sheet="Services",
        evidence={"budget_holders": held, "people_served": served},
    )


def isf_mismatch(context: ReturnContext) -> Iterator[Finding]:
    yield from _mismatch("S003", _budget_and_service_people(context, ("isf",), "ISF"))


def direct_payment_mismatch(context: ReturnContext) -> Iterator[Finding]:
    yield from _mismatch(
        "S004", _budget_and_service_people(context, DIRECT_PAYMENT_TYPES, "DIRECT_PAYMENT")
    )


def spend_per_person(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Services")
    if sheet is None or not sheet.has("people", "gross_spend_gbp"):
        return
    low, high = context.thresholds.spend_per_person_min, context.thresholds.spend_per_person_max
    rows = (
        sheet.complete("people", "gross_spend_gbp")
        .filter(pl.col("people") > 0)
        .with_columns((pl.col("gross_spend_gbp") / pl.col("people")).alias("_per_person"))
    )
    for row in rows.filter(~pl.col("_per_person").is_between(low, high)).iter_rows(named=True):
        per_person = row["_per_person"]
        if per_person < low:
            variant, threshold = "below_minimum", {"spend_per_person_min": low}
        else:
            variant, threshold = "above_maximum", {"spend_per_person_max": high}
        yield finding(
            "S005",
            {
                "spend_per_person": per_person,
                **threshold,
                "gross_spend_gbp": row["gross_spend_gbp"],
                "people": row["people"],
            },
            variant=variant,
            **sheet.at("gross_spend_gbp", row[ROW]),
            scope=scope_of(row.get("service_type"), row.get("arrangement")),
            evidence={
                "spend_per_person": round(per_person, 2),
                "people": row["people"],
                "gross_spend_gbp": row["gross_spend_gbp"],
            },
        )
