"""Rules on the Clients sheet, and on how it squares with Budgets and Services (C001-C007).

A client is identified by their client_ref as written (trimmed). Their age band,
support reason and budget type are taken from their first row; C002 reports any
later row that differs, and the derived counts use the first row only, so one
inconsistency is reported once rather than again as a count difference. A row whose
client_ref cannot be read, or is a direct identifier, belongs to no client the rules can
name: the counts it could change are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from returns_kit.findings import Finding
from returns_kit.measures import BUDGET_TYPES
from returns_kit.privacy import identifier_rows
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ROW, ReturnContext, Sheet
from returns_kit.rules.rows import BUDGET_KEY, SERVICE_KEY, could_be, repeated_keys, scope_of

CLIENT = "_client"
CLIENT_FIELDS = ("age_band", "support_reason", "budget_type")
PERSONAL_BUDGET_TYPES = tuple(code.upper() for code in BUDGET_TYPES if code != "no_personal_budget")


def _clients(context: ReturnContext) -> Sheet | None:
    sheet = context.sheet("Clients")
    return sheet if sheet is not None and sheet.has("client_ref") else None


def _keyed(sheet: Sheet) -> pl.DataFrame:
    """Typed rows with each row's client key: the trimmed client_ref as written, or null when
    it cannot be read (blank, not in its form, no saved value) or is a direct identifier
    (C001). A row with a null key belongs to no client the rules can name."""
    keyed = sheet.derived.get(CLIENT)
    if keyed is None:
        identified = _identified(sheet, "client_ref")[ROW]
        key = pl.when(~pl.col(ROW).is_in(identified.implode())).then(pl.col("client_ref"))
        keyed = sheet.derived[CLIENT] = sheet.typed.with_columns(key.alias(CLIENT))
    assert isinstance(keyed, pl.DataFrame)
    return keyed


def _identified(sheet: Sheet, name: str) -> pl.DataFrame:
    """The rows whose ``name`` looks like a direct identifier (C001), found once a sheet."""
    key = f"_identified_{name}"
    found = sheet.derived.get(key)
    if found is None:
        found = sheet.derived[key] = identifier_rows(sheet.table.frame.select(ROW, name), name)
    assert isinstance(found, pl.DataFrame)
    return found


def _with_client(sheet: Sheet) -> pl.DataFrame:
    """Typed rows of a client the rules can name, with the client key."""
    return _keyed(sheet).filter(pl.col(CLIENT).is_not_null())


def _unread(rows: pl.DataFrame, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """``names`` (None where unread) of the rows of ``_keyed`` that belong to no named client,
    and of the rows of ``rows`` with one of ``names`` unread."""
    return list(
        rows.filter(
            pl.col(CLIENT).is_null() | pl.any_horizontal(pl.col(n).is_null() for n in names)
        )
        .select(names)
        .iter_rows()
    )


def _first_rows(sheet: Sheet) -> pl.DataFrame:
    """One row per client: their first row's age band, support reason and budget type."""
    fields = [name for name in CLIENT_FIELDS if sheet.has(name)]
    return (
        _with_client(sheet)
        .group_by(CLIENT, maintain_order=True)
        .agg(pl.col(name).first() for name in fields)
    )


