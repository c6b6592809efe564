"""Period-to-period rules P001-P006: compare a council's return with its previous one.

Used by ``returns validate --previous`` and by ``returns aggregate`` for every
council's consecutive periods. Each finding carries the evidence it stands on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from returns_kit.config import Thresholds
from returns_kit.findings import Finding
from returns_kit.measures import ReturnSummary, total_variation
from returns_kit.periods import Period
from returns_kit.reference import Reference
from returns_kit.rules.catalogue import finding

CLIENT = "_client"


@dataclass
class Comparison:
    """Two consecutive returns of one council series, and what changed between them."""

    before: ReturnSummary
    after: ReturnSummary
    evidence: dict[str, Any]

    @classmethod
    def of(cls, before: ReturnSummary, after: ReturnSummary, thresholds: Thresholds) -> Comparison:
        old, new = before.measures(), after.measures()
        old_total, new_total = before.totals()["people_total"], after.totals()["people_total"]

        def change(name: str) -> float | None:
            a, b = old.get(name), new.get(name)
            return None if a is None or b is None else b - a

        evidence = {
            "pb_rate_before": old["pb_rate"],
            "pb_rate_after": new["pb_rate"],
            "pb_rate_change": change("pb_rate"),
            "choice_rate_before": old["choice_rate"],
            "choice_rate_after": new["choice_rate"],
            "choice_rate_change": change("choice_rate"),
            "service_shift": total_variation(before.mix(), after.mix()),
            "block_share_before": old["block_contract_share"],
            "block_share_after": new["block_contract_share"],
            "people_total_before": old_total,
            "people_total_after": new_total,
            "relabelled_clients": relabelled_clients(
                before, after, thresholds.relabel_cost_tolerance
            ),
        }
        return cls(before, after, evidence)


def client_profile(clients: pl.DataFrame) -> pl.DataFrame:
    """One row per client: budget type, the services they receive (type, arrangement and
    provider, as one sorted signature) and their total weekly cost."""
    item = pl.concat_str(
        [pl.col("service_type"), pl.col("arrangement"), pl.col("provider_ref").fill_null("")],
        separator="|",
    )
    return clients.group_by(CLIENT).agg(
        pl.col("budget_type").first(),
        item.sort().str.join(";").alias("services"),
        pl.col("weekly_cost_gbp").sum().alias("weekly_cost"),
    )


def followed_clients(before: pl.DataFrame, after: pl.DataFrame, tolerance: float) -> pl.DataFrame:
    """One row per client present in both periods' Clients rows: ``budget_type`` before,
    ``budget_type_after``, and ``same_support``: the same services, arrangements and
    providers, and a weekly cost within ``tolerance`` of the earlier one. A change of budget
    type with the same support is a label-only move (P003 and the aggregate's transitions).
    """
    joined = client_profile(before).join(client_profile(after), on=CLIENT, suffix="_after")
    same = (pl.col("services") == pl.col("services_after")) & (
        (pl.col("weekly_cost_after") - pl.col("weekly_cost")).abs()
        <= tolerance * pl.col("weekly_cost").abs()
    )
    return joined.select("budget_type", "budget_type_after", same.alias("same_support"))


def relabelled_clients(before: ReturnSummary, after: ReturnSummary, tolerance: float) -> int | None:
    """Clients present in both periods who moved from NO_PERSONAL_BUDGET to COUNCIL_MANAGED
    with the same support (:func:`followed_clients`); None when either return has no
    Clients sheet."""
    if before.clients is None or after.clients is None:
        return None
    moved = followed_clients(before.clients, after.clients, tolerance).filter(
        (pl.col("budget_type") == "NO_PERSONAL_BUDGET")
        & (pl.col("budget_type_after") == "COUNCIL_MANAGED")
        & pl.col("same_support")
    )
    return moved.height


def p001_pb_rate_jump(c: Comparison, t: Thresholds) -> Iterator[Finding]:
    e = c.evidence
    if e["pb_rate_change"] is not None and e["pb_rate_change"] >= t.pb_rate_jump:
        yield finding(
            "P001",
            {
                "pb_rate_before": e["pb_rate_before"],
                "previous_period": c.before.period,
                "pb_rate_after": e["pb_rate_after"],
                "pb_rate_change_points": e["pb_rate_change"] * 100,
            },
            evidence=_pick(e, "pb_rate_before", "pb_rate_after", "pb_rate_change"),
        )


def p002_suspected_relabelling(c: Comparison, t: Thresholds) -> Iterator[Finding]:
    e = c.evidence
    jumped = e["pb_rate_change"] is not None and e["pb_rate_change"] >= t.pb_rate_jump
    if not jumped or e["choice_rate_change"] is None:
        return
    block_before, block_after = e["block_share_before"], e["block_share_after"]
    block_moved = (
        abs(block_after - block_before)
        if block_before is not None and block_after is not None
        else 0.0
    )
    if (
        abs(e["choice_rate_change"]) < t.choice_rate_stable
        and e["service_shift"] < t.service_shift_max
        and block_moved < t.block_share_stable
    ):
        yield finding(
            "P002",
            {
                "pb_rate_change_points": e["pb_rate_change"] * 100,
                "choice_rate_change_points": e["choice_rate_change"] * 100,
                "service_shift": e["service_shift"],
                "block_share_before": block_before,
                "block_share_after": block_after,
            },
            evidence=_pick(
                e,
                "pb_rate_before",
                "pb_rate_after",
                "choice_rate_before",
                "choice_rate_after",
                "choice_rate_change",
                "service_shift",
                "block_share_before",
                "block_share_after",
            ),
        )


def p003_clients_relabelled(c: Comparison, t: Thresholds) -> Iterator[Finding]:
    count = c.evidence["relabelled_clients"]
    if count is not None and count >= t.relabelled_clients_min:
        yield finding(
            "P003",
            {"clients": count},
            evidence={"clients": count},
        )


def p004_people_total_change(c: Comparison, t: Thresholds) -> Iterator[Finding]:
    before, after = c.evidence["people_total_before"], c.evidence["people_total_after"]
    if before and abs(after - before) / before > t.people_total_change_max:
        yield finding(
            "P004",
            {
                "people_total_before": before,
                "previous_period": c.before.period,
                "people_total_after": after,
                "people_total_change": (after - before) / before,
            },
            evidence={"people_total_before": before, "people_total_after": after},
        )


RULES = (
    p001_pb_rate_jump,
    p002_suspected_relabelling,
    p003_clients_relabelled,
    p004_people_total_change,
)


def compare(
    before: ReturnSummary, after: ReturnSummary, thresholds: Thresholds
) -> tuple[Comparison, list[Finding]]:
    comparison = Comparison.of(before, after, thresholds)
    return comparison, [item for rule in RULES for item in rule(comparison, thresholds)]


def p005_no_comparison(
    council_code: str, period: str, reference: Reference, thresholds: Thresholds, has_previous: bool
) -> Finding | None:
    """P005 when the period before lies across a reorganisation or a known series break."""
    this = Period.parse(period)
    if this is None:
        return None
    if period in thresholds.series_breaks and has_previous:
        return finding(
            "P005",
            {"previous_period": str(this.previous()), "period": period},
            variant="series_break",
            evidence={"reason": "series break"},
        )
    council = reference.councils.get(council_code)
    if council is None or council.first_period != this:
        return None
    if reference.continues(council_code) is None and reference.predecessors(council_code):
        names = sorted(c.name for c in reference.predecessors(council_code))
        return finding(
            "P005",
            {
                "previous_period": str(this.previous()),
                "council_name": council.name,
                "period": period,
                "predecessors": names,
            },
            variant="formed",
            evidence={"reason": "reorganisation"},
        )
    return None


def p006_no_previous(previous: str | None, reason: str, count: int = 2) -> Finding:
    """P006: no comparison, because there is no usable previous return (or this one has
    errors), and why: ``reason`` is one of missing, errors, conflict, unusable and
    this-return-errors (P006's templates), ``count`` the returns in conflict."""
    evidence: dict[str, Any] = {"reason": reason}
    params: dict[str, Any] = {}
    if previous is not None:
        evidence["previous_period"] = params["previous_period"] = previous
    if reason == "conflict":
        evidence["returns"] = params["returns"] = count
    variant = reason if previous is not None else f"{reason}-unnamed"
    return finding("P006", params, variant=variant, evidence=evidence)


def _pick(evidence: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: _round(evidence[name]) for name in names}


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def period_findings(
    before: ReturnSummary | None,
    after: ReturnSummary | None,
    reference: Reference,
    thresholds: Thresholds,
    *,
    across_reorganisation: bool = False,
) -> tuple[Comparison | None, list[Finding]]:
    """The period-to-period findings for a pair of returns (either may be None when it has
    errors), and the comparison they stand on when one was made."""
    if before is None or after is None:
        if after is None:
            return None, [p006_no_previous(None, "this-return-errors")]
        this = Period.parse(after.period) if after.period else None
        return None, [p006_no_previous(str(this.previous()) if this else None, "errors")]
    broken = p005_no_comparison(after.council_code, after.period, reference, thresholds, True)
    if broken is not None:
        return None, [broken]
    if across_reorganisation:
        return None, [
            finding(
                "P005",
                {"previous_period": before.period},
                variant="predecessor",
                evidence={"reason": "reorganisation"},
            )
        ]
    return compare(before, after, thresholds)
