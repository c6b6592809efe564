"""The aggregate's screens of changes: P010 (Hidiroglou-Berthelot), P011 and P012.

They judge a council's change against every council compared in the period, or against the
council's own earlier periods, so only the aggregate can run them (``validate --previous``
has one pair of returns). The statistics are :mod:`returns_kit.screening`'s; this module
builds their panel from the included returns and turns what they flag into findings whose
evidence carries the numbers.

A council's series runs through a one-to-one successor (Somerset E10000027 to E06000066),
as the period rules' comparisons do, and stops at a series break: no screen compares or
takes history across one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from returns_kit.config import Thresholds
from returns_kit.findings import Finding
from returns_kit.measures import DIRECT_PAYMENTS, ReturnSummary
from returns_kit.periods import Period
from returns_kit.reference import Reference
from returns_kit.rules.catalogue import finding
from returns_kit.screening import hb_scores, opposite_moves, out_of_line

UNIT, PERIOD, MEASURE = "council_code", "period", "measure"

#: P010's headline measures: the three rates are sized by people_total, the people they are
#: rates of (a rate's own level is not a council's size).
HB_MEASURES = ("pb_rate", "choice_rate", "dp_rate", "people_total")
#: P011's (count, related count) pairs: people who move between a direct payment and
#: council-arranged home care, or a council-managed budget, are one population reported on
#: two lines; one line halving while the other rises is a relabelling or a reporting slip.
RELATED_COUNTS = (
    ("direct_payments", "home_care"),
    ("home_care", "direct_payments"),
    ("direct_payments", "council_managed"),
    ("council_managed", "direct_payments"),
)
#: P012's counts, each a council's own series.
SERIES_COUNTS = (
    "people_total",
    "direct_payments",
    "direct_payments/18-64",
    "direct_payments/65+",
    "council_managed",
    "home_care",
)
#: What each measure is, in a message.
LABELS = {
    "pb_rate": "personal budget rate",
    "choice_rate": "choice rate",
    "dp_rate": "direct payment rate",
    "people_total": "people_total",
    "direct_payments": "people on direct payments",
    "direct_payments/18-64": "people aged 18-64 on direct payments",
    "direct_payments/65+": "people aged 65+ on direct payments",
    "council_managed": "people with a council-managed budget",
    "home_care": "people in council-arranged home care",
}
RATES = frozenset({"pb_rate", "choice_rate", "dp_rate"})


@dataclass(frozen=True)
class Panel:
    """The included returns as two tidy frames, one row per series, period and measure.

    ``unit`` is the council's series (its first code in a chain of one-to-one successors,
    and which stretch between series breaks); ``code`` is the council's code that period.
    """

    rates: pl.DataFrame  #: unit, code, period, measure, value (Float64), size (people_total)
    counts: pl.DataFrame  #: unit, code, period, measure, people (Int64)


def _root(code: str, reference: Reference) -> str:
    """The first code of the council's series through one-to-one successors."""
    seen = {code}
    while (earlier := reference.continues(code)) is not None and earlier.gss_code not in seen:
        code = earlier.gss_code
        seen.add(code)
    return code


def _stretch(period: str, breaks: Iterable[str]) -> int:
    """Which stretch between series breaks the period lies in (periods sort as text)."""
    return sum(1 for item in breaks if item <= period)


def _counts(summary: ReturnSummary) -> dict[str, int]:
    totals = summary.counts
    counts = {
        "people_total": totals["people_total"],
        "direct_payments": sum(totals[name] for name in DIRECT_PAYMENTS),
        "council_managed": totals["council_managed"],
        "home_care": sum(
            people
            for (service, arrangement), people in summary.people_by_service.items()
            if service == "HOME_CARE" and arrangement != "DIRECT_PAYMENT"
        ),
        "direct_payments/18-64": 0,
        "direct_payments/65+": 0,
    }
    # Column by column: a polars select per return costs more than the screens themselves.
    budgets = summary.budgets
    bands = budgets.get_column("age_band").to_list()
    for name in DIRECT_PAYMENTS:
        for band, value in zip(bands, budgets.get_column(name).to_list(), strict=True):
            key = f"direct_payments/{band}"
            if key in counts:
                counts[key] += value or 0
    return counts


