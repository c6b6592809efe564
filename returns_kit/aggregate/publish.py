"""Disclosure control for publication (``--publish``): no count of 1 to 4 can be seen or
worked back from the totals.

Council counts by age band and support reason are not published at all (most are 1 to
4); councils keep their age-band margins. Every other count in the breakdowns, and the
council, region and England tables built from the same cells, is one cell of a system
of additive relations: the six budget types add to people_total; the age bands and
support reasons add to their ALL margins; councils add to their region and regions to
England. :func:`returns_kit.disclosure.protect` chooses the cells to suppress so that
none can be recovered exactly from the rest. Rates are then computed from the published
counts only, and are blank where any count they need is. The findings table is not
published: its messages quote counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import polars as pl

from returns_kit.aggregate.tables import ALL, RATES
from returns_kit.disclosure import Equation, protect
from returns_kit.measures import BUDGET_TYPES, CHOICE, COUNTS, DIRECT_PAYMENTS, PERSONAL_BUDGETS

Key = tuple[str, str, str, str, str, str]  # period, level, geography, age band, reason, measure
#: Counts beside the breakdowns' that the council, region and England tables publish.
OTHER_COUNTS = ("service_people", "block_contract_people", "nominal_budgets")
GEOGRAPHY = {"council": "council_code", "region": "region_code", "england": "geography_code"}


def _total(names: tuple[str, ...]) -> pl.Expr:
    # A plain sum propagates a blank; sum_horizontal would count it as 0 and leak.
    total = pl.col(names[0])
    for name in names[1:]:
        total = total + pl.col(name)
    return total


def published_rates() -> list[pl.Expr]:
    total, holders = pl.col("people_total"), _total(PERSONAL_BUDGETS)

    def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
        return pl.when(denominator > 0).then(numerator / denominator)

    return [
        ratio(holders, total).alias("pb_rate"),
        ratio(_total(DIRECT_PAYMENTS), total).alias("dp_rate"),
        ratio(_total(CHOICE), total).alias("choice_rate"),
        ratio(pl.col("council_managed"), holders).alias("council_managed_share"),
    ]


def _breakdown_system(
    breakdowns: pl.DataFrame,
) -> tuple[dict[Key, int], list[Equation[Key]]]:
    values: dict[Key, int] = {}
    for row in breakdowns.iter_rows(named=True):
        where = (
            row["period"],
            row["level"],
            row["geography_code"],
            row["age_band"],
            row["support_reason"],
        )
        for measure in COUNTS:
            values[(*where, measure)] = int(row[measure])
    equations: list[Equation[Key]] = []
    cells = {key[:5] for key in values}
    for where in cells:
        equations.append(
            Equation((*where, "people_total"), tuple((*where, m) for m in BUDGET_TYPES))
        )
    by_area: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
    for period, level, geography, age, reason in cells:
        by_area[(period, level, geography)].add((age, reason))
    for (period, level, geography), pairs in by_area.items():
        ages = sorted({a for a, _ in pairs if a != ALL})
        reasons = sorted({r for _, r in pairs if r != ALL})
        for measure in COUNTS:

            def key(age: str, reason: str) -> Key:
                return (period, level, geography, age, reason, measure)  # noqa: B023

            # A margin is an equation only where the table shows what it sums.
            if reasons:
                for age in ages:
                    equations.append(Equation(key(age, ALL), tuple(key(age, r) for r in reasons)))
            if ages:
                for reason in reasons:
                    equations.append(
                        Equation(key(ALL, reason), tuple(key(a, reason) for a in ages))
                    )
                equations.append(Equation(key(ALL, ALL), tuple(key(a, ALL) for a in ages)))
    return values, equations


def _geography_equations(
    values: dict[Any, int], councils: pl.DataFrame, suffixes: Sequence[tuple[str, ...]]
) -> list[Equation[Any]]:
    """Region = sum of its councils, England = sum of regions, for every cell position."""
    equations: list[Equation[Any]] = []
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for period, council, region in councils.select(
        "period", "council_code", "region_code"
    ).iter_rows():
        members[(period, region)].append(council)
    regions_of: dict[str, list[str]] = defaultdict(list)
    for period, region in members:
        regions_of[period].append(region)
    for suffix in suffixes:
        for (period, region), council_codes in members.items():
            total = (period, "region", region, *suffix)
            parts = tuple((period, "council", c, *suffix) for c in council_codes)
            if total in values and all(p in values for p in parts):
                equations.append(Equation(total, parts))
        for period, regions in regions_of.items():
            total = (period, "england", "E92000001", *suffix)
            parts = tuple((period, "region", r, *suffix) for r in regions)
            if total in values and all(p in values for p in parts):
                equations.append(Equation(total, parts))
    return equations


def suppressed_cells(tables: dict[str, pl.DataFrame]) -> set[Any]:
    """Every cell to blank, found period by period (periods share no relation)."""
    breakdowns, councils = tables["breakdowns"], tables["councils"]
    hidden: set[Any] = set()
    for period in sorted(set(breakdowns["period"])):
        part = breakdowns.filter(pl.col("period") == period)
        values, equations = _breakdown_system(part)
        suffixes = sorted({key[3:] for key in values})
        period_councils = councils.filter(pl.col("period") == period)
        equations += _geography_equations(values, period_councils, suffixes)
        other = _other_counts(tables, period)
        equations += _geography_equations(
            other, period_councils, [(ALL, ALL, m) for m in OTHER_COUNTS]
        )
        hidden |= protect({**values, **other}, equations)
    return hidden


def _other_counts(tables: dict[str, pl.DataFrame], period: str) -> dict[Any, int]:
    values: dict[Any, int] = {}
    for level, name in (("council", "councils"), ("region", "regions"), ("england", "england")):
        code = GEOGRAPHY[level]
        frame = tables[name].filter(pl.col("period") == period)
        for row in frame.iter_rows(named=True):
            for measure in OTHER_COUNTS:
                if row[measure] is not None:
                    values[(period, level, row[code], ALL, ALL, measure)] = int(row[measure])
    return values


def _blank(
    frame: pl.DataFrame, hidden: set[Any], level: str | None, code: str, measures: tuple[str, ...]
) -> pl.DataFrame:
    """``frame`` with each hidden cell's count blanked."""
    columns: dict[str, list[Any]] = {m: frame[m].to_list() for m in measures}
    for index, row in enumerate(frame.iter_rows(named=True)):
        at = (
            row["period"],
            level or row["level"],
            row[code],
            row.get("age_band", ALL),
            row.get("support_reason", ALL),
        )
        for measure in measures:
            if (*at, measure) in hidden:
                columns[measure][index] = None
    return frame.with_columns(pl.Series(m, v, dtype=frame.schema[m]) for m, v in columns.items())


