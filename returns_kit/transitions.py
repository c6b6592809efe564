"""Client-level transitions: where a council's returns for two consecutive periods both have
a Clients sheet, how the people present in both moved between budget types, and how many of
the moves were label-only (the same support under another name).

Computed at aggregate time from the returns' summaries (the Clients rows the cache already
holds for P003), so nothing per client is stored anew. The tables hold counts only: no
client reference reaches any output. Councils' label-only rates are set in a funnel
(:mod:`returns_kit.funnel`) against the rate of every council followed in that period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from returns_kit.aggregate.columns import TABLES
from returns_kit.aggregate.flags import _previous_key
from returns_kit.aggregate.manifest import Selection
from returns_kit.config import Thresholds
from returns_kit.funnel import proportion_funnel
from returns_kit.measures import BUDGET_TYPES
from returns_kit.reference import Reference
from returns_kit.rules.periods import followed_clients, p005_no_comparison

#: The budget types as the Clients sheet writes them, in the spec's order.
BUDGET_CODES = tuple(name.upper() for name in BUDGET_TYPES)


@dataclass(frozen=True)
class Pair:
    """A council's two consecutive returns, both with a Clients sheet."""

    council_code: str
    period_before: str
    period: str
    #: each return's Clients rows, as its summary holds them
    before: pl.DataFrame
    after: pl.DataFrame


def client_pairs(
    selection: Selection, reference: Reference, thresholds: Thresholds
) -> Iterator[Pair]:
    """The pairs the period rules compare (a series continues through a one-to-one
    successor; none across a series break or reorganisation) where both have Clients."""
    for (code, period), item in sorted(selection.included.items()):
        after = item.summary
        if after is None or after.clients is None:
            continue
        previous_key = _previous_key(code, period, reference)
        previous = selection.included.get(previous_key) if previous_key else None
        if previous is None or previous.summary is None or previous.summary.clients is None:
            continue
        if p005_no_comparison(code, period, reference, thresholds, has_previous=True):
            continue
        yield Pair(code, previous.summary.period, period, previous.summary.clients, after.clients)


def transition_table(pairs: list[Pair], reference: Reference, tolerance: float) -> pl.DataFrame:
    """The full matrix of budget-type moves of the people in both periods, every cell (zeros
    too), with the label-only people of each move (blank where the type did not change)."""
    rows = []
    for pair in pairs:
        followed = followed_clients(pair.before, pair.after, tolerance)
        counted = followed.group_by("budget_type", "budget_type_after").agg(
            pl.len().alias("people"), pl.col("same_support").sum().alias("same")
        )
        cells = {
            (before, after): (people, same) for before, after, people, same in counted.iter_rows()
        }
        name = reference.councils[pair.council_code].name
        for before in BUDGET_CODES:
            for after in BUDGET_CODES:
                people, same = cells.get((before, after), (0, 0))
                rows.append(
                    {
                        "council_code": pair.council_code,
                        "council_name": name,
                        "period_before": pair.period_before,
                        "period": pair.period,
                        "budget_type_before": before,
                        "budget_type_after": after,
                        "people": people,
                        "label_only": None if before == after else same,
                    }
                )
    return pl.DataFrame(rows, schema=TABLES["transitions"].schema)


def label_only_table(transitions: pl.DataFrame) -> pl.DataFrame:
    """Per council and period: the people followed, their moves, the label-only share of the
    moves, and the funnel limits of that share against every council's in the period."""
    per_council = (
        transitions.group_by("council_code", "council_name", "period_before", "period")
        .agg(
            pl.col("people").sum().alias("people_followed"),
            pl.col("people")
            .filter(pl.col("budget_type_before") != pl.col("budget_type_after"))
            .sum()
            .alias("moves"),
            pl.col("label_only").sum().alias("label_only_moves"),
        )
        .sort("period", "council_code")
    )
    rows = []
    for period in per_council["period"].unique(maintain_order=True).to_list():
        councils = per_council.filter(pl.col("period") == period).to_dicts()
        funnel = proportion_funnel(
            [row["label_only_moves"] for row in councils], [row["moves"] for row in councils]
        )
        for index, row in enumerate(councils):
            unit = funnel.units[index] if funnel is not None else None
            moved = row["moves"] > 0
            rows.append(
                {
                    **row,
                    "label_only_rate": row["label_only_moves"] / row["moves"] if moved else None,
                    "target_rate": funnel.target if funnel is not None else None,
                    "lower_95": _rate(unit.lower_95) if unit and moved else None,
                    "upper_95": _rate(unit.upper_95) if unit and moved else None,
                    "lower_998": _rate(unit.lower_998) if unit and moved else None,
                    "upper_998": _rate(unit.upper_998) if unit and moved else None,
                    "outside_95": unit.outside_95 if unit and moved else None,
                    "outside_998": unit.outside_998 if unit and moved else None,
                    "overdispersion_phi": funnel.phi if funnel is not None else None,
                    "overdispersion_tau2": funnel.tau2 if funnel is not None else None,
                }
            )
    table = TABLES["label_only"]
    frame = pl.DataFrame(rows, schema=table.schema)
    return frame.with_columns(pl.col(table.floats).round(6))


def _rate(limit: float | None) -> float | None:
    """A limit of a rate, within 0 to 1 (the normal approximation can pass either)."""
    return None if limit is None else min(1.0, max(0.0, limit))


def transition_tables(
    selection: Selection, reference: Reference, thresholds: Thresholds
) -> dict[str, pl.DataFrame]:
    """``transitions`` and ``label_only``, empty (with their columns) when no council sent
    Clients sheets in two consecutive periods."""
    pairs = list(client_pairs(selection, reference, thresholds))
    transitions = transition_table(pairs, reference, thresholds.relabel_cost_tolerance)
    return {"transitions": transitions, "label_only": label_only_table(transitions)}
