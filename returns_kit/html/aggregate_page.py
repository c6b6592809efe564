"""The national page of an aggregate run: trends, the spread across councils, flags, coverage.

Built only from the tables the run writes (after disclosure control, with --publish), so
the page never shows a figure that the tables do not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from returns_kit.html.charts import (
    ENGLAND_COLOUR,
    REGION_COLOURS,
    REGION_MARKERS,
    Point,
    Series,
    line_chart,
    spread_chart,
)
from returns_kit.html.render import chart, render
from returns_kit.html.transitions_page import transitions_context
from returns_kit.rules.catalogue import RULES

#: The rates drawn over time, with their headings; nominal_rate only where returns had Clients.
TRENDS = (
    ("pb_rate", "Personal budget rate"),
    ("choice_rate", "Choice rate (budgets the person directs)"),
    ("council_managed_share", "Council-managed share of personal budgets"),
    ("nominal_rate", "Nominal budget rate (returns with a Clients sheet)"),
)
SPREADS = (("pb_rate", "Personal budget rate"), ("choice_rate", "Choice rate"))
ENGLAND_COLUMNS = (
    ("councils_included", "Councils", "count"),
    ("people_total", "People", "count"),
    ("pb_rate", "Personal budget rate", "rate"),
    ("dp_rate", "Direct payment rate", "rate"),
    ("choice_rate", "Choice rate", "rate"),
    ("council_managed_share", "Council-managed share", "rate"),
    ("block_contract_share", "Block-contract share", "rate"),
    ("nominal_rate", "Nominal budget rate", "rate"),
)
#: The flag columns shown as evidence, with how to show each.
EVIDENCE = (
    ("pb_rate_before", "Personal budget rate before", "rate"),
    ("pb_rate_after", "Personal budget rate after", "rate"),
    ("choice_rate_change", "Change in choice rate", "points"),
    ("service_shift", "Service mix shift (0 same, 1 all different)", "decimal"),
    ("block_share_before", "Block-contract share before", "rate"),
    ("block_share_after", "Block-contract share after", "rate"),
    ("relabelled_clients", "Clients relabelled", "count"),
    ("pb_change_rank", "Rank of the rise among councils", "count"),
    ("councils_compared", "Councils compared", "count"),
    ("pb_change_robust_z", "Robust z-score of the rise", "decimal"),
)
REPORT_NAME = "report.html"
#: A national or regional nominal rate is drawn only where at least this share of its
#: councils sent a Clients sheet (it is always in the tables, with its coverage).
NOMINAL_COVERAGE_MIN = 0.5
#: A flagged council's lines, and its region's, in the flag charts and their key.
FLAG_COUNCIL_COLOUR, FLAG_REGION_COLOUR = "#b00020", "#555555"
STATUSES = ("included", "excluded", "conflict", "missing", "skipped")


#: The spread chart's marker shapes as characters, for the page's key.
MARKER_SYMBOLS = {
    "o": "●",
    "s": "■",
    "^": "▲",
    "D": "◆",
    "v": "▼",
    "P": "✚",
    "X": "✖",
    "<": "◀",
    ">": "▶",
    "h": "⬢",
}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    colour: str
    marker: str  #: matplotlib's marker code, drawn on the region's lines and points
    symbol: str  #: the same shape as a character, for the page's key


def _periods(tables: dict[str, pl.DataFrame]) -> list[str]:
    return sorted(str(p) for p in tables["england"]["period"].unique().to_list())


def _regions(tables: dict[str, pl.DataFrame]) -> list[Region]:
    pairs = tables["regions"].select("region_code", "region_name").unique().sort("region_code")
    return [
        Region(
            code,
            name,
            REGION_COLOURS[index % len(REGION_COLOURS)],
            REGION_MARKERS[index % len(REGION_MARKERS)],
            MARKER_SYMBOLS[REGION_MARKERS[index % len(REGION_MARKERS)]],
        )
        for index, (code, name) in enumerate(pairs.iter_rows())
    ]


def _series(frame: pl.DataFrame, periods: Sequence[str], column: str) -> list[float | None]:
    by_period = dict(zip(frame["period"].to_list(), frame[column].to_list(), strict=True))
    return [by_period.get(period) for period in periods]


def _nominal_drawn(frame: pl.DataFrame, periods: Sequence[str]) -> list[float | None]:
    """A national or regional nominal rate for each period, or None (no line) where fewer
    than half of its councils sent a Clients sheet: 2 councils of 152 are not England."""
    rows = {row["period"]: row for row in frame.iter_rows(named=True)}
    drawn: list[float | None] = []
    for period in periods:
        row = rows.get(period)
        drawn.append(row["nominal_rate"] if row is not None and _covered(row) else None)
    return drawn


def _covered(row: dict[str, Any]) -> bool:
    with_clients, included = (
        row.get("councils_with_clients") or 0,
        row.get("councils_included") or 0,
    )
    return included > 0 and with_clients >= NOMINAL_COVERAGE_MIN * included


def _trend_charts(
    tables: dict[str, pl.DataFrame],
    periods: list[str],
    regions: list[Region],
    breaks: Sequence[str],
) -> list[dict[str, Any]]:
    charts = []
    for column, title in TRENDS:
        values = _nominal_drawn if column == "nominal_rate" else None

        def series_of(frame: pl.DataFrame, column: str = column, values: Any = values) -> Any:
            return values(frame, periods) if values else _series(frame, periods, column)

        england = series_of(tables["england"])
        # Each region's line has its marker, so the lines can be told apart without colour;
        # England's is the thick black one with none.
        lines = [
            Series(
                region.name,
                series_of(tables["regions"].filter(pl.col("region_code") == region.code)),
                colour=region.colour,
                width=1.0,
                marker=region.marker,
            )
            for region in regions
        ]
        if all(value is None for value in england) and all(
            value is None for line in lines for value in line.values
        ):
            charts.append({"title": title, "svg": None, "column": column})
            continue
        series = [Series("England", england, ENGLAND_COLOUR, width=2.6), *lines]
        charts.append(
            {
                "title": title,
                "column": column,
                "svg": chart(line_chart(title, periods, series, breaks=breaks)),
            }
        )
    return charts


def _nominal_coverage(tables: dict[str, pl.DataFrame], periods: list[str]) -> dict[str, Any]:
    """How many councils the nominal rate stands on, by period, and each council's own."""
    england = {row["period"]: row for row in tables["england"].iter_rows(named=True)}
    by_period = [
        {
            "period": period,
            "with_clients": england[period].get("councils_with_clients") or 0,
            "included": england[period]["councils_included"],
            "drawn": _covered(england[period]),
        }
        for period in periods
        if period in england
    ]
    councils = [
        {**row, "adjusted_pb_rate": row.get("adjusted_pb_rate")}
        for row in tables["councils"]
        .filter(pl.col("nominal_rate").is_not_null())
        .sort("council_name", "council_code", "period")
        .iter_rows(named=True)
    ]
    counts = {(c["with_clients"], c["included"]) for c in by_period}
    if len(counts) == 1:
        ((with_clients, included),) = counts
        said = f"{with_clients:,} of {included:,} did in every period"
    else:
        said = "; ".join(
            f"{c['with_clients']:,} of {c['included']:,} did in {c['period']}" for c in by_period
        )
    return {
        "by_period": by_period,
        "said": said,
        "minimum": NOMINAL_COVERAGE_MIN,
        "councils": councils,
    }


