"""What the GX checkpoint expects of the aggregate's national tables (GX is not needed here).

- every column declared a rate (:mod:`returns_kit.aggregate.columns`) lies within 0..1, and
  every column declared a count is 0 or more (councils, regions, england, breakdowns, flags);
- one row per council and period (per region and period, per period, per breakdown cell);
- councils_included <= councils_expected, and councils_with_clients <= councils_included;
- totals reconcile: the ``reconciliation`` frame, built here, sets each region's and each
  period's count beside the sum of its parts (councils to regions, regions to England),
  and GX expects the two to be equal.

With ``--publish`` a suppressed count is blank: a sum with a blank part, or a blank whole,
is left out of the reconciliation (GX's ``either_value_is_missing``).
"""

from __future__ import annotations

import polars as pl

from returns_kit.aggregate.columns import BREAKDOWN_KEY, TABLES, Kind
from returns_kit.gx.plan import Planned
from returns_kit.measures import COUNTS

#: The tables the checkpoint validates, and the columns that identify one row of each.
KEYS: dict[str, tuple[str, ...]] = {
    "councils": ("period", "council_code"),
    "regions": ("period", "region_code"),
    "england": ("period",),
    "breakdowns": BREAKDOWN_KEY,
    # A screen (P010-P012) flags a council-period once per measure.
    "flags": ("period", "council_code", "rule", "measure"),
}
#: The counts that add up from councils to regions and from regions to England.
RECONCILED = (*COUNTS, "service_people", "block_contract_people")
RECONCILIATION = "reconciliation"


def table_plan(name: str, frame: pl.DataFrame) -> list[Planned]:
    """The expectations on one national table: those of its key, and of its columns' kinds."""
    table = TABLES[name]
    planned = [
        Planned(
            "ExpectCompoundColumnsToBeUnique"
            if len(KEYS[name]) > 1
            else "ExpectColumnValuesToBeUnique",
            {"column_list": list(KEYS[name])} if len(KEYS[name]) > 1 else {"column": KEYS[name][0]},
            "one row per key",
            None,
            "key",
        )
    ]
    planned += [
        Planned(
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": 0, "max_value": 1},
            "rate within 0..1",
            column,
            "proportion",
        )
        for column in table.of_kind(Kind.RATE)
    ]
    planned += [
        Planned(
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": 0},
            "count 0 or more",
            column,
            "count",
        )
        for column in table.of_kind(Kind.COUNT)
    ]
    for larger, smaller in (
        ("councils_expected", "councils_included"),
        ("councils_included", "councils_with_clients"),
    ):
        if larger in frame.columns and smaller in frame.columns:
            planned.append(
                Planned(
                    "ExpectColumnPairValuesAToBeGreaterThanB",
                    {
                        "column_A": larger,
                        "column_B": smaller,
                        "or_equal": True,
                        # a region with no council included has no count of those with Clients
                        "ignore_row_if": "either_value_is_missing",
                    },
                    f"{smaller} <= {larger}",
                    smaller,
                    "councils",
                )
            )
    return planned


def reconciliation_plan() -> list[Planned]:
    return [
        Planned(
            "ExpectColumnPairValuesToBeEqual",
            {
                "column_A": "parts_sum",
                "column_B": "total",
                "ignore_row_if": "either_value_is_missing",
            },
            "totals reconcile",
            "parts_sum",
            "reconciliation",
        )
    ]


def _sum_or_blank(name: str) -> pl.Expr:
    # A blank (suppressed) part makes the sum blank rather than quietly smaller.
    return pl.when(pl.col(name).null_count() == 0).then(pl.col(name).sum()).alias(name)


def _emptied(frame: pl.DataFrame) -> pl.DataFrame:
    """A region (or period) with no council included has blank counts: it holds nothing,
    which is 0, not a suppressed count."""
    return frame.with_columns(
        pl.when(pl.col("councils_included") == 0)
        .then(pl.col(name).fill_null(0))
        .otherwise(pl.col(name))
        .alias(name)
        for name in RECONCILED
    )


def _relation(
    parts: pl.DataFrame, wholes: pl.DataFrame, key: list[str], geography: pl.Expr, relation: str
) -> pl.DataFrame:
    """Per key and count, the whole's count beside the sum of its parts'. A whole with no
    parts sums to 0; parts with no whole are set against 0, so that they fail."""
    summed = parts.group_by(key).agg(_sum_or_blank(name) for name in RECONCILED)
    joined = wholes.select(*key, geography.alias("geography_code"), *RECONCILED).with_columns(
        pl.lit(True).alias("_whole")
    )
    joined = joined.join(
        summed.with_columns(pl.lit(True).alias("_parts")),
        on=key,
        how="full",
        coalesce=True,
        suffix="_parts",
    )
    zero = pl.lit(0, dtype=pl.Int64)
    return pl.concat(
        joined.select(
            "period",
            pl.lit(relation).alias("relation"),
            "geography_code",
            pl.lit(name).alias("count"),
            pl.when(pl.col("_parts").is_null())
            .then(zero)
            .otherwise(pl.col(f"{name}_parts"))
            .cast(pl.Int64)
            .alias("parts_sum"),
            pl.when(pl.col("_whole").is_null())
            .then(zero)
            .otherwise(pl.col(name))
            .cast(pl.Int64)
            .alias("total"),
        )
        for name in RECONCILED
    )


def reconciliation(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per period, whole (each region, and England) and count: the whole's count
    (``total``) beside the sum of its parts' (``parts_sum``)."""
    regions = _emptied(tables["regions"])
    england = _emptied(tables["england"])
    frame = pl.concat(
        [
            _relation(
                tables["councils"],
                regions,
                ["period", "region_code"],
                pl.col("region_code"),
                "councils to region",
            ),
            _relation(regions, england, ["period"], pl.col("geography_code"), "regions to England"),
        ]
    )
    return frame.sort("period", "relation", "geography_code", "count")
