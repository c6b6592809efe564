"""The national team's review queue: every query and period flag of the councils' current
returns, with its evidence, the council's explanation and any decision, ranked for review.

One item per finding fingerprint (rule and scope) of a current return, as decisions are
made (``service.review``). Period flags (P001-P006) carry the council's rank and robust
z-score of the rise in its personal budget rate among every council compared that period,
computed as ``flags.csv`` computes them (``aggregate/flags.py``), so the page and the
published table agree. The service's review page and any later command share this home.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from returns_kit.cells import fold
from returns_kit.ledger.service import (
    Ledger,
    _fingerprint_findings,
    _judgements,
    _period_rule,
    _previous_key,
    _queries_of,
    _summary_of,
    currents,
    evidence_hash,
    standing,
)

FLAG, QUERY = "flag", "query"
#: a decision made on evidence that has since changed: the item is open again
REOPENED = "reopened"


@dataclass
class QueueItem:
    kind: str  #: FLAG (a period-to-period rule) or QUERY (a rule of the return itself)
    council_code: str
    council_name: str
    period: str
    rule: str
    rule_name: str
    scope: str
    messages: list[str]
    #: each finding's evidence (the numbers its message quotes), as the ledger recorded it
    evidence: list[dict[str, Any]]
    explanation: str = ""
    explained_by: str = ""
    #: "accepted", "returned", REOPENED, or "" (not decided yet)
    decision: str = ""
    decision_reason: str = ""
    decided_by: str = ""
    pb_change_rank: int | None = None
    councils_compared: int | None = None
    pb_change_robust_z: float | None = None
    sheet_cells: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.decision in ("", REOPENED)


def _rule_name(rule: str) -> str:
    from returns_kit.rules.catalogue import RULES

    found = RULES.get(rule)
    return found.name if found is not None else rule


def ranks(ledger: Ledger, periods: set[str], found: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Each compared council's rank and robust z of its personal budget rate's change, by
    (council, period), among the current returns of ``periods`` with a previous one: the
    numbers of flags.csv (``aggregate/flags.py``'s ``_ranks``, reused)."""
    from returns_kit.aggregate.flags import _ranks
    from returns_kit.rules.periods import Comparison

    thresholds = ledger.config.thresholds
    compared: dict[tuple[str, str], Any] = {}
    for key in sorted(found.choices):
        if key[1] not in periods:
            continue
        current = found.current(key)
        previous_key = _previous_key(ledger, *key)
        previous = found.current(previous_key) if previous_key is not None else None
        if current is None or previous is None:
            continue
        before, after = _summary_of(ledger, previous), _summary_of(ledger, current)
        if before is None or after is None:
            continue
        comparison = Comparison.of(before, after, thresholds)
        if comparison.evidence["pb_rate_change"] is not None:
            compared[key] = comparison
    if not compared:
        return {}
    return {
        (row["council_code"], row["period"]): row for row in _ranks(compared).iter_rows(named=True)
    }


def review_queue(ledger: Ledger) -> list[QueueItem]:
    """Every query and flag of the current returns: flags first, period by period, the most
    unusual change first (largest robust z either way, then rank); then queries by council."""
    from returns_kit.ledger.models import Decision, Explanation

    found = currents(ledger, period__in=ledger.config.periods)
    base = {"collection": ledger.collection, "period__in": ledger.config.periods}
    explanations = standing(Explanation, base)
    decisions = standing(Decision, base)
    judgements = _judgements(ledger)
    items: list[QueueItem] = []
    for key in sorted(found.choices):
        current = found.current(key)
        if current is None:
            continue
        queries = _queries_of(current, judgements.get(current.pk))
        council = ledger.reference.councils.get(key[0])
        given = {k: v for k, v in explanations.get(key, {}).items() if not v.withdrawn}
        seen: set[tuple[str, str]] = set()
        for query in queries:
            fingerprint = (query["rule"], fold(query["scope"]) if query.get("scope") else "")
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            matching = _fingerprint_findings(queries, *fingerprint)
            # An explanation without a scope answers every scope of its rule (mark_explained).
            explanation = given.get(fingerprint) or given.get((fingerprint[0], ""))
            item = QueueItem(
                kind=FLAG if _period_rule(query["rule"]) else QUERY,
                council_code=key[0],
                council_name=council.name if council is not None else "",
                period=key[1],
                rule=query["rule"],
                rule_name=_rule_name(query["rule"]),
                scope=query.get("scope") or "",
                messages=[m["message"] for m in matching],
                evidence=[m.get("evidence") or {} for m in matching],
                sheet_cells=[
                    f"{m['sheet']}!{m['cell']}" if m.get("cell") else m["sheet"]
                    for m in matching
                    if m.get("sheet")
                ],
            )
            if explanation is not None:
                item.explanation, item.explained_by = explanation.text, explanation.by
            decision = decisions.get(key, {}).get(fingerprint)
            if decision is not None:
                still = decision.evidence_hash == evidence_hash(matching)
                item.decision = decision.outcome if still else REOPENED
                item.decision_reason = decision.reason
                item.decided_by = decision.by
            items.append(item)
    flagged = {item.period for item in items if item.kind == FLAG}
    ranked = ranks(ledger, flagged, found) if flagged else {}
    for item in items:
        if item.kind == FLAG:
            rank = ranked.get((item.council_code, item.period), {})
            item.pb_change_rank = rank.get("pb_change_rank")
            item.councils_compared = rank.get("councils_compared")
            z = rank.get("pb_change_robust_z")
            item.pb_change_robust_z = None if z is None or math.isnan(z) else round(z, 6)
    return sorted(items, key=_order)


def _order(item: QueueItem) -> tuple[Any, ...]:
    if item.kind == FLAG:
        z = item.pb_change_robust_z
        return (
            0,
            item.period,
            z is None,
            -abs(z) if z is not None else 0.0,
            item.pb_change_rank if item.pb_change_rank is not None else math.inf,
            item.council_code,
            item.rule,
            item.scope,
        )
    return (1, item.council_code, item.period, 0, 0, "", item.rule, item.scope)