def build_panel(
    summaries: Mapping[tuple[str, str], ReturnSummary],
    reference: Reference,
    breaks: Iterable[str],
) -> Panel:
    """The screens' panel from the included returns' summaries, by (council code, period)."""
    breaks = tuple(breaks)
    roots: dict[str, str] = {}
    stretches: dict[str, int] = {}
    rate_rows: list[tuple[str, str, str, str, float | None, int]] = []
    count_rows: list[tuple[str, str, str, str, int]] = []
    for (code, period), summary in summaries.items():
        if code not in roots:
            roots[code] = _root(code, reference)
        if period not in stretches:
            stretches[period] = _stretch(period, breaks)
        unit = f"{roots[code]}#{stretches[period]}"
        measures = summary.measures()
        total = summary.counts["people_total"]
        for name in ("pb_rate", "choice_rate", "dp_rate"):
            rate_rows.append((unit, code, period, name, measures.get(name), total))
        rate_rows.append((unit, code, period, "people_total", float(total), total))
        for name, people in _counts(summary).items():
            count_rows.append((unit, code, period, name, people))
    text = pl.String
    rates = pl.DataFrame(
        rate_rows,
        schema={
            UNIT: text,
            "code": text,
            PERIOD: text,
            MEASURE: text,
            "value": pl.Float64,
            "size": pl.Int64,
        },
        orient="row",
    )
    counts = pl.DataFrame(
        count_rows,
        schema={UNIT: text, "code": text, PERIOD: text, MEASURE: text, "people": pl.Int64},
        orient="row",
    )
    return Panel(rates, counts)


def _codes(panel: Panel) -> pl.DataFrame:
    """unit, period -> the council's code that period."""
    return panel.counts.select(UNIT, PERIOD, "code").unique()


def screen(
    panel: Panel, thresholds: Thresholds, compared: Iterable[tuple[str, str]] | None = None
) -> dict[tuple[str, str], list[Finding]]:
    """P010, P011 and P012 findings by (council code, period).

    ``compared``: the (code, period) pairs the period rules compared; a screen's finding
    for any other is dropped (no comparison was made there, and P005 or P006 says why).
    """
    keep = None if compared is None else set(compared)
    found: dict[tuple[str, str], list[Finding]] = {}

    def add(code: str, period: str, item: Finding) -> None:
        if keep is None or (code, period) in keep:
            found.setdefault((code, period), []).append(item)

    codes = _codes(panel)
    hb = hb_scores(
        panel.rates.drop("code"),
        value="value",
        u=thresholds.hb_u,
        a=thresholds.hb_a,
        c=thresholds.hb_c,
        size="size",
    ).filter(pl.col("outlier"))
    for row in hb.join(codes, on=[UNIT, PERIOD]).iter_rows(named=True):
        add(row["code"], row[PERIOD], _p010(row, thresholds))
    moves = opposite_moves(
        panel.counts.drop("code"),
        pairs=RELATED_COUNTS,
        ratio=thresholds.count_move_ratio,
        related_ratio=thresholds.count_related_ratio,
        min_count=thresholds.count_screen_min,
    )
    for row in moves.join(codes, on=[UNIT, PERIOD]).iter_rows(named=True):
        add(row["code"], row[PERIOD], _p011(row))
    lines = out_of_line(
        panel.counts.drop("code"),
        measures=SERIES_COUNTS,
        ratio=thresholds.out_of_line_ratio,
        min_count=thresholds.count_screen_min,
    )
    if not lines.is_empty():
        series = _series(panel.counts, lines)
        for row in lines.join(codes, on=[UNIT, PERIOD]).iter_rows(named=True):
            history = series.get((row[UNIT], row[MEASURE]), {})
            shown = {p: v for p, v in history.items() if p <= row[PERIOD]}
            add(row["code"], row[PERIOD], _p012(row, shown))
    for items in found.values():
        items.sort(key=lambda item: (item.rule, item.scope or ""))
    return found