def _spreads(
    tables: dict[str, pl.DataFrame],
    periods: list[str],
    regions: list[Region],
    breaks: Sequence[str],
) -> list[dict[str, Any]]:
    councils = tables["councils"]
    group_of = {region.code: index for index, region in enumerate(regions)}
    england = tables["england"]
    out = []
    for column, title in SPREADS:
        points = [
            Point(periods.index(period), value, group_of.get(region, len(regions)), code)
            for period, code, region, value in councils.select(
                "period", "council_code", "region_code", column
            ).iter_rows()
            if value is not None and period in periods
        ]
        medians = _series(england, periods, f"{column}_median")
        svg = spread_chart(
            f"{title}: every council, by period",
            periods,
            [region.name for region in regions],
            points,
            medians,
            breaks=breaks,
        )
        rows = [
            {
                "period": period,
                "councils": sum(1 for p in points if p.period_index == index),
                "min": low,
                "median": mid,
                "max": high,
                "range": None if low is None or high is None else high - low,
            }
            for index, (period, low, mid, high) in enumerate(
                zip(
                    periods,
                    _series(england, periods, f"{column}_min"),
                    medians,
                    _series(england, periods, f"{column}_max"),
                    strict=True,
                )
            )
        ]
        out.append({"title": title, "column": column, "svg": chart(svg), "rows": rows})
    return out


