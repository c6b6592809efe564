"""Screening councils' counts relative to the period and to their own history.

Pure functions over a tidy polars frame with one row per unit (council), period and measure,
such as :func:`returns_kit.hscic.load_activity`. Nothing here reads files or decides what a
finding is: each function returns the rows it scored or flagged, with the numbers that made
it, for a rule to report as evidence.

- :func:`hb_scores`: the Hidiroglou–Berthelot outlier score of each unit's change between a
  period and the one before, judged against every unit compared in that period, so a year in
  which everyone moves (England's push to self-directed support in 2012-13) does not flag
  everyone.
- :func:`opposite_moves`: a count that changes by a large factor while a related count moves
  the other way (Bury 2013-14: direct payments 1,195 → 480, home care 255 → 1,105).
- :func:`out_of_line`: a count far from the unit's own previous years, and a one-year spike
  that comes back (Somerset's direct payments aged 65+: 255 → 870 → 335).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from returns_kit.periods import Period

UNIT, PERIOD, MEASURE, VALUE = "council_code", "period", "measure", "people"


def _previous_periods(periods: pl.Series) -> dict[str, str]:
    """Each period name -> the name of the financial year before it."""
    out = {}
    for text in periods.unique().drop_nulls().to_list():
        period = Period.parse(text)
        if period is None:
            raise ValueError(f"not a period: {text!r}")
        out[text] = str(period.previous())
    return out


def _pairs(frame: pl.DataFrame, keys: Sequence[str], value: str) -> pl.DataFrame:
    """Each row joined to the same unit's row of the period before: previous, current."""
    previous = _previous_periods(frame[PERIOD])
    current = frame.select(*keys, PERIOD, pl.col(value).alias("current")).with_columns(
        pl.col(PERIOD).replace_strict(previous).alias("previous_period")
    )
    before = frame.select(
        *keys, pl.col(PERIOD).alias("previous_period"), pl.col(value).alias("previous")
    )
    return current.join(before, on=[*keys, "previous_period"], how="inner")


def hb_scores(
    frame: pl.DataFrame,
    *,
    value: str = VALUE,
    unit: str = UNIT,
    by: Sequence[str] = (MEASURE,),
    u: float = 0.5,
    a: float = 0.05,
    c: float = 4.0,
    size: str | None = None,
) -> pl.DataFrame:
    """The Hidiroglou–Berthelot score of every unit's change from the previous period.

    For each group of ``by`` and each period t compared with t-1, over the units with a
    positive value in both (zeros and blanks cannot form a ratio and are left out, as in
    the references below):

    - ratio ``r_i = x_i(t) / x_i(t-1)``, and ``r_M`` the median ratio of the group;
    - centred ratio ``s_i = 1 - r_M / r_i`` if ``r_i < r_M``, else ``r_i / r_M - 1``
      (symmetric: halving scores as far below as doubling above);
    - effect ``E_i = s_i * max(x_i(t), x_i(t-1)) ** u``: the size effect, so a large
      council's change counts for more than a small one's (``0 <= u <= 1``; 0 ignores size);
      with ``size`` naming a column, ``x`` in the size effect is that column instead of the
      value (for a rate, the people it is a rate of: a rate's own level is not a size);
    - with ``E_Q1, E_M, E_Q3`` the quartiles of E (linear interpolation, R's default),
      ``d_Q1 = max(E_M - E_Q1, |a * E_M|)`` and ``d_Q3 = max(E_Q3 - E_M, |a * E_M|)``,
      the cut-offs are ``lower = E_M - c * d_Q1`` and ``upper = E_M + c * d_Q3``;
    - ``outlier`` when ``E_i < lower`` or ``E_i > upper``.

    Sources: Hidiroglou, M.A. and Berthelot, J.-M. (1986), "Statistical editing and
    imputation for periodic business surveys", Survey Methodology 12(1), 73-83; as
    implemented in R by univOutl's ``HBmethod`` (D'Orazio; defaults U=0.5, A=0.05, C=4,
    zeros and NAs discarded) and Statistics Norway's KOSTRA ``Hb`` (pU=0.5, pA=0.05,
    default pC=20), and by Statistics Canada's Banff ``outlier`` procedure (HB method).

    Returns one row per unit compared: the ``by`` columns, ``unit``, ``period``,
    ``previous_period``, ``previous``, ``current``, ``ratio``, ``median_ratio``, ``centred``,
    ``effect``, ``e_q1``, ``e_median``, ``e_q3``, ``lower``, ``upper``, ``compared`` (how many
    units the cut-offs were computed over) and ``outlier``.
    """
    if not 0 <= u <= 1:
        raise ValueError(f"u must lie in [0, 1], not {u}")
    keys = [*by, unit]
    group = [*by, PERIOD]
    pairs = _pairs(frame, keys, value).filter((pl.col("previous") > 0) & (pl.col("current") > 0))
    if size is None:
        sized = pl.max_horizontal("previous", "current")
    else:
        sizes = _pairs(frame, keys, size).select(
            *keys,
            PERIOD,
            pl.max_horizontal("previous", "current").alias("_size"),
        )
        pairs = pairs.join(sizes, on=[*keys, PERIOD], how="left")
        sized = pl.col("_size")
    ratio = pl.col("current") / pl.col("previous")
    median_ratio = pl.col("ratio").median().over(group)
    centred = (
        pl.when(pl.col("ratio") < pl.col("median_ratio"))
        .then(1 - pl.col("median_ratio") / pl.col("ratio"))
        .otherwise(pl.col("ratio") / pl.col("median_ratio") - 1)
    )
    weight = sized.cast(pl.Float64).pow(u)

    def quartile(q: float) -> pl.Expr:
        return pl.col("effect").quantile(q, interpolation="linear").over(group)

    spread = (pl.col("e_median") * a).abs()
    scored = (
        pairs.with_columns(ratio.alias("ratio"))
        .with_columns(median_ratio.alias("median_ratio"))
        .with_columns(centred.alias("centred"))
        .with_columns((pl.col("centred") * weight).alias("effect"))
        .with_columns(
            quartile(0.25).alias("e_q1"),
            quartile(0.5).alias("e_median"),
            quartile(0.75).alias("e_q3"),
            pl.len().over(group).alias("compared"),
        )
        .with_columns(
            (
                pl.col("e_median")
                - c * pl.max_horizontal(pl.col("e_median") - pl.col("e_q1"), spread)
            ).alias("lower"),
            (
                pl.col("e_median")
                + c * pl.max_horizontal(pl.col("e_q3") - pl.col("e_median"), spread)
            ).alias("upper"),
        )
        .with_columns(
            ((pl.col("effect") < pl.col("lower")) | (pl.col("effect") > pl.col("upper"))).alias(
                "outlier"
            )
        )
    )
    return scored.select(
        *by,
        unit,
        PERIOD,
        "previous_period",
        "previous",
        "current",
        "ratio",
        "median_ratio",
        "centred",
        "effect",
        "e_q1",
        "e_median",
        "e_q3",
        "lower",
        "upper",
        "compared",
        "outlier",
    ).sort(*by, PERIOD, unit)


