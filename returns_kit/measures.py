"""The spec's measures (personal budget rate, choice rate, ...) and the summary of one return.

A :class:`ReturnSummary` holds what the period-to-period rules and the aggregate
need of a valid return, small enough to cache and to pass between processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
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


def _ratio_of(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def rates(counts: dict[str, int]) -> dict[str, float | None]:
    """The four rates for one set of counts (people_total and the six types), as
    :func:`rate_expressions` computes them for a table."""
    total = counts["people_total"]
    holders = sum(counts[name] for name in PERSONAL_BUDGETS)
    return {
        "pb_rate": _ratio_of(holders, total),
        "dp_rate": _ratio_of(sum(counts[name] for name in DIRECT_PAYMENTS), total),
        "choice_rate": _ratio_of(sum(counts[name] for name in CHOICE), total),
        "council_managed_share": _ratio_of(counts["council_managed"], holders),
    }


def service_people(services: pl.DataFrame) -> dict[tuple[str, str], int]:
    """People in each service type x arrangement (rows of a key summed)."""
    people: dict[tuple[str, str], int] = {}
    for service, arrangement, count in services.select(
        "service_type", "arrangement", "people"
    ).iter_rows():
        people[(service, arrangement)] = people.get((service, arrangement), 0) + (count or 0)
    return people


def block_contract_share(services: pl.DataFrame) -> float | None:
    """People in BLOCK_CONTRACT rows over people in all Services rows."""
    people = service_people(services)
    block = sum(n for (_, arrangement), n in people.items() if arrangement == "BLOCK_CONTRACT")
    return _ratio_of(block, sum(people.values()))


def service_mix(services: pl.DataFrame) -> dict[tuple[str, str], float]:
    """Share of people in each service type x arrangement."""
    people = service_people(services)
    total = sum(people.values())
    return {key: n / total for key, n in people.items()} if total else {}


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

    # Cached, and filled in by the worker that makes the summary, so that comparing and
    # tabulating 1,500 returns does no per-return polars work.
    @cached_property
    def counts(self) -> dict[str, int]:
        """people_total and the six budget-type counts, summed over the Budgets rows."""
        sums = dict.fromkeys(COUNTS, 0)
        for row in self.budgets.select(COUNTS).iter_rows():
            for name, value in zip(COUNTS, row, strict=True):
                sums[name] += value or 0
        return sums

    @cached_property
    def people_by_service(self) -> dict[tuple[str, str], int]:
        return service_people(self.services)

    def totals(self) -> dict[str, int]:
        return dict(self.counts)

    @cached_property
    def _measures(self) -> dict[str, float | None]:
        totals = self.counts
        measured: dict[str, float | None] = dict(rates(totals))
        people = self.people_by_service
        block = sum(n for (_, arrangement), n in people.items() if arrangement == "BLOCK_CONTRACT")
        measured["block_contract_share"] = _ratio_of(block, sum(people.values()))
        measured["nominal_rate"] = measured["adjusted_pb_rate"] = None
        if self.nominal is not None and totals["people_total"]:
            nominal_rate = self.nominal[1] / totals["people_total"]
            measured["nominal_rate"] = nominal_rate
            pb_rate = measured["pb_rate"]
            measured["adjusted_pb_rate"] = None if pb_rate is None else pb_rate - nominal_rate
        return measured

    def measures(self) -> dict[str, float | None]:
        """The council's rates, block-contract share and, with Clients, nominal rates."""
        return dict(self._measures)

    def mix(self) -> dict[tuple[str, str], float]:
        """Share of people in each service type x arrangement."""
        people = self.people_by_service
        total = sum(people.values())
        return {key: n / total for key, n in people.items()} if total else {}

    def warm(self) -> ReturnSummary:
        """Compute the cached measures now (in the worker, before the summary is cached)."""
        self.measures()
        return self
