"""Screening relative to the period (Hidiroglou–Berthelot) and data-quality screens of counts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping

import polars as pl
import pytest

from returns_kit.hscic import ENGLAND, load_activity
from returns_kit.screening import hb_scores, opposite_moves, out_of_line

BURY, SOMERSET = "E08000002", "E10000027"


def _panel(
    rows: Mapping[str, tuple[int | None, int | None]], measure: str = "dp_all"
) -> pl.DataFrame:
    """A tidy frame of units with a count in 2011-12 and in 2012-13."""
    records = []
    for unit, (before, after) in rows.items():
        records.append((unit, "2011-12", measure, before))
        records.append((unit, "2012-13", measure, after))
    return pl.DataFrame(
        records,
        schema={"council_code": pl.Utf8, "period": pl.Utf8, "measure": pl.Utf8, "people": pl.Int64},
        orient="row",
    )


def _quantile(values: list[float], p: float) -> float:
    """R's default (type 7) quantile, written out."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def hb_by_hand(
    values: dict[str, tuple[float, float]],
    sizes: dict[str, tuple[int, int]],
    u: float,
    a: float,
    c: float,
) -> dict[str, tuple[float, float, float]]:
    """unit -> (effect, lower, upper): Hidiroglou and Berthelot (1986), the size being the
    larger of the unit's two people_totals."""
    ratios = {k: x1 / x0 for k, (x0, x1) in values.items()}
    r_m = statistics.median(ratios.values())
    effects = {}
    for k, r in ratios.items():
        s = 1 - r_m / r if r < r_m else r / r_m - 1
        effects[k] = s * max(sizes[k]) ** u
    q1, em, q3 = (_quantile(list(effects.values()), p) for p in (0.25, 0.5, 0.75))
    lower = em - c * max(em - q1, abs(a * em))
    upper = em + c * max(q3 - em, abs(a * em))
    return {k: (e, lower, upper) for k, e in effects.items()}


def _by_hand(
    rows: dict[str, tuple[int | None, int | None]], u: float, a: float, c: float
) -> dict[str, tuple[float, float, float, bool]]:
    """unit -> (effect, lower, upper, outlier), from the 1986 paper's formulas, a count being
    its own size."""
    kept = {k: (x0, x1) for k, (x0, x1) in rows.items() if x0 and x1}
    found = hb_by_hand({k: (float(x0), float(x1)) for k, (x0, x1) in kept.items()}, kept, u, a, c)
    return {k: (e, lower, upper, e < lower or e > upper) for k, (e, lower, upper) in found.items()}


PANEL: dict[str, tuple[int | None, int | None]] = {
    "A": (100, 110),
    "B": (200, 230),
    "C": (400, 420),
    "D": (1000, 1150),
    "E": (50, 60),
    "F": (3000, 3200),
    "G": (800, 2400),  # trebles: far from the others, and large
    "H": (120, 40),  # falls to a third
    "I": (0, 30),  # no ratio from zero: left out
    "J": (300, None),  # blank: left out
    "K": (650, 700),
}


@pytest.mark.parametrize(("u", "a", "c"), [(0.5, 0.05, 4.0), (0.0, 0.05, 4.0), (1.0, 0.1, 7.0)])
def test_hb_scores_match_the_formula_written_out(u: float, a: float, c: float) -> None:
    expected = _by_hand(PANEL, u, a, c)
    got = hb_scores(_panel(PANEL), u=u, a=a, c=c)
    assert sorted(got["council_code"]) == sorted(expected)
    assert set(got["compared"]) == {len(expected)}
    for row in got.iter_rows(named=True):
        effect, lower, upper, outlier = expected[row["council_code"]]
        assert row["effect"] == pytest.approx(effect)
        assert row["lower"] == pytest.approx(lower)
        assert row["upper"] == pytest.approx(upper)
        assert row["outlier"] is outlier


def test_hb_flags_the_trebling_and_the_fall_on_the_small_panel() -> None:
    got = hb_scores(_panel(PANEL))
    assert sorted(got.filter(pl.col("outlier"))["council_code"]) == ["G", "H"]


def test_a_period_in_which_everyone_rises_flags_only_who_rose_differently() -> None:
    """The point of screening relative to the period: a national push is not 150 flags."""
    rows = {
        f"U{i:02d}": (100 + 10 * i, round((100 + 10 * i) * (1.5 + 0.01 * (i % 5))))
        for i in range(30)
    }
    rows["ODD"] = (400, 410)  # stood still while everyone rose by half
    got = hb_scores(_panel(rows))
    assert got.filter(pl.col("outlier"))["council_code"].to_list() == ["ODD"]
    assert got["median_ratio"][0] == pytest.approx(1.52, abs=0.01)


def test_hb_compares_each_measure_and_period_on_its_own() -> None:
    frame = pl.concat(
        [_panel(PANEL, "dp_all"), _panel({"A": (10, 20), "B": (10, 20), "C": (10, 20)}, "meals")]
    )
    got = hb_scores(frame)
    meals = got.filter(pl.col("measure") == "meals")
    assert meals["compared"].to_list() == [3, 3, 3]
    assert not meals["outlier"].any()
    assert got.filter(pl.col("measure") == "dp_all")["compared"][0] == len(
        _by_hand(PANEL, 0.5, 0.05, 4)
    )


def test_hb_rejects_an_exponent_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="u must lie"):
        hb_scores(_panel(PANEL), u=1.5)


def _councils() -> pl.DataFrame:
    return load_activity().filter(pl.col("council_code") != ENGLAND)


