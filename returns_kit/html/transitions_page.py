"""The report's funnel sections: councils' changes in rates set against funnel limits, and the
client-level transitions (budget-type moves and the label-only share of them).

Drawn from the tables the run writes: the council table (after disclosure control with
--publish, so a council whose counts are not published is left out of the funnels) and the
``transitions`` and ``label_only`` tables (which a published release does not have).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from returns_kit.funnel import Z95, Z998, Funnel, change_funnel, proportion_funnel
from returns_kit.html.charts import FUNNEL_POINTS, FunnelPoint, funnel_chart
from returns_kit.html.render import chart
from returns_kit.measures import CHOICE, PERSONAL_BUDGETS
from returns_kit.periods import Period
from returns_kit.transitions import BUDGET_CODES

#: The changes set in a funnel: the rate, its heading, and the counts of its numerator.
CHANGES = (
    ("pb_rate", "Personal budget rate", PERSONAL_BUDGETS),
    ("choice_rate", "Choice rate", CHOICE),
)
#: At most this many flagged councils are named on a chart (the furthest out); the table
#: beneath it lists every one.
LABELS_MAX = 12
#: Points along each limit curve.
CURVE_POINTS = 80
#: The budget types as a reader knows them, for the transition matrices.
BUDGET_NAMES = {
    "DP_SELF_MANAGED": "Direct payment (self-managed)",
    "DP_PART": "Part direct payment",
    "THIRD_PARTY_MANAGED": "Managed by a third party",
    "ISF": "Individual Service Fund",
    "COUNCIL_MANAGED": "Council-managed",
    "NO_PERSONAL_BUDGET": "No personal budget",
}


def _curves(
    funnel: Funnel, sizes: Sequence[float]
) -> list[tuple[float, float, float, float, float]]:
    """The limits along a geometric run of sizes from a little below the smallest council to
    a little above the largest."""
    low, high = min(sizes) * 0.8, max(sizes) * 1.2
    rows = []
    for step in range(CURVE_POINTS):
        size = low * (high / low) ** (step / (CURVE_POINTS - 1))
        rows.append((size, *funnel.limits_at(size, Z95), *funnel.limits_at(size, Z998)))
    return rows


def _outside(outside_95: bool | None, outside_998: bool | None) -> int:
    return 2 if outside_998 else 1 if outside_95 else 0


def _labelled(units: list[dict[str, Any]]) -> set[int]:
    """The flagged (outside 99.8%) units to name on the chart: the furthest out first."""
    flagged = [i for i, unit in enumerate(units) if unit["level"] == 2]
    flagged.sort(key=lambda i: -abs(units[i]["z"] or 0.0))
    return set(flagged[:LABELS_MAX])


def _flag_rules(tables: dict[str, pl.DataFrame]) -> dict[tuple[str, str], list[str]]:
    """The period rules each council-period was flagged by (queries and warnings)."""
    flags = tables.get("flags")
    found: dict[tuple[str, str], list[str]] = {}
    if flags is None:
        return found
    for code, period, rule, severity in flags.select(
        "council_code", "period", "rule", "severity"
    ).iter_rows():
        if severity != "info" and rule not in found.setdefault((code, period), []):
            found[(code, period)].append(rule)
    return found


def _count(row: dict[str, Any], names: Sequence[str]) -> int | None:
    total = 0
    for name in names:
        value = row.get(name)
        if value is None:
            return None  # not published
        total += int(value)
    return total


def change_funnels(
    tables: dict[str, pl.DataFrame], periods: list[str], breaks: Sequence[str]
) -> list[dict[str, Any]]:
    """For each pair of consecutive periods (none across a series break), a funnel of every
    council's change in the personal budget rate and in the choice rate."""
    councils = tables["councils"]
    flagged_by = _flag_rules(tables)
    out = []
    for period in periods:
        parsed = Period.parse(period)
        before_period = str(parsed.previous()) if parsed else None
        if before_period not in periods or period in breaks:
            continue
        before = {
            row["council_code"]: row
            for row in councils.filter(pl.col("period") == before_period).iter_rows(named=True)
        }
        after = {
            row["council_code"]: row
            for row in councils.filter(pl.col("period") == period).iter_rows(named=True)
        }
        charts = []
        for column, title, parts in CHANGES:
            units = []
            for code in sorted(set(before) & set(after)):
                b, a = before[code], after[code]
                eb, ea = _count(b, parts), _count(a, parts)
                nb, na = b.get("people_total"), a.get("people_total")
                if None in (eb, ea, nb, na) or not nb or not na:
                    continue  # not published, or no people
                units.append(
                    {"code": code, "name": a["council_name"] or code, "counts": (eb, nb, ea, na)}
                )
            if len(units) < 2:
                continue
            funnel = change_funnel(
                *(list(c) for c in zip(*(u["counts"] for u in units), strict=True))
            )
            if funnel is None:
                continue
            for unit, placed in zip(units, funnel.units, strict=True):
                eb, nb, ea, na = unit["counts"]
                unit.update(
                    before=eb / nb,
                    after=ea / na,
                    change=placed.value,
                    z=placed.z,
                    size=placed.size,
                    lower_998=placed.lower_998,
                    upper_998=placed.upper_998,
                    level=_outside(placed.outside_95, placed.outside_998),
                    rules=", ".join(flagged_by.get((unit["code"], period), [])),
                )
            drawable = [u for u in units if u["size"] is not None]
            if not drawable:
                continue
            named = _labelled(drawable)
            points = [
                FunnelPoint(u["size"], u["change"], u["level"], u["name"] if i in named else None)
                for i, u in enumerate(drawable)
            ]
            heading = f"{title}: change from {before_period} to {period}"
            svg = funnel_chart(
                heading,
                points,
                funnel.target,
                _curves(funnel, [u["size"] for u in drawable]),
                x_label="people in the council (effective number over the two periods)",
                change=True,
            )
            flagged = sorted((u for u in drawable if u["level"] == 2), key=lambda u: -abs(u["z"]))
            charts.append(
                {
                    "id": f"change-{column}-{period}",
                    "title": heading,
                    "svg": chart(svg),
                    "target": funnel.target,
                    "councils": len(drawable),
                    "outside_95": sum(1 for u in drawable if u["level"] >= 1),
                    "outside_998": len(flagged),
                    "phi": funnel.phi,
                    "tau": math.sqrt(funnel.tau2),
                    "flagged": flagged,
                    "unnamed": max(0, len(flagged) - LABELS_MAX),
                }
            )
        if charts:
            out.append({"before": before_period, "period": period, "charts": charts})
    return out


