"""Screening relative to the period (Hidiroglou–Berthelot) and data-quality screens of counts."""

from __future__ import annotations

import math
import statistics

import polars as pl
import pytest

from returns_kit.hscic import ENGLAND, load_activity
from returns_kit.screening import hb_scores

BURY, SOMERSET = "E08000002", "E10000027"


def _panel(rows: dict[str, tuple[int | None, int | None]], measure: str = "dp_all") -> pl.DataFrame:
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


def _by_hand(
    rows: dict[str, tuple[int | None, int | None]], u: float, a: float, c: float
) -> dict[str, tuple[float, float, float, bool]]:
    """unit -> (effect, lower, upper, outlier), from the 1986 paper's formulas."""
    kept = {k: (x0, x1) for k, (x0, x1) in rows.items() if x0 and x1}
    ratios = {k: x1 / x0 for k, (x0, x1) in kept.items()}
    r_m = statistics.median(ratios.values())
    effects = {}
    for k, r in ratios.items():
        s = 1 - r_m / r if r < r_m else r / r_m - 1
        effects[k] = s * max(kept[k]) ** u
    q1, em, q3 = (_quantile(list(effects.values()), p) for p in (0.25, 0.5, 0.75))
    lower = em - c * max(em - q1, abs(a * em))
    upper = em + c * max(q3 - em, abs(a * em))
    return {k: (e, lower, upper, e < lower or e > upper) for k, e in effects.items()}


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