def _series(counts: pl.DataFrame, lines: pl.DataFrame) -> dict[tuple[str, str], dict[str, int]]:
    """Each flagged unit and measure's counts by period, for P012's evidence."""
    wanted = counts.join(lines.select(UNIT, MEASURE).unique(), on=[UNIT, MEASURE])
    out: dict[tuple[str, str], dict[str, int]] = {}
    for unit, measure, period, people in (
        wanted.select(UNIT, MEASURE, PERIOD, "people").sort(PERIOD).iter_rows()
    ):
        out.setdefault((unit, measure), {})[period] = people
    return out


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _previous(period: str) -> str:
    return str(Period.of(period).previous())


def _p010(row: dict[str, Any], thresholds: Thresholds) -> Finding:
    measure = row[MEASURE]
    previous, current = row["previous"], row["current"]
    if measure == "people_total":
        previous, current = int(previous), int(current)
    params = {
        "measure_label": LABELS[measure],
        "previous": previous,
        "previous_period": row["previous_period"],
        "current": current,
        "ratio": row["ratio"],
        "median_ratio": row["median_ratio"],
        "councils_compared": row["compared"],
        "direction": "rise" if row["effect"] > row["upper"] else "fall",
        "score": row["effect"],
        "lower": row["lower"],
        "upper": row["upper"],
    }
    evidence = {
        "measure": measure,
        "previous_period": row["previous_period"],
        "previous": _round(previous),
        "current": _round(current),
        "ratio": _round(row["ratio"]),
        "median_ratio": _round(row["median_ratio"]),
        "score": _round(row["effect"]),
        "lower": _round(row["lower"]),
        "upper": _round(row["upper"]),
        "councils_compared": row["compared"],
        "c": thresholds.hb_c,
        "u": thresholds.hb_u,
        "a": thresholds.hb_a,
    }
    variant = "rate" if measure in RATES else "count"
    return finding("P010", params, variant=variant, scope=measure, evidence=evidence)


def _p011(row: dict[str, Any]) -> Finding:
    measure, related = row[MEASURE], row["related"]
    params = {
        "measure_label": LABELS[measure],
        "previous": row["previous"],
        "previous_period": row["previous_period"],
        "current": row["current"],
        "related_label": LABELS[related],
        "related_previous": row["related_previous"],
        "related_current": row["related_current"],
    }
    evidence = {
        "measure": measure,
        "previous_period": row["previous_period"],
        "previous": row["previous"],
        "current": row["current"],
        "factor": _round(row["factor"]),
        "related": related,
        "related_previous": row["related_previous"],
        "related_current": row["related_current"],
        "related_factor": _round(row["related_factor"]),
    }
    return finding("P011", params, scope=measure, evidence=evidence)


def _p012(row: dict[str, Any], series: dict[str, int]) -> Finding:
    measure, period = row[MEASURE], row[PERIOD]
    last = _previous(period)
    params: dict[str, Any] = {
        "measure_label": LABELS[measure],
        "current": row["current"],
        "period": period,
        "reference": row["reference"],
        "previous_period": last,
        "series_listed": ", ".join(f"{p} {v:,}" for p, v in series.items()),
    }
    if row["kind"] == "spike":
        params["period_before_spike"] = str(Period.of(last).previous())
        params["spike"] = row["spike"]
        variant = "spike"
    else:
        params["factor"] = row["factor"]
        params["history_periods"] = row["history_periods"]
        params["previous_count"] = series.get(last, 0)
        variant = "level"
    evidence = {
        "measure": measure,
        "kind": row["kind"],
        "current": row["current"],
        "reference": _round(float(row["reference"])),
        "spike": row["spike"],
        "factor": _round(row["factor"]),
        "history_periods": row["history_periods"],
        "series": series,
    }
    return finding("P012", params, variant=variant, scope=measure, evidence=evidence)


def screen_returns(
    summaries: Mapping[tuple[str, str], ReturnSummary],
    reference: Reference,
    thresholds: Thresholds,
    compared: Iterable[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], list[Finding]]:
    """The screens' findings for the included returns: :func:`build_panel` then
    :func:`screen`."""
    if not summaries:
        return {}
    panel = build_panel(summaries, reference, thresholds.series_breaks)
    return screen(panel, thresholds, compared)