def publishable(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The tables with disclosive cells blanked and rates from what is published."""
    # Council counts by age band and support reason are mostly 1 to 4: suppressing them
    # would leave that level mostly blank and the system too large to protect exactly.
    # Councils keep their age-band margins; regions and England keep every breakdown.
    tables = {
        **tables,
        "breakdowns": tables["breakdowns"].filter(
            (pl.col("level") != "council") | (pl.col("support_reason") == ALL)
        ),
    }
    hidden = suppressed_cells(tables)
    out = dict(tables)
    out["breakdowns"] = _blank(
        tables["breakdowns"], hidden, None, "geography_code", COUNTS
    ).with_columns(published_rates())
    for level, name in (("council", "councils"), ("region", "regions"), ("england", "england")):
        frame = _blank(tables[name], hidden, level, GEOGRAPHY[level], (*COUNTS, *OTHER_COUNTS))
        block = pl.when(pl.col("service_people") > 0).then(
            pl.col("block_contract_people") / pl.col("service_people")
        )
        frame = frame.with_columns(*published_rates(), block.alias("block_contract_share"))
        if level != "council":
            # A region's nominal rate is over its councils with Clients: blank it with its count.
            frame = frame.with_columns(
                pl.when(pl.col("nominal_budgets").is_not_null())
                .then(pl.col("nominal_rate"))
                .alias("nominal_rate")
            )
        if level == "council":
            frame = frame.with_columns(
                pl.when(pl.col("people_total") > 0)
                .then(pl.col("nominal_budgets") / pl.col("people_total"))
                .alias("nominal_rate")
            )
            frame = frame.with_columns(
                (pl.col("pb_rate") - pl.col("nominal_rate")).alias("adjusted_pb_rate")
            )
        out[name] = frame.with_columns(
            pl.col(list(RATES)).round(6), pl.col("block_contract_share").round(6)
        )
    del out["findings"]
    return out
