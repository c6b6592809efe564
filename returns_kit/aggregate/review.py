"""The review list: which flagged council-periods to look at first (selective editing).

Each council-period with a period query gets a score, suspicion x impact, and a rank within
its period (1 = look first), in the manner of selective editing in business surveys
(Latouche and Berthelot 1992; Hedlin 2003): how unexplained the change is, times how much
it moves the published figures.

- ``review_suspicion`` combines the council-period's query rules as independent pieces of
  evidence, ``1 - product(1 - w)``, with ``w`` the rule's weight in :data:`SUSPICION` (each
  rule counted once, however many measures it flags), a quarter of it where the council's
  Explanations sheet answers the query. Evidence of relabelling weighs most (P003's clients
  moved to a budget with the same services, P002), then changes out of line with the
  period (P010, P001), then the data-quality screens (P004, P011, P012).
- ``review_people_moved`` is how many people the council's change moves in the figures:
  the larger of its change in people with a personal budget and in people_total.
- ``review_impact_national`` and ``review_impact_regional`` are that over England's and the
  council's region's people_total in the period: about how many points of the national and
  regional rates the council alone moves. ``review_impact`` is their mean.
- ``review_score = review_suspicion x review_impact``; ``review_rank`` orders the period's
  council-periods by score, then suspicion, then people moved, then council code, so ties
  are broken the same way every run. Info findings (P005, P006: no comparison) are not
  ranked.
"""

from __future__ import annotations

import polars as pl

#: Weight of each period query rule in review_suspicion: relabelling evidence first.
SUSPICION = {
    "P003": 0.8,
    "P002": 0.7,
    "P010": 0.4,
    "P001": 0.4,
    "P004": 0.2,
    "P011": 0.2,
    "P012": 0.2,
}
#: A query the council's Explanations sheet answers weighs this share of its weight.
EXPLAINED = 0.25
#: Weight of a period query rule not named in SUSPICION (a rule added later).
OTHER = 0.2

#: The review list's columns of the flags table are those named review_* (their dtypes,
#: order and meaning are declared with the table's, in returns_kit.aggregate.columns).
PREFIX = "review_"
IMPACT_SCHEMA = {
    "council_code": pl.String,
    "period": pl.String,
    "people_moved": pl.Int64,
    "national_people": pl.Int64,
    "regional_people": pl.Int64,
}


def review(flags: pl.DataFrame, impact: pl.DataFrame) -> pl.DataFrame:
    """One row per ranked council-period: council_code, period and the review_* columns.

    ``flags`` needs council_code, period, rule, severity and explained; ``impact`` has one
    row per council-period compared, in IMPACT_SCHEMA.
    """
    weight = pl.col("rule").replace_strict(SUSPICION, default=OTHER, return_dtype=pl.Float64)
    queries = (
        flags.filter(pl.col("severity") == "query")
        .with_columns(
            pl.when(pl.col("explained").fill_null(False))
            .then(weight * EXPLAINED)
            .otherwise(weight)
            .alias("_weight")
        )
        .group_by("council_code", "period", "rule")
        .agg(pl.col("_weight").max())
    )
    suspicion = queries.group_by("council_code", "period").agg(
        (1 - (1 - pl.col("_weight")).product()).alias("review_suspicion")
    )
    national = pl.col("people_moved") / pl.col("national_people")
    regional = pl.col("people_moved") / pl.col("regional_people")
    scored = (
        suspicion.join(impact, on=["council_code", "period"], how="left")
        .with_columns(
            pl.when(pl.col("national_people") > 0).then(national).alias("review_impact_national"),
            pl.when(pl.col("regional_people") > 0).then(regional).alias("review_impact_regional"),
            pl.col("people_moved").alias("review_people_moved"),
        )
        .with_columns(
            pl.mean_horizontal("review_impact_national", "review_impact_regional")
            .fill_null(0.0)
            .alias("review_impact")
        )
        .with_columns((pl.col("review_suspicion") * pl.col("review_impact")).alias("review_score"))
        .sort(
            "period",
            "review_score",
            "review_suspicion",
            "review_people_moved",
            "council_code",
            descending=[False, True, True, True, False],
            nulls_last=True,
        )
        .with_columns(pl.int_range(1, pl.len() + 1).over("period").alias("review_rank"))
    )
    return scored.select("council_code", "period", pl.col(f"^{PREFIX}.*$"))
