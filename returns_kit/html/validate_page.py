"""The council officer's page for one return: measures, findings by sheet, queries to answer.

Built from what validation returned, nothing read again: the measures come from the
return's summary (present when it has no error), the findings from its report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from returns_kit.config import Thresholds
from returns_kit.findings import Finding, Severity
from returns_kit.html.charts import stacked_bars
from returns_kit.html.render import chart, render
from returns_kit.measures import BUDGET_TYPES
from returns_kit.rules.catalogue import RULES
from returns_kit.schema import sheet_specs
from returns_kit.validate import Validated
from returns_kit.wording import BETWEEN_PERIODS, WHOLE_WORKBOOK, place, tally, verdict

#: The headline measures, in the order a reader meets them, with a plain label each.
HEADLINE = (
    ("pb_rate", "Personal budget rate", "people with a personal budget, of everyone supported"),
    ("dp_rate", "Direct payment rate", "people with a direct payment, of everyone supported"),
    (
        "choice_rate",
        "Choice rate",
        "direct payments, third-party budgets and ISFs: budgets the person directs",
    ),
    (
        "council_managed_share",
        "Council-managed share",
        "personal budgets the council manages, of all personal budgets",
    ),
    ("block_contract_share", "Block-contract share", "people in block-contracted services"),
    ("nominal_rate", "Nominal budget rate", "nominal council-managed budgets (Clients sheet)"),
)

BUDGET_LABELS = {
    "dp_self_managed": "Direct payment, self-managed",
    "dp_part": "Part direct payment",
    "third_party_managed": "Managed by a third party",
    "isf": "Individual Service Fund",
    "council_managed": "Council-managed",
    "no_personal_budget": "No personal budget",
}


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    meaning: str
    value: float | None
    previous: float | None
    has_previous: bool

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class SheetFindings:
    sheet: str
    anchor: str
    findings: list[dict[str, Any]]


def _finding_row(item: Finding) -> dict[str, Any]:
    rule = RULES.get(item.rule)
    return {
        "rule": item.rule,
        "rule_name": rule.name if rule else "",
        "severity": item.severity.value,
        "cell": item.cell or (f"row {item.row}" if item.row else ""),
        "column": item.column or "",
        "scope": item.scope or "",
        "message": item.message,
        "explained": item.explained,
    }


def group_by_sheet(findings: Sequence[Finding]) -> list[SheetFindings]:
    """Findings under their sheet, sheets in the return's order, then the rest."""
    order = list(sheet_specs())
    groups: dict[str, list[Finding]] = {}
    for item in findings:
        groups.setdefault(place(item), []).append(item)

    def position(name: str) -> tuple[int, str]:
        if name == WHOLE_WORKBOOK:
            return (-1, name)
        if name in order:
            return (order.index(name), name)
        return (len(order) + (1 if name == BETWEEN_PERIODS else 0), name)

    return [
        SheetFindings(
            sheet=name,
            anchor="sheet-" + "".join(c if c.isalnum() else "-" for c in name.lower()),
            findings=[
                _finding_row(item)
                for item in sorted(groups[name], key=lambda f: (f.severity.rank, f.row or 0))
            ],
        )
        for name in sorted(groups, key=position)
    ]


def _measures(current: Validated, previous: Validated | None) -> list[Measure]:
    now = current.summary.measures() if current.summary else {}
    before = previous.summary.measures() if previous and previous.summary else {}
    return [
        Measure(name, label, meaning, now.get(name), before.get(name), previous is not None)
        for name, label, meaning in HEADLINE
        if name != "nominal_rate" or now.get(name) is not None or before.get(name) is not None
    ]


def _budget_chart(current: Validated, previous: Validated | None) -> tuple[str | None, list[Any]]:
    returns = [(current, current.report.period or "this return")]
    if previous is not None and previous.summary is not None:
        returns.insert(0, (previous, previous.report.period or "previous return"))
    rows, bars, shares = [], [], []
    for validated, label in returns:
        if validated.summary is None:
            continue
        counts = validated.summary.counts
        total = counts["people_total"]
        bars.append(label)
        shares.append([counts[name] / total if total else 0.0 for name in BUDGET_TYPES])
        rows.append({"label": label, "total": total, "counts": [counts[n] for n in BUDGET_TYPES]})
    if not bars:
        return None, []
    svg = stacked_bars(
        "People by budget type", bars, [BUDGET_LABELS[n] for n in BUDGET_TYPES], shares
    )
    return svg, rows


def validate_page(
    current: Validated,
    previous: Validated | None = None,
    *,
    strict: bool = False,
    thresholds: Thresholds | None = None,
) -> str:
    """The HTML page for one return (and, with ``previous``, its change since then)."""
    return render(
        "validate.html.j2",
        **validate_context(current, previous, strict=strict, thresholds=thresholds),
    )


def validate_context(
    current: Validated,
    previous: Validated | None = None,
    *,
    strict: bool = False,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """What the page shows, for ``validate.html.j2`` and for the service's findings page,
    which shows the same sections (``validate_sections.html.j2``) under its own header."""
    thresholds = thresholds or Thresholds()
    report = current.report
    findings = report.findings
    queries = [f for f in findings if f.severity is Severity.QUERY]
    svg, budget_rows = _budget_chart(current, previous)
    return {
        "file_name": Path(report.path).name,
        "council_name": report.council_name,
        "council_code": report.council_code,
        "period": report.period,
        "previous_period": previous.report.period if previous else None,
        "previous_file_name": Path(previous.report.path).name if previous else None,
        "verdict": verdict(report.counts()["error"], report.unexplained_queries, strict),
        "strict": strict,
        "between_periods": BETWEEN_PERIODS,
        "tally": tally(report.counts()),
        "unexplained_count": report.unexplained_queries,
        "measures": _measures(current, previous) if current.summary else [],
        "has_summary": current.summary is not None,
        "budget_chart": chart(svg) if svg else None,
        "budget_rows": budget_rows,
        "budget_labels": [BUDGET_LABELS[n] for n in BUDGET_TYPES],
        "sheets": group_by_sheet(findings),
        "unexplained": [_finding_row(f) for f in queries if not f.explained],
        "explained": [_finding_row(f) for f in queries if f.explained],
        "explanation_min_chars": thresholds.explanation_min_chars,
    }
