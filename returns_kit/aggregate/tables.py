"""Council, region and England tables, and the breakdowns by age band and support reason.

Rates at every level are computed from summed counts, never averaged. Councils sum
to regions and regions to England; :func:`reconcile` checks it on every run.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from returns_kit.aggregate.batch import Processed
from returns_kit.aggregate.columns import BREAKDOWN_KEY, TABLES, Table
from returns_kit.errors import ReturnsKitError
from returns_kit.measures import COUNTS, RATES, rate_expressions
from returns_kit.periods import Period
from returns_kit.reference import Reference
from returns_kit.schema import sheet_specs

ENGLAND = ("E92000001", "England")
ALL = "ALL"


class ReconciliationError(ReturnsKitError):
    """Totals do not add up across levels: a defect in returns_kit, never in the data."""


def _round(frame: pl.DataFrame) -> pl.DataFrame:
    # Six decimals keep every rate exact to a person in a million, and the CSVs stable.
    floats = [name for name, dtype in frame.schema.items() if dtype == pl.Float64]
    return frame.with_columns(pl.col(floats).round(6))


def council_table(included: dict[tuple[str, str], Processed], reference: Reference) -> pl.DataFrame:
    rows = []
    for (code, period), item in sorted(included.items()):
        summary = item.summary
        assert summary is not None
        council = reference.councils[code]
        people = summary.people_by_service
        measured = summary.measures()
        rows.append(
            {
                "period": period,
                "council_code": code,
                "council_name": council.name,
                "region_code": council.region_code,
                "region_name": council.region_name,
                **summary.counts,
                "service_people": sum(people.values()),
                "block_contract_people": sum(
                    n for (_, arrangement), n in people.items() if arrangement == "BLOCK_CONTRACT"
                ),
                "nominal_budgets": summary.nominal[1] if summary.nominal else None,
                "nominal_rate": measured["nominal_rate"],
                "adjusted_pb_rate": measured["adjusted_pb_rate"],
            }
        )
    table = TABLES["councils"]
    # Every column but those computed below from the counts, as each row gives them.
    computed = (*RATES, "block_contract_share")
    given = {name: dtype for name, dtype in table.schema.items() if name not in computed}
    frame = pl.DataFrame(rows, schema=given)
    return _round(frame.with_columns(*rate_expressions(), _block_share()).select(table.names))


def _block_share() -> pl.Expr:
    return (
        pl.when(pl.col("service_people") > 0)
        .then(pl.col("block_contract_people") / pl.col("service_people"))
        .alias("block_contract_share")
    )


def _rolled_up(councils: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    with_clients = pl.col("nominal_budgets").is_not_null()
    return councils.group_by(by).agg(
        pl.len().alias("councils_included"),
        *(pl.col(name).sum() for name in (*COUNTS, "service_people", "block_contract_people")),
        pl.col("nominal_budgets").sum().alias("nominal_budgets"),
        with_clients.sum().alias("councils_with_clients"),
        pl.col("people_total").filter(with_clients).sum().alias("_clients_people"),
        *(pl.col(rate).min().alias(f"{rate}_min") for rate in ("pb_rate", "choice_rate")),
        *(pl.col(rate).median().alias(f"{rate}_median") for rate in ("pb_rate", "choice_rate")),
        *(pl.col(rate).max().alias(f"{rate}_max") for rate in ("pb_rate", "choice_rate")),
    )


def _finish(frame: pl.DataFrame, key: list[str], table: Table) -> pl.DataFrame:
    nominal_rate = pl.when(pl.col("_clients_people") > 0).then(
        pl.col("nominal_budgets") / pl.col("_clients_people")
    )
    frame = frame.with_columns(
        *rate_expressions(), _block_share(), nominal_rate.alias("nominal_rate")
    )
    return _round(frame.select(table.names).sort(key))


def _expected(reference: Reference, periods: Iterable[str], by_region: bool) -> pl.DataFrame:
    rows = []
    for period in periods:
        for council in reference.active(Period.of(period)):
            rows.append(
                {
                    "period": period,
                    "region_code": council.region_code,
                    "region_name": council.region_name,
                }
            )
    frame = pl.DataFrame(
        rows, schema={"period": pl.String, "region_code": pl.String, "region_name": pl.String}
    )
    keys = ["period", "region_code", "region_name"] if by_region else ["period"]
    return frame.group_by(keys).agg(pl.len().alias("councils_expected"))


def region_table(councils: pl.DataFrame, reference: Reference, periods: list[str]) -> pl.DataFrame:
    key = ["period", "region_code", "region_name"]
    expected = _expected(reference, periods, by_region=True)
    rolled = expected.join(_rolled_up(councils, key), on=key, how="left").with_columns(
        pl.col("councils_included").fill_null(0)
    )
    return _finish(rolled, key, TABLES["regions"])


def england_table(councils: pl.DataFrame, reference: Reference, periods: list[str]) -> pl.DataFrame:
    expected = _expected(reference, periods, by_region=False)
    rolled = expected.join(_rolled_up(councils, ["period"]), on="period", how="left")
    rolled = rolled.with_columns(
        pl.col("councils_included").fill_null(0),
        pl.lit(ENGLAND[0]).alias("geography_code"),
        pl.lit(ENGLAND[1]).alias("geography_name"),
    )
    return _finish(rolled, ["period", "geography_code", "geography_name"], TABLES["england"])


def breakdown_table(
    included: dict[tuple[str, str], Processed], reference: Reference
) -> pl.DataFrame:
    """Counts and rates by period, geography (council, region, England), age band and
    support reason, with ALL margins; one row per combination."""
    frames = []
    keys: dict[str, list[str]] = {
        name: []
        for name in ("period", "council_code", "council_name", "region_code", "region_name")
    }
    for (code, period), item in sorted(included.items()):
        assert item.summary is not None
        council = reference.councils[code]
        frames.append(item.summary.budgets)
        # Key columns as plain lists, added once after one concat: a with_columns per
        # return costs more than the rest of the table for 1,500 returns.
        for name, value in (
            ("period", period),
            ("council_code", code),
            ("council_name", council.name),
            ("region_code", council.region_code),
            ("region_name", council.region_name),
        ):
            keys[name].extend([value] * item.summary.budgets.height)
    if not frames:
        return _empty_breakdowns()
    cells = pl.concat(frames, how="vertical_relaxed").with_columns(
        pl.Series(name, values, dtype=pl.String) for name, values in keys.items()
    )
    levels: list[tuple[str, str | None, str | None]] = [
        ("council", "council_code", "council_name"),
        ("region", "region_code", "region_name"),
        ("england", None, None),
    ]
    parts = []
    for level, code_column, name_column in levels:
        geo = (
            [
                pl.col(code_column).alias("geography_code"),
                pl.col(name_column).alias("geography_name"),
            ]
            if code_column and name_column
            else [
                pl.lit(ENGLAND[0]).alias("geography_code"),
                pl.lit(ENGLAND[1]).alias("geography_name"),
            ]
        )
        base = cells.with_columns(*geo, pl.lit(level).alias("level"))
        for ages, reasons in ((True, True), (True, False), (False, True), (False, False)):
            grouped = (
                base.with_columns(
                    pl.col("age_band") if ages else pl.lit(ALL).alias("age_band"),
                    pl.col("support_reason") if reasons else pl.lit(ALL).alias("support_reason"),
                )
                .group_by(BREAKDOWN_KEY)
                .agg(pl.col(name).sum() for name in COUNTS)
            )
            parts.append(grouped)
    frame = pl.concat(parts).with_columns(rate_expressions())
    return _round(_sort_breakdowns(frame))


def _sort_breakdowns(frame: pl.DataFrame) -> pl.DataFrame:
    spec = sheet_specs()["Budgets"]
    ages = [*spec.field("age_band").code_list, ALL]
    reasons = [*spec.field("support_reason").code_list, ALL]
    order = {"council": 0, "region": 1, "england": 2}
    return (
        frame.with_columns(
            pl.col("level").replace_strict(order, return_dtype=pl.Int8).alias("_level"),
            pl.col("age_band")
            .replace_strict({a: i for i, a in enumerate(ages)}, return_dtype=pl.Int8)
            .alias("_age"),
            pl.col("support_reason")
            .replace_strict({r: i for i, r in enumerate(reasons)}, return_dtype=pl.Int8)
            .alias("_reason"),
        )
        .sort("period", "_level", "geography_code", "_age", "_reason")
        .select(TABLES["breakdowns"].names)
    )


def _empty_breakdowns() -> pl.DataFrame:
    return pl.DataFrame(schema=TABLES["breakdowns"].schema)


def reconcile(
    councils: pl.DataFrame, regions: pl.DataFrame, england: pl.DataFrame, breakdowns: pl.DataFrame
) -> None:
    """Raise when councils do not sum to regions, regions to England, or breakdowns to either."""
    counts = [*COUNTS, "service_people", "block_contract_people"]
    by_region = councils.group_by("period", "region_code").agg(pl.col(counts).sum())
    check = (
        regions.filter(pl.col("councils_included") > 0)
        .select("period", "region_code", *counts)
        .join(by_region, on=["period", "region_code"], how="full", suffix="_councils")
    )
    by_england = regions.group_by("period").agg(pl.col(counts).fill_null(0).sum())
    check_england = england.select("period", *counts).join(
        by_england, on="period", how="full", suffix="_regions"
    )
    total_cells = breakdowns.filter((pl.col("age_band") == ALL) & (pl.col("support_reason") == ALL))
    for frame, suffix in ((check, "_councils"), (check_england, "_regions")):
        for name in counts:
            bad = frame.filter(pl.col(name).fill_null(0) != pl.col(name + suffix).fill_null(0))
            if bad.height:
                raise ReconciliationError(f"{name} does not add up ({suffix[1:]}): {bad.row(0)}")
    for level, table, code in (
        ("council", councils, "council_code"),
        ("region", regions, "region_code"),
        ("england", england, "geography_code"),
    ):
        cells = total_cells.filter(pl.col("level") == level).select(
            "period", pl.col("geography_code").alias(code), *COUNTS
        )
        joined = (
            table.filter(pl.col("people_total").is_not_null())
            .select("period", code, *COUNTS)
            .join(cells, on=["period", code], how="full", suffix="_b")
        )
        for name in COUNTS:
            if joined.filter(pl.col(name).fill_null(0) != pl.col(name + "_b").fill_null(0)).height:
                raise ReconciliationError(
                    f"breakdowns' {level} totals differ from the {level} table in {name}"
                )