def label_only_funnels(tables: dict[str, pl.DataFrame]) -> list[dict[str, Any]] | None:
    """For each period with client-level transitions: the funnel of councils' label-only
    rates, their rows of the label_only table, and each council's transition matrix. None
    when the run has no such tables (a published release)."""
    label_only, transitions = tables.get("label_only"), tables.get("transitions")
    if label_only is None or transitions is None:
        return None
    out = []
    for period in sorted(label_only["period"].unique().to_list()):
        rows = label_only.filter(pl.col("period") == period).sort("council_name", "council_code")
        councils = rows.to_dicts()
        moved = [row for row in councils if row["moves"]]
        svg = None
        funnel = proportion_funnel(
            [row["label_only_moves"] for row in moved], [row["moves"] for row in moved]
        )
        if funnel is not None and moved:
            points = [
                FunnelPoint(
                    row["moves"],
                    row["label_only_rate"],
                    _outside(row["outside_95"], row["outside_998"]),
                    (row["council_name"] or row["council_code"]) if row["outside_998"] else None,
                )
                for row in moved
            ]
            heading = (
                f"Label-only share of budget-type moves, {councils[0]['period_before']} to {period}"
            )
            svg = chart(
                funnel_chart(
                    heading,
                    points,
                    funnel.target,
                    _curves(funnel, [row["moves"] for row in moved]),
                    x_label="people who changed budget type",
                )
            )
        out.append(
            {
                "period": period,
                "before": councils[0]["period_before"],
                "svg": svg,
                "councils": councils,
                "matrices": _matrices(transitions.filter(pl.col("period") == period)),
            }
        )
    return out


def _matrices(transitions: pl.DataFrame) -> list[dict[str, Any]]:
    """Each council's 6 x 6 matrix: people by budget type before (rows) and after."""
    out = []
    for (code, name), frame in sorted(
        transitions.group_by("council_code", "council_name"), key=lambda item: str(item[0])
    ):
        cells = {
            (row["budget_type_before"], row["budget_type_after"]): row
            for row in frame.iter_rows(named=True)
        }
        out.append(
            {
                "council_code": code,
                "council_name": name or code,
                "rows": [
                    {
                        "name": BUDGET_NAMES[before],
                        "cells": [cells.get((before, after), {}) for after in BUDGET_CODES],
                    }
                    for before in BUDGET_CODES
                ],
            }
        )
    return out


def transitions_context(
    tables: dict[str, pl.DataFrame], periods: list[str], breaks: Sequence[str]
) -> dict[str, Any]:
    """What ``_transitions.html.j2`` shows."""
    return {
        "changes": change_funnels(tables, periods, breaks) if periods else [],
        "label_only": label_only_funnels(tables),
        "budget_names": [BUDGET_NAMES[code] for code in BUDGET_CODES],
        "colours": [colour for colour, _, _ in FUNNEL_POINTS],
        "z95": Z95,
        "z998": Z998,
    }