def _evidence(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each evidence column that any of the council's flags for the period carries."""
    shown = []
    for column, label, kind in EVIDENCE:
        value = next((row[column] for row in rows if row.get(column) is not None), None)
        if value is not None:
            shown.append({"label": label, "value": value, "kind": kind})
    return shown


def _flag_chart(
    council_code: str,
    council_name: str,
    flagged_period: str,
    tables: dict[str, pl.DataFrame],
    periods: list[str],
    breaks: Sequence[str],
) -> tuple[str | None, bool]:
    """The council's rates against its region's, and whether it drew the adjusted rate."""
    councils = tables["councils"].filter(pl.col("council_code") == council_code)
    if councils.is_empty():
        return None, False
    # The council's region in its latest period (a council keeps its region in practice).
    region_code, region_name = councils.sort("period").select("region_code", "region_name").row(-1)
    region = tables["regions"].filter(pl.col("region_code") == region_code)
    series = [
        Series(
            f"{council_name}: personal budget rate",
            _series(councils, periods, "pb_rate"),
            FLAG_COUNCIL_COLOUR,
            width=2.0,
            marker="o",
        ),
        Series(
            f"{council_name}: choice rate",
            _series(councils, periods, "choice_rate"),
            FLAG_COUNCIL_COLOUR,
            width=1.2,
            dashes="--",
            marker="s",
        ),
    ]
    adjusted = (
        _series(councils, periods, "adjusted_pb_rate")
        if "adjusted_pb_rate" in councils.columns
        else []
    )
    if any(value is not None for value in adjusted):
        series.append(
            Series(
                f"{council_name}: personal budget rate counting nominal budgets as none",
                adjusted,
                FLAG_COUNCIL_COLOUR,
                width=1.2,
                dashes=":",
                marker="^",
            )
        )
    if region_name:
        series += [
            Series(
                f"{region_name}: personal budget rate",
                _series(region, periods, "pb_rate"),
                FLAG_REGION_COLOUR,
                width=1.4,
            ),
            Series(
                f"{region_name}: choice rate",
                _series(region, periods, "choice_rate"),
                FLAG_REGION_COLOUR,
                width=1.0,
                dashes="--",
            ),
        ]
    title = f"{council_name} against {region_name or 'its region'}, flagged in {flagged_period}"
    svg = line_chart(title, periods, series, breaks=breaks, size=(5.2, 2.8))
    return svg, any(value is not None for value in adjusted)


def _findings_of(tables: dict[str, pl.DataFrame]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every finding of each included return, by council and period, worst first."""
    findings = tables.get("findings")
    if findings is None or findings.is_empty():
        return {}
    included = tables["manifest"].filter(pl.col("status") == "included").select("path")
    order = {"error": 0, "query": 1, "warning": 2, "info": 3}
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in findings.join(included, on="path", how="semi").iter_rows(named=True):
        grouped.setdefault((row["council_code"], row["period"]), []).append(row)
    for rows in grouped.values():
        rows.sort(key=lambda row: (order.get(row["severity"], 4), row["rule"]))
    return grouped


def _more_evidence(
    findings: list[dict[str, Any]], council: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """What the card's other findings and the council's own measures add to the evidence:
    the nominal budgets (C007) and the personal budget rate without them."""
    shown = []
    for row in findings:
        if row["rule"] == "C007" and row.get("evidence"):
            evidence = json.loads(row["evidence"])
            if evidence.get("nominal") is not None and evidence.get("council_managed"):
                shown.append(
                    {
                        "label": "Council-managed budgets that are nominal (C007)",
                        "value": f"{evidence['nominal']:,} of {evidence['council_managed']:,} "
                        f"({evidence['nominal'] / evidence['council_managed']:.1%})",
                        "kind": "text",
                    }
                )
    if council is not None and council.get("adjusted_pb_rate") is not None:
        # Beside "Personal budget rate after": the same rate with the nominal budgets out.
        shown.append(
            {
                "label": "Personal budget rate after, counting nominal budgets as none",
                "value": council["adjusted_pb_rate"],
                "kind": "rate",
            }
        )
    return shown


def _flags(
    tables: dict[str, pl.DataFrame], periods: list[str], breaks: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Flags with evidence, grouped by council and period, and the notices (info) apart.

    A card holds every finding of that council's return for the period (a C007 on nominal
    budgets says as much about a rise as the flags do) and the adjusted rate."""
    flags = tables["flags"].sort("period", "council_code", "rule")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    notices: dict[tuple[str, str, str], list[str]] = {}
    for row in flags.iter_rows(named=True):
        if row["severity"] == "info":
            key = (row["period"], row["rule"], _notice_reason(row["message"]))
            notices.setdefault(key, []).append(row["council_name"] or row["council_code"])
            continue
        groups.setdefault((row["council_code"], row["period"]), []).append(row)
    findings = _findings_of(tables)
    councils = {
        (row["council_code"], row["period"]): row
        for row in tables["councils"].iter_rows(named=True)
    }
    cards = []
    for (code, period), rows in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0])):
        name = rows[0]["council_name"] or code
        rank = rows[0].get("review_rank")
        # A chart costs tens of milliseconds to draw: a year like 2012-13's push flags 80 and
        # more councils, so only those in the review list above get one; the rest keep their
        # findings and evidence, and say where they stand.
        charted = rank is not None and rank <= REVIEW_ROWS
        svg, adjusted = (
            _flag_chart(code, name, period, tables, periods, breaks) if charted else (None, False)
        )
        flagged = {row["rule"] for row in rows}
        others = [row for row in findings.get((code, period), []) if row["rule"] not in flagged]
        evidence = _evidence(rows) + _more_evidence(others, councils.get((code, period)))
        cards.append(
            {
                "anchor": f"flag-{code}-{period}",
                "council_code": code,
                "council_name": name,
                "period": period,
                "flags": [
                    {
                        "rule": row["rule"],
                        "rule_name": RULES[row["rule"]].name if row["rule"] in RULES else "",
                        "severity": row["severity"],
                        "explained": row["explained"],
                        "message": row["message"],
                        "where": row.get("sheet") or "",
                    }
                    for row in [*rows, *others]
                ],
                "evidence": evidence,
                "svg": chart(svg) if svg else None,
                "adjusted": adjusted,
                "rank": rank,
                "charted": charted,
            }
        )
    notice_rows = [
        {
            "period": period,
            "rule": rule,
            "rule_name": RULES[rule].name if rule in RULES else "",
            "reason": reason,
            "councils": sorted(names),
        }
        for (period, rule, reason), names in sorted(notices.items())
    ]
    return cards, notice_rows