def _factor(current: pl.Expr, previous: pl.Expr) -> pl.Expr:
    """How many times larger or smaller: max(current/previous, previous/current)."""
    return pl.max_horizontal(current / previous, previous / current)


def opposite_moves(
    frame: pl.DataFrame,
    *,
    pairs: Sequence[tuple[str, str]] = (("dp_all", "home_care"), ("home_care", "dp_all")),
    ratio: float = 2.0,
    related_ratio: float = 1.25,
    min_count: int = 50,
    value: str = VALUE,
    unit: str = UNIT,
) -> pl.DataFrame:
    """Counts that change by a factor of ``ratio`` or more while a related count moves the
    other way: the pattern of a relabelling (people moved from one line to another) or of a
    reporting error, not of a real change in the service, which would move both or one.

    ``pairs`` lists (count, related) measures; a count is screened when both its values are
    positive and the larger is at least ``min_count`` (counts are rounded to 5, so 10 → 25
    is noise). The related count must move the other way by a factor of ``related_ratio`` or
    more (1.25: a quarter up or a fifth down; a blank or unchanged related count does not
    qualify), so that ordinary drift in the related count does not make a query.

    Returns one row per flagged unit, period and pair: ``unit``, ``period``,
    ``previous_period``, ``measure``, ``previous``, ``current``, ``factor``, ``related``,
    ``related_previous``, ``related_current``, ``related_factor``.
    """
    if ratio <= 1 or related_ratio < 1:
        raise ValueError("ratio must be more than 1 and related_ratio at least 1")
    moves = _pairs(frame, [MEASURE, unit], value)
    flagged = []
    for measure, related in pairs:
        count = moves.filter(pl.col(MEASURE) == measure)
        other = moves.filter(pl.col(MEASURE) == related).select(
            unit,
            PERIOD,
            pl.lit(related).alias("related"),
            pl.col("previous").alias("related_previous"),
            pl.col("current").alias("related_current"),
        )
        joined = count.join(other, on=[unit, PERIOD], how="inner").with_columns(
            _factor(pl.col("current"), pl.col("previous")).alias("factor"),
            _factor(pl.col("related_current"), pl.col("related_previous")).alias("related_factor"),
        )
        direction = (pl.col("current") - pl.col("previous")).sign()
        related_direction = (pl.col("related_current") - pl.col("related_previous")).sign()
        flagged.append(
            joined.filter(
                (pl.col("previous") > 0)
                & (pl.col("current") > 0)
                & (pl.max_horizontal("previous", "current") >= min_count)
                & (pl.col("factor") >= ratio)
                & (direction * related_direction == -1)
                & (pl.col("related_factor") >= related_ratio)
            )
        )
    return (
        pl.concat(flagged)
        .select(
            unit,
            PERIOD,
            "previous_period",
            MEASURE,
            "previous",
            "current",
            "factor",
            "related",
            "related_previous",
            "related_current",
            "related_factor",
        )
        .sort(PERIOD, unit, MEASURE)
    )