def test_hb_on_the_real_data_finds_bury_and_somerset() -> None:
    outliers = hb_scores(_councils()).filter(pl.col("outlier"))
    found = set(outliers.select("council_code", "measure", "period").iter_rows())
    assert (BURY, "dp_all", "2013-14") in found
    assert (BURY, "home_care", "2013-14") in found
    assert (SOMERSET, "dp_65_plus", "2012-13") in found
    assert (SOMERSET, "dp_65_plus", "2013-14") in found


def _series(rows: list[tuple[str, str, str, int | None]]) -> pl.DataFrame:
    """(unit, measure, period, people) rows as a tidy frame."""
    return pl.DataFrame(
        [(unit, period, measure, people) for unit, measure, period, people in rows],
        schema={
            "council_code": pl.Utf8,
            "period": pl.Utf8,
            "measure": pl.Utf8,
            "people": pl.Int64,
        },
        orient="row",
    )


def _two_counts(dp: tuple[int, int], hc: tuple[int, int]) -> pl.DataFrame:
    return _series(
        [
            ("X", "dp_all", "2012-13", dp[0]),
            ("X", "dp_all", "2013-14", dp[1]),
            ("X", "home_care", "2012-13", hc[0]),
            ("X", "home_care", "2013-14", hc[1]),
        ]
    )


@pytest.mark.parametrize(
    ("dp", "hc", "flagged"),
    [
        ((1195, 480), (255, 1105), ["dp_all", "home_care"]),  # Bury: both cross the ratio
        ((1000, 400), (1000, 1300), ["dp_all"]),  # home care up by 30%: over 1.25
        ((1000, 400), (1000, 1100), []),  # home care up by 10%: drift, not a query
        ((1000, 400), (1000, 500), []),  # both fall: a real change, not a relabelling
        ((1000, 600), (200, 900), ["home_care"]),  # dp down by 1.67 only: home care's query
        ((40, 10), (1000, 1500), []),  # 40 -> 10 is under min_count
    ],
)
def test_opposite_moves(dp: tuple[int, int], hc: tuple[int, int], flagged: list[str]) -> None:
    got = opposite_moves(_two_counts(dp, hc))
    assert got["measure"].to_list() == flagged


def test_opposite_moves_carries_both_numbers_as_evidence() -> None:
    row = opposite_moves(_two_counts((1195, 480), (255, 1105))).row(0, named=True)
    assert row["previous"] == 1195
    assert row["current"] == 480
    assert row["related_previous"] == 255
    assert row["related_current"] == 1105
    assert row["factor"] == pytest.approx(1195 / 480)
    assert row["related_factor"] == pytest.approx(1105 / 255)


def test_opposite_moves_ratio_is_configurable() -> None:
    frame = _two_counts((1000, 600), (1000, 1500))
    assert opposite_moves(frame).height == 0
    assert opposite_moves(frame, ratio=1.5)["measure"].to_list() == ["dp_all", "home_care"]


def _history(values: list[int | None]) -> pl.DataFrame:
    periods = ["2009-10", "2010-11", "2011-12", "2012-13", "2013-14"]
    return _series([("X", "dp_65_plus", p, v) for p, v in zip(periods, values, strict=True)])


def test_a_spike_that_returns_is_found_twice_when_it_happens_and_when_it_returns() -> None:
    got = out_of_line(_history([None, 275, 255, 870, 335]))  # Somerset, dp 65+
    assert got.select("period", "kind").rows() == [("2012-13", "history"), ("2013-14", "spike")]
    spike = got.row(1, named=True)
    assert (spike["reference"], spike["spike"], spike["current"]) == (255, 870, 335)
    history = got.row(0, named=True)
    assert history["reference"] == 265  # the median of 275 and 255
    assert history["history_periods"] == 2


def test_a_steady_trend_is_not_out_of_line() -> None:
    assert out_of_line(_history([385, 735, 1030, 1195, 1400])).height == 0  # Bury's rise


def test_a_fall_that_stays_down_is_a_history_query_not_a_spike() -> None:
    got = out_of_line(_history([800, 820, 810, 300, 310]))
    assert got.select("period", "kind").rows() == [("2012-13", "history")]


def test_small_counts_are_not_screened() -> None:
    assert out_of_line(_history([10, 10, 10, 40, 10])).height == 0
    assert out_of_line(_history([10, 10, 10, 40, 10]), min_count=20).height == 2


def test_the_real_artefacts_raise_the_data_quality_screens() -> None:
    councils = _councils()
    moves = set(opposite_moves(councils).select("council_code", "period", "measure").iter_rows())
    assert (BURY, "2013-14", "dp_all") in moves
    assert (BURY, "2013-14", "home_care") in moves
    lines = set(
        out_of_line(councils).select("council_code", "measure", "period", "kind").iter_rows()
    )
    assert (SOMERSET, "dp_65_plus", "2012-13", "history") in lines
    assert (SOMERSET, "dp_65_plus", "2013-14", "spike") in lines
    assert (BURY, "home_care", "2013-14", "history") in lines


def _flagged_per_period(frame: pl.DataFrame) -> dict[str, int]:
    counts = frame.group_by("period").agg(pl.col("council_code").n_unique())
    return dict(counts.sort("period").iter_rows())


def test_the_data_quality_screens_stay_selective_on_the_real_data() -> None:
    """Councils flagged per period on HSCIC's real counts (152 councils): a handful, not a pile.

    Pinned so that a change to the screens' defaults shows its cost here.
    """
    councils = _councils()
    assert _flagged_per_period(opposite_moves(councils)) == {
        "2010-11": 6,
        "2011-12": 2,
        "2013-14": 1,
    }
    headline = out_of_line(councils, measures=["dp_all", "dp_18_64", "dp_65_plus", "home_care"])
    assert _flagged_per_period(headline) == {"2011-12": 12, "2012-13": 11, "2013-14": 7}
