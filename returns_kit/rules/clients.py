"""Rules on the Clients sheet, and on how it squares with Budgets and Services (C001-C007).

A client is identified by their client_ref as written (trimmed). Their age band,
support reason and budget type are taken from their first row; C002 reports any
later row that differs, and the derived counts use the first row only, so one
inconsistency is reported once rather than again as a count difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from returns_kit.findings import Finding
from returns_kit.measures import BUDGET_TYPES
from returns_kit.privacy import identifier_rows
from returns_kit.rules.budgets import KEY as BUDGET_KEY
from returns_kit.rules.budgets import scope_of
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ROW, ReturnContext, Sheet
from returns_kit.rules.registry import implements
from returns_kit.rules.services import KEY as SERVICE_KEY

CLIENT = "_client"
CLIENT_FIELDS = ("age_band", "support_reason", "budget_type")
PERSONAL_BUDGET_TYPES = tuple(code.upper() for code in BUDGET_TYPES if code != "no_personal_budget")


def _clients(context: ReturnContext) -> Sheet | None:
    sheet = context.sheet("Clients")
    return sheet if sheet is not None and sheet.has("client_ref") else None


def _with_client(sheet: Sheet) -> pl.DataFrame:
    """Typed rows with each row's client key (the trimmed client_ref as written)."""
    key = sheet.table.frame.select(pl.col("client_ref").str.strip_chars().alias(CLIENT))
    rows = sheet.typed.with_columns(key.to_series())
    return rows.filter(pl.col(CLIENT).is_not_null() & (pl.col(CLIENT) != ""))


def _first_rows(sheet: Sheet) -> pl.DataFrame:
    """One row per client: their first row's age band, support reason and budget type."""
    fields = [name for name in CLIENT_FIELDS if sheet.has(name)]
    return (
        _with_client(sheet)
        .group_by(CLIENT, maintain_order=True)
        .agg(pl.col(name).first() for name in fields)
    )