#: How many council-periods of each period the review list at the top of the page shows.
REVIEW_ROWS = 15


def _review_list(tables: dict[str, pl.DataFrame]) -> list[dict[str, Any]]:
    """Each period's review list, latest period first: its top REVIEW_ROWS council-periods
    by review_rank, each with the rules it raised and the parts of its score."""
    flags = tables["flags"]
    if "review_rank" not in flags.columns:
        return []
    ranked = flags.filter(pl.col("review_rank").is_not_null())
    out = []
    for period in sorted(set(ranked["period"].to_list()), reverse=True):
        rows = ranked.filter(pl.col("period") == period).sort("review_rank", "rule", "measure")
        by_key: dict[str, dict[str, Any]] = {}
        for row in rows.iter_rows(named=True):
            code = row["council_code"]
            entry = by_key.setdefault(
                code,
                {
                    "rank": row["review_rank"],
                    "council_code": code,
                    "council_name": row["council_name"] or code,
                    "anchor": f"flag-{code}-{period}",
                    "rules": [],
                    "score": row["review_score"],
                    "suspicion": row["review_suspicion"],
                    "people_moved": row["review_people_moved"],
                    "impact_national": row["review_impact_national"],
                    "impact_regional": row["review_impact_regional"],
                },
            )
            rule = row["rule"] + (f" {row['measure']}" if row.get("measure") else "")
            entry["rules"].append({"rule": rule, "explained": bool(row["explained"])})
        listed = sorted(by_key.values(), key=lambda entry: entry["rank"])
        out.append({"period": period, "total": len(listed), "rows": listed[:REVIEW_ROWS]})
    return out