def direct_identifier(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Clients")
    if sheet is None:
        return
    for name in ("client_ref", "provider_ref"):
        if name not in sheet.table.frame.columns:
            continue
        found = _identified(sheet, name)
        for row, _, kind in found.iter_rows():
            yield finding(
                "C001",
                {"column": name, "identifier_kind": kind},
                **sheet.at(name, row),
            )


def client_inconsistent(context: ReturnContext) -> Iterator[Finding]:
    sheet = _clients(context)
    if sheet is None:
        return
    rows = _with_client(sheet)
    fields = [name for name in CLIENT_FIELDS if sheet.has(name)]
    # Each client's first row with a value of each field, and that value: one grouping for
    # every field (a window per field and column took three times as long).
    firsts = rows.group_by(CLIENT).agg(
        aggregate
        for name in fields
        for aggregate in (
            pl.col(name).drop_nulls().first().alias(f"_first_{name}"),
            pl.col(ROW).filter(pl.col(name).is_not_null()).first().alias(f"_first_row_{name}"),
        )
    )
    rows = rows.join(firsts, on=CLIENT, how="left", maintain_order="left")
    for name in fields:
        differing = (
            rows.filter(pl.col(name).is_not_null())
            .rename({f"_first_{name}": "_first", f"_first_row_{name}": "_first_row"})
            .filter(pl.col(name) != pl.col("_first"))
        )
        # One finding per client and field: the first row that departs from the client's first.
        for row in differing.group_by(CLIENT, maintain_order=True).first().iter_rows(named=True):
            yield finding(
                "C002",
                {
                    "column": name,
                    "value": row[name],
                    "first_value": row["_first"],
                    "first_row": row["_first_row"],
                },
                **sheet.at(name, row[ROW]),
            )


def clients_budgets_differ(context: ReturnContext) -> Iterator[Finding]:
    clients, budgets = _clients(context), context.sheet("Budgets")
    if (
        clients is None
        or budgets is None
        or not clients.has(*CLIENT_FIELDS)
        or not budgets.has(*BUDGET_KEY)
    ):
        return
    first = _first_rows(clients)
    # A client whose first row has a value that cannot be read, and a row of no named client,
    # could be counted in any Budgets cell they match: those cells are not compared.
    unread = [
        (age, reason, None if budget is None else budget.lower())
        for age, reason, budget in [
            *_unread(first, CLIENT_FIELDS),
            *_unread(_keyed(clients).filter(pl.col(CLIENT).is_null()), CLIENT_FIELDS),
        ]
    ]
    one_row_each = first.drop_nulls(list(CLIENT_FIELDS))
    derived = one_row_each.group_by(*BUDGET_KEY, "budget_type").len()
    counts: dict[tuple[Any, ...], int] = {
        (age, reason, budget.lower()): n for age, reason, budget, n in derived.iter_rows()
    }
    totals: dict[tuple[Any, ...], int] = {}
    for (age, reason, _), n in counts.items():
        totals[(age, reason)] = totals.get((age, reason), 0) + n
    columns = [name for name in ("people_total", *BUDGET_TYPES) if budgets.has(name)]
    # A row given twice is B001's finding; its counts are not compared as well.
    repeated = repeated_keys(budgets, BUDGET_KEY)
    for row in budgets.complete(*BUDGET_KEY).iter_rows(named=True):
        key = (row["age_band"], row["support_reason"])
        if key in repeated:
            continue
        for name in columns:
            given = row[name]
            if given is None or could_be(unread, (*key, None if name == "people_total" else name)):
                continue
            from_clients = (
                totals.get(key, 0) if name == "people_total" else counts.get((*key, name), 0)
            )
            if given != from_clients:
                yield finding(
                    "C003",
                    {
                        "column": name,
                        "budgets_count": given,
                        "clients_count": from_clients,
                        "age_band": key[0],
                        "support_reason": key[1],
                    },
                    **budgets.at(name, row[ROW]),
                    scope=scope_of(*key),
                    evidence={"budgets": given, "clients": from_clients},
                )


def clients_services_differ(context: ReturnContext) -> Iterator[Finding]:
    clients, services = _clients(context), context.sheet("Services")
    if (
        clients is None
        or services is None
        or not clients.has(*SERVICE_KEY)
        or not services.has(*SERVICE_KEY, "people")
    ):
        return
    keyed = _keyed(clients)
    derived = (
        keyed.drop_nulls([CLIENT, *SERVICE_KEY])
        .group_by(SERVICE_KEY)
        .agg(pl.col(CLIENT).n_unique().alias("n"))
    )
    counts = {(s, a): n for s, a, n in derived.iter_rows()}
    # Rows of Clients, and of Services, whose service or client cannot be read may count
    # towards any combination they match: those combinations are not compared.
    unread_clients = _unread(keyed, SERVICE_KEY)
    unread_services = list(
        services.typed.filter(pl.any_horizontal(pl.col(n).is_null() for n in SERVICE_KEY))
        .select(SERVICE_KEY)
        .iter_rows()
    )
    seen = set()
    # A service given on two rows is S001's finding; its people are not compared as well.
    repeated = repeated_keys(services, SERVICE_KEY)
    for row in services.complete(*SERVICE_KEY).iter_rows(named=True):
        key = (row["service_type"], row["arrangement"])
        seen.add(key)
        from_clients = counts.get(key, 0)
        if row["people"] is None or key in repeated or could_be(unread_clients, key):
            continue
        if row["people"] != from_clients:
            yield finding(
                "C004",
                {
                    "people": row["people"],
                    "clients_count": from_clients,
                    "service_type": key[0],
                    "arrangement": key[1],
                },
                variant="row_differs",
                **services.at("people", row[ROW]),
                scope=scope_of(*key),
                evidence={"services": row["people"], "clients": from_clients},
            )
    for key in sorted(set(counts) - seen):
        if could_be(unread_services, key):
            continue
        yield finding(
            "C004",
            {
                "clients_count": counts[key],
                "service_type": key[0],
                "arrangement": key[1],
            },
            variant="no_services_row",
            sheet="Services",
            scope=scope_of(*key),
            evidence={"services": 0, "clients": counts[key]},
        )


def provider_missing(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Clients")
    if sheet is None or not sheet.has("arrangement"):
        return
    has_column = "provider_ref" in sheet.table.frame.columns
    rows = sheet.typed.with_columns(sheet.blank("provider_ref").alias("_blank"))
    missing = rows.filter(
        pl.col("_blank")
        & pl.col("arrangement").is_not_null()
        & (pl.col("arrangement") != "DIRECT_PAYMENT")
    )
    for row in missing.iter_rows(named=True):
        yield finding(
            "C005",
            {"arrangement": row["arrangement"]},
            sheet="Clients",
            cell=sheet.cell("provider_ref", row[ROW]) if has_column else None,
            row=row[ROW],
            column="provider_ref",
        )


def allocation_date(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Clients")
    if sheet is None or not sheet.has("budget_type"):
        return
    has_column = "allocation_notified_on" in sheet.table.frame.columns
    rows = sheet.typed.with_columns(sheet.blank("allocation_notified_on").alias("_blank"))
    holders = rows.filter(pl.col("budget_type").is_in(PERSONAL_BUDGET_TYPES))
    snapshot = context.snapshot
    late = pl.lit(False)
    if snapshot is not None and has_column:
        late = pl.col("allocation_notified_on").fill_null(snapshot) > snapshot
    for row in holders.filter(pl.col("_blank") | late).iter_rows(named=True):
        if row["_blank"]:
            variant, params = "blank", {"budget_type": row["budget_type"]}
        else:
            assert snapshot is not None  # a date is late only against a snapshot
            variant = "after_snapshot"
            params = {
                "allocation_notified_on": row["allocation_notified_on"].isoformat(),
                "snapshot": snapshot.isoformat(),
            }
        yield finding(
            "C006",
            params,
            variant=variant,
            sheet="Clients",
            cell=sheet.cell("allocation_notified_on", row[ROW]) if has_column else None,
            row=row[ROW],
            column="allocation_notified_on",
        )


@dataclass(frozen=True)
class Nominal:
    """Clients by what the Clients sheet shows of their budget and the three criteria."""

    nominal: int  #: council-managed, a criterion known not to hold
    real: int  #: council-managed, every criterion known to hold
    undecided: int  #: council-managed, none known not to hold but some cannot be read
    maybe_managed: int  #: first row's budget type cannot be read
    unnamed_rows: int  #: rows whose client_ref cannot be read (each may be another client)

    @property
    def managed(self) -> int:
        return self.nominal + self.real + self.undecided

    @property
    def sure(self) -> bool:
        return not (self.undecided or self.maybe_managed or self.unnamed_rows)


_CRITERIA = ("allocation_notified_on", "support_plan_agreed_on", "person_directs_support")


def nominal_budgets_of(context: ReturnContext) -> Nominal | None:
    """The council-managed budgets, nominal or not, or None without a usable Clients sheet.

    A council-managed budget is nominal unless all three criteria hold on every one
    of the client's rows at the snapshot date: allocation notified, support plan
    agreed, and the person directs their support. A criterion left blank does not hold.
    """
    sheet = _clients(context)
    snapshot = context.snapshot
    if (
        sheet is None
        or snapshot is None
        or not all(name in sheet.table.frame.columns for name in ("budget_type", *_CRITERIA))
    ):
        return None
    if "nominal" not in sheet.derived:
        sheet.derived["nominal"] = _nominal(sheet, snapshot)
    nominal: Nominal = sheet.derived["nominal"]
    return nominal


def _nominal(sheet: Sheet, snapshot: date) -> Nominal:
    blank = [sheet.blank(name).alias(f"_blank_{name}") for name in _CRITERIA]
    rows = _keyed(sheet).with_columns(blank)
    holds, fails = [], []
    for name in ("allocation_notified_on", "support_plan_agreed_on"):
        holds.append(pl.col(name).is_not_null() & (pl.col(name) <= snapshot))
        fails.append((pl.col(name) > snapshot).fill_null(False) | pl.col(f"_blank_{name}"))
    directs = pl.col("person_directs_support")
    holds.append((directs == "Y").fill_null(False))
    fails.append((directs == "N").fill_null(False) | pl.col("_blank_person_directs_support"))
    clients = (
        rows.filter(pl.col(CLIENT).is_not_null())
        .group_by(CLIENT)
        .agg(
            pl.col("budget_type").first(),
            pl.all_horizontal(holds).all().alias("_real"),
            pl.any_horizontal(fails).any().alias("_nominal"),
        )
    )
    managed = clients.filter(pl.col("budget_type") == "COUNCIL_MANAGED")
    nominal = int(managed["_nominal"].sum())
    real = int(managed["_real"].sum())
    return Nominal(
        nominal=nominal,
        real=real,
        undecided=managed.height - nominal - real,
        maybe_managed=int(clients["budget_type"].is_null().sum()),
        unnamed_rows=int(rows[CLIENT].is_null().sum()),
    )


def nominal_counts(context: ReturnContext) -> tuple[int, int] | None:
    """(council-managed clients, of whom nominal), or None without a usable Clients sheet;
    a budget whose criteria cannot all be read counts as nominal."""
    budgets = nominal_budgets_of(context)
    if budgets is None:
        return None
    return budgets.managed, budgets.nominal + budgets.undecided


def nominal_budgets(context: ReturnContext) -> Iterator[Finding]:
    budgets = nominal_budgets_of(context)
    if budgets is None:
        return
    # Budgets that cannot be read count against the query: it is raised only when the share
    # is over the threshold however they turn out (each is reported at its cell).
    nominal = budgets.nominal
    managed = budgets.managed + budgets.maybe_managed + budgets.unnamed_rows
    if managed == 0:
        return
    share = nominal / managed
    limit = context.thresholds.nominal_share_max
    if share > limit:
        yield finding(
            "C007",
            {
                "nominal": nominal,
                "council_managed": managed,
                "nominal_share": share,
                "nominal_share_max": limit,
            },
            variant="sure" if budgets.sure else "at_least",
            sheet="Clients",
            evidence={
                "council_managed": managed,
                "nominal": nominal,
                "nominal_share": round(share, 4),
            },
        )