@implements("C001")
def direct_identifier(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Clients")
    if sheet is None:
        return
    for name in ("client_ref", "provider_ref"):
        if name not in sheet.table.frame.columns:
            continue
        found = identifier_rows(sheet.table.frame.select(ROW, name), name)
        for row, _, kind in found.iter_rows():
            yield finding(
                "C001",
                f"This {name} looks like {kind}, a direct identifier; replace it with the "
                "council's pseudonymous reference. The value is not repeated here.",
                **sheet.at(name, row),
            )


@implements("C002")
def client_inconsistent(context: ReturnContext) -> Iterator[Finding]:
    sheet = _clients(context)
    if sheet is None:
        return
    rows = _with_client(sheet)
    for name in CLIENT_FIELDS:
        if not sheet.has(name):
            continue
        differing = (
            rows.filter(pl.col(name).is_not_null())
            .with_columns(
                pl.col(name).first().over(CLIENT).alias("_first"),
                pl.col(ROW).first().over(CLIENT).alias("_first_row"),
            )
            .filter(pl.col(name) != pl.col("_first"))
        )
        # One finding per client and field: the first row that departs from the client's first.
        for row in differing.group_by(CLIENT, maintain_order=True).first().iter_rows(named=True):
            yield finding(
                "C002",
                f"{name} is {row[name]} here but {row['_first']} on this client's first row "
                f"(row {row['_first_row']}); a client has one {name} on every row.",
                **sheet.at(name, row[ROW]),
            )


@implements("C003")
def clients_budgets_differ(context: ReturnContext) -> Iterator[Finding]:
    clients, budgets = _clients(context), context.sheet("Budgets")
    if (
        clients is None
        or budgets is None
        or not clients.has(*CLIENT_FIELDS)
        or not budgets.has(*BUDGET_KEY)
    ):
        return
    people = _first_rows(clients).drop_nulls(list(CLIENT_FIELDS))
    derived = people.group_by(*BUDGET_KEY, "budget_type").len()
    counts: dict[tuple[Any, ...], int] = {
        (age, reason, budget.lower()): n for age, reason, budget, n in derived.iter_rows()
    }
    totals: dict[tuple[Any, ...], int] = {}
    for (age, reason, _), n in counts.items():
        totals[(age, reason)] = totals.get((age, reason), 0) + n
    columns = [name for name in ("people_total", *BUDGET_TYPES) if budgets.has(name)]
    for row in budgets.complete(*BUDGET_KEY).iter_rows(named=True):
        key = (row["age_band"], row["support_reason"])
        for name in columns:
            given = row[name]
            if given is None:
                continue
            from_clients = (
                totals.get(key, 0) if name == "people_total" else counts.get((*key, name), 0)
            )
            if given != from_clients:
                scope = scope_of(*key)
                yield finding(
                    "C003",
                    f"{name} is {given:,} here but the Clients sheet has {from_clients:,} "
                    f"such people for {scope}.",
                    **budgets.at(name, row[ROW]),
                    scope=scope,
                    evidence={"budgets": given, "clients": from_clients},
                )


@implements("C004")
def clients_services_differ(context: ReturnContext) -> Iterator[Finding]:
    clients, services = _clients(context), context.sheet("Services")
    if (
        clients is None
        or services is None
        or not clients.has(*SERVICE_KEY)
        or not services.has(*SERVICE_KEY, "people")
    ):
        return
    derived = (
        _with_client(clients)
        .drop_nulls(list(SERVICE_KEY))
        .group_by(SERVICE_KEY)
        .agg(pl.col(CLIENT).n_unique().alias("n"))
    )
    counts = {(s, a): n for s, a, n in derived.iter_rows()}
    seen = set()
    for row in services.complete(*SERVICE_KEY).iter_rows(named=True):
        key = (row["service_type"], row["arrangement"])
        seen.add(key)
        from_clients = counts.get(key, 0)
        if row["people"] is not None and row["people"] != from_clients:
            scope = scope_of(*key)
            yield finding(
                "C004",
                f"people is {row['people']:,} here but the Clients sheet has {from_clients:,} "
                f"people receiving {scope}.",
                **services.at("people", row[ROW]),
                scope=scope,
                evidence={"services": row["people"], "clients": from_clients},
            )
    for key in sorted(set(counts) - seen):
        scope = scope_of(*key)
        yield finding(
            "C004",
            f"The Clients sheet has {counts[key]:,} people receiving {scope} but Services has "
            "no row for it.",
            sheet="Services",
            scope=scope,
            evidence={"services": 0, "clients": counts[key]},
        )


def _blank_text(sheet: Sheet, name: str) -> pl.Series:
    if name not in sheet.table.frame.columns:
        return pl.Series([True] * sheet.typed.height)
    return sheet.table.frame.select(
        pl.col(name).str.strip_chars().str.len_chars().fill_null(0) == 0
    ).to_series()


@implements("C005")
def provider_missing(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Clients")
    if sheet is None or not sheet.has("arrangement"):
        return
    has_column = "provider_ref" in sheet.table.frame.columns
    rows = sheet.typed.with_columns(_blank_text(sheet, "provider_ref").alias("_blank"))
    missing = rows.filter(
        pl.col("_blank")
        & pl.col("arrangement").is_not_null()
        & (pl.col("arrangement") != "DIRECT_PAYMENT")
    )
    for row in missing.iter_rows(named=True):
        yield finding(
            "C005",
            f"provider_ref is blank on a {row['arrangement']} row; only services bought by "
            "direct payment may leave it blank.",
            sheet="Clients",
            cell=sheet.cell("provider_ref", row[ROW]) if has_column else None,
            row=row[ROW],
            column="provider_ref",
        )


@implements("C006")
def allocation_date(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Clients")
    if sheet is None or not sheet.has("budget_type"):
        return
    has_column = "allocation_notified_on" in sheet.table.frame.columns
    rows = sheet.typed.with_columns(_blank_text(sheet, "allocation_notified_on").alias("_blank"))
    holders = rows.filter(pl.col("budget_type").is_in(PERSONAL_BUDGET_TYPES))
    snapshot = context.snapshot
    late = pl.lit(False)
    if snapshot is not None and has_column:
        late = pl.col("allocation_notified_on").fill_null(snapshot) > snapshot
    for row in holders.filter(pl.col("_blank") | late).iter_rows(named=True):
        if row["_blank"]:
            message = (
                f"allocation_notified_on is blank for a {row['budget_type']} budget; a "
                "personal budget starts with telling the person their allocation."
            )
        else:
            message = (
                f"allocation_notified_on {row['allocation_notified_on'].isoformat()} is "
                f"after the snapshot date {snapshot.isoformat() if snapshot else ''}."
            )
        yield finding(
            "C006",
            message,
            sheet="Clients",
            cell=sheet.cell("allocation_notified_on", row[ROW]) if has_column else None,
            row=row[ROW],
            column="allocation_notified_on",
        )


def nominal_counts(context: ReturnContext) -> tuple[int, int] | None:
    """(council-managed clients, of whom nominal), or None without a usable Clients sheet.

    A council-managed budget is nominal unless all three criteria hold on every one
    of the client's rows at the snapshot date: allocation notified, support plan
    agreed, and the person directs their support.
    """
    sheet = _clients(context)
    snapshot = context.snapshot
    needed = (
        "budget_type",
        "allocation_notified_on",
        "support_plan_agreed_on",
        "person_directs_support",
    )
    if (
        sheet is None
        or snapshot is None
        or not all(name in sheet.table.frame.columns for name in needed)
    ):
        return None
    rows = _with_client(sheet)
    first_type = rows.group_by(CLIENT).agg(pl.col("budget_type").first())
    met = rows.group_by(CLIENT).agg(
        pl.all_horizontal(
            pl.col("allocation_notified_on").is_not_null()
            & (pl.col("allocation_notified_on") <= snapshot),
            pl.col("support_plan_agreed_on").is_not_null()
            & (pl.col("support_plan_agreed_on") <= snapshot),
            pl.col("person_directs_support") == "Y",
        )
        .fill_null(False)
        .all()
        .alias("_real")
    )
    managed = first_type.filter(pl.col("budget_type") == "COUNCIL_MANAGED").join(met, on=CLIENT)
    return managed.height, int((~managed["_real"]).sum())


@implements("C007")
def nominal_budgets(context: ReturnContext) -> Iterator[Finding]:
    counts = nominal_counts(context)
    if counts is None or counts[0] == 0:
        return
    managed, nominal = counts
    share = nominal / managed
    if share > context.thresholds.nominal_share_max:
        yield finding(
            "C007",
            f"{nominal:,} of {managed:,} council-managed budgets ({share:.0%}) are nominal: the "
            "person was not told an allocation, has no agreed support plan, or does not direct "
            f"their support. Above {context.thresholds.nominal_share_max:.0%} this must be "
            "explained.",
            sheet="Clients",
            evidence={
                "council_managed": managed,
                "nominal": nominal,
                "nominal_share": round(share, 4),
            },
        )