def _notice_reason(message: str) -> str:
    """A notice's reason without its council: the text after the first colon."""
    return message.split(": ", 1)[1] if ": " in message else message


def _coverage(tables: dict[str, pl.DataFrame], periods: list[str]) -> dict[str, Any]:
    """Counts by status and period; inputs not used one by one; missing returns by period."""
    from returns_kit.reference import load_reference

    manifest = tables["manifest"]
    england = {row["period"]: row for row in tables["england"].iter_rows(named=True)}
    counted = manifest.group_by("period", "status").len()
    counts: dict[tuple[str | None, str], int] = {
        (period, status): n for period, status, n in counted.iter_rows()
    }
    by_period = [
        {
            "period": period,
            "expected": england.get(period, {}).get("councils_expected"),
            **{status: counts.get((period, status), 0) for status in STATUSES},
        }
        for period in periods
    ]
    unused = manifest.filter(~pl.col("status").is_in(["included", "missing"])).sort(
        "status", "period", "council_code", "path", nulls_last=True
    )
    reference = load_reference()
    missing: dict[str, list[str]] = {}
    for code, period in (
        manifest.filter(pl.col("status") == "missing")
        .sort("period", "council_code")
        .select("council_code", "period")
        .iter_rows()
    ):
        council = reference.lookup(code) if code else None
        missing.setdefault(period, []).append(f"{council.name} ({code})" if council else code)
    return {
        "by_period": by_period,
        "totals": {
            status: manifest.filter(pl.col("status") == status).height for status in STATUSES
        },
        "inputs": manifest.filter(pl.col("status") != "missing").height,
        "not_included": [
            {
                "status": row["status"],
                "path": row["path"],
                "council_code": row["council_code"],
                "period": row["period"],
                "reason": row["reason"],
            }
            for row in unused.iter_rows(named=True)
        ],
        "missing": [{"period": period, "councils": names} for period, names in missing.items()],
    }


def aggregate_page(tables: dict[str, pl.DataFrame], *, series_breaks: Sequence[str] = ()) -> str:
    """The HTML page for an aggregate run's tables."""
    periods = _periods(tables)
    regions = _regions(tables)
    breaks = [period for period in series_breaks if period in periods]
    cards, notices = _flags(tables, periods, breaks)
    england_rows = tables["england"].sort("period").iter_rows(named=True)
    context = {
        "periods": periods,
        "first_period": periods[0] if periods else None,
        "last_period": periods[-1] if periods else None,
        "regions": regions,
        "breaks": breaks,
        "england_columns": ENGLAND_COLUMNS,
        "england_rows": list(england_rows),
        "region_rows": list(tables["regions"].sort("region_code", "period").iter_rows(named=True)),
        "england_colour": ENGLAND_COLOUR,
        "flag_colours": {"council": FLAG_COUNCIL_COLOUR, "region": FLAG_REGION_COLOUR},
        "trends": _trend_charts(tables, periods, regions, breaks) if periods else [],
        "nominal": _nominal_coverage(tables, periods),
        "spreads": _spreads(tables, periods, regions, breaks) if periods else [],
        "flag_cards": cards,
        "review": _review_list(tables),
        "review_rows": REVIEW_ROWS,
        "notices": notices,
        "coverage": _coverage(tables, periods),
        "transitions": transitions_context(tables, periods, breaks),
    }
    return render("aggregate.html.j2", **context)
