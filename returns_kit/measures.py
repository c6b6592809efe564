"""The spec's measures (personal budget rate, choice rate, ...) and the summary of one return.

A :class:`ReturnSummary` holds what the period-to-period rules and the aggregate
need of a valid return, small enough to cache and to pass between processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

BUDGET_TYPES = (
    "dp_self_managed",
    "dp_part",
    "third_party_managed",
    "isf",
    "council_managed",
    "no_personal_budget",
)
COUNTS = ("people_total", *BUDGET_TYPES)
DIRECT_PAYMENTS = ("dp_self_managed", "dp_part", "third_party_managed")
CHOICE = (*DIRECT_PAYMENTS, "isf")
PERSONAL_BUDGETS = (*CHOICE, "council_managed")
RATES = ("pb_rate", "dp_rate", "choice_rate", "council_managed_share")


def _sum(columns: tuple[str, ...]) -> pl.Expr:
    return pl.sum_horizontal(pl.col(name) for name in columns)


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(None)


def rate_expressions() -> list[pl.Expr]:
    """The four rates of the spec from the six budget-type counts and people_total."""
    total = pl.col("people_total")
    holders = _sum(PERSONAL_BUDGETS)
    return [
        _ratio(holders, total).alias("pb_rate"),
        _ratio(_sum(DIRECT_PAYMENTS), total).alias("dp_rate"),
        _ratio(_sum(CHOICE), total).alias("choice_rate"),
        _ratio(pl.col("council_managed"), holders).alias("council_managed_share"),
    ]


def rates(counts: dict[str, int]) -> dict[str, float | None]:
    """The four rates for one set of counts (a dict of people_total and the six types)."""
    return dict(pl.DataFrame([counts]).select(rate_expressions()).row(0, named=True))


def block_contract_share(services: pl.DataFrame) -> float | None:
    """People in BLOCK_CONTRACT rows over people in all Services rows."""
    total = services["people"].sum()
    if not total:
        return None
    block = services.filter(pl.col("arrangement") == "BLOCK_CONTRACT")["people"].sum()
    return float(block) / float(total)


def service_mix(services: pl.DataFrame) -> dict[tuple[str, str], float]:
    """Share of people in each service type x arrangement."""
    total = services["people"].sum()
    if not total:
        return {}
    grouped = services.group_by("service_type", "arrangement").agg(pl.col("people").sum())
    return {(s, a): n / total for s, a, n in grouped.iter_rows()}


def total_variation(before: dict[Any, float], after: dict[Any, float]) -> float:
    """Half the sum of absolute differences: 0 for the same mix, 1 for disjoint mixes."""
    keys = set(before) | set(after)
    return 0.5 * sum(abs(before.get(k, 0.0) - after.get(k, 0.0)) for k in keys)


@dataclass
class ReturnSummary:
    """What the aggregate needs of one valid return."""

    council_code: str  #: the reference's current code for the council
    period: str
    submitted_on: date | None
    #: 26 rows: age_band, support_reason, people_total and the six budget-type counts
    budgets: pl.DataFrame
    #: service_type, arrangement, people, gross_spend_gbp
    services: pl.DataFrame
    #: (council-managed clients, of whom nominal) where the return has a Clients sheet
    nominal: tuple[int, int] | None = None
    #: one row per client and service, for following clients between periods (P003)
    clients: pl.DataFrame | None = None

    def totals(self) -> dict[str, int]:
        row = self.budgets.select(pl.col(name).sum() for name in COUNTS).row(0, named=True)
        return {name: int(value or 0) for name, value in row.items()}

    def measures(self) -> dict[str, float | None]:
        """The council's rates, block-contract share and, with Clients, nominal rates."""
        totals = self.totals()
        measured: dict[str, float | None] = dict(rates(totals))
        measured["block_contract_share"] = block_contract_share(self.services)
        measured["nominal_rate"] = measured["adjusted_pb_rate"] = None
        if self.nominal is not None and totals["people_total"]:
            nominal_rate = self.nominal[1] / totals["people_total"]
            measured["nominal_rate"] = nominal_rate
            pb_rate = measured["pb_rate"]
            measured["adjusted_pb_rate"] = None if pb_rate is None else pb_rate - nominal_rate
        return measured