def out_of_line(
    frame: pl.DataFrame,
    *,
    measures: Sequence[str] | None = None,
    ratio: float = 2.0,
    min_count: int = 50,
    value: str = VALUE,
    unit: str = UNIT,
) -> pl.DataFrame:
    """Counts out of line with the unit's own previous years, judged with no later data.

    Two kinds, in column ``kind``:

    - ``history``: the count in period t is at least ``ratio`` times larger or smaller than
      both the count of t-1 and the median of the unit's counts in all earlier periods (at
      least two of them): a jump to a level the unit has never been near. The median keeps
      one odd year from moving the yardstick; asking for the jump from t-1 too keeps a
      steady trend (a council doubling its direct payments over three years) from flagging;
    - ``spike``: the count of t-1 was ``ratio`` times away from both t-2 and t in the same
      direction, and t is back within ``ratio`` of t-2: the previous period's figure now
      looks like an artefact and should be queried (Somerset 255 → 870 → 335, found at t).

    Only counts whose compared values are positive and reach ``min_count`` are screened.
    Returns one row per flagged unit, measure and period: ``unit``, ``measure``, ``period``,
    ``kind``, ``current``, ``reference`` (the history median, or the t-2 count for a spike),
    ``spike`` (the t-1 count for a spike, else null), ``factor`` (current or spike against
    reference) and ``history_periods`` (how many earlier periods the reference drew on).
    """
    if ratio <= 1:
        raise ValueError(f"ratio must be more than 1, not {ratio}")
    data = frame.filter(pl.col(value).is_not_null() & (pl.col(value) > 0))
    if measures is not None:
        data = data.filter(pl.col(MEASURE).is_in(list(measures)))
    _previous_periods(data[PERIOD])  # every period is a financial year, or ValueError
    data = data.with_columns(pl.col(PERIOD).str.slice(0, 4).cast(pl.Int64).alias("_year"))
    lagged = data.select(unit, MEASURE, "_year", value)
    one = lagged.select(
        unit, MEASURE, (pl.col("_year") + 1).alias("_year"), pl.col(value).alias("spike")
    )
    two = lagged.select(
        unit, MEASURE, (pl.col("_year") + 2).alias("_year"), pl.col(value).alias("reference")
    )
    history = (
        data.join(data, on=[unit, MEASURE], suffix="_past")
        .filter(pl.col("_year_past") < pl.col("_year"))
        .group_by(unit, MEASURE, PERIOD, "_year")
        .agg(
            pl.col(value).first().alias("current"),
            pl.col(f"{value}_past").median().alias("reference"),
            pl.len().alias("history_periods"),
        )
        .filter(pl.col("history_periods") >= 2)
        .join(one.rename({"spike": "last"}), on=[unit, MEASURE, "_year"])
        .with_columns(
            pl.lit("history").alias("kind"),
            pl.lit(None, dtype=pl.Int64).alias("spike"),
            _factor(pl.col("current"), pl.col("reference")).alias("factor"),
        )
        .filter(
            (pl.col("factor") >= ratio)
            & (_factor(pl.col("current"), pl.col("last")) >= ratio)
            & ((pl.col("current") - pl.col("reference")) * (pl.col("current") - pl.col("last")) > 0)
            & (pl.max_horizontal("current", "reference") >= min_count)
        )
    )
    up = (pl.col("spike") >= ratio * pl.col("reference")) & (
        pl.col("spike") >= ratio * pl.col("current")
    )
    down = (pl.col("spike") * ratio <= pl.col("reference")) & (
        pl.col("spike") * ratio <= pl.col("current")
    )
    spikes = (
        data.rename({value: "current"})
        .join(one, on=[unit, MEASURE, "_year"])
        .join(two, on=[unit, MEASURE, "_year"])
        .filter(
            (up | down)
            & (_factor(pl.col("current"), pl.col("reference")) < ratio)
            & (pl.max_horizontal("current", "reference", "spike") >= min_count)
        )
        .with_columns(
            pl.lit("spike").alias("kind"),
            _factor(pl.col("spike"), pl.col("reference")).alias("factor"),
            pl.lit(2, dtype=pl.UInt32).alias("history_periods"),
            pl.col("reference").cast(pl.Float64),
        )
    )
    columns = [
        unit,
        MEASURE,
        PERIOD,
        "kind",
        "current",
        "reference",
        "spike",
        "factor",
        "history_periods",
    ]
    return pl.concat([history.select(columns), spikes.select(columns)]).sort(
        PERIOD, unit, MEASURE, "kind"
    )
