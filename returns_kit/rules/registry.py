"""The sheet rules of one return: one table of rule id -> the function that checks it.

The table is written out, not filled by decorators as modules are imported, so that what
runs is read in one place and the rule modules import nothing above them. The order is the
order findings come out in (by sheet: About, Budgets, Services, Clients, Explanations)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from returns_kit.findings import Finding
from returns_kit.rules import about, budgets, clients, explanations, services
from returns_kit.rules.context import ReturnContext

RuleFunction = Callable[[ReturnContext], Iterable[Finding]]

#: rule id -> the function that checks it, in the order they run
RULE_FUNCTIONS: dict[str, RuleFunction] = {
    "A002": about.council_in_period,
    "A003": about.council_name_matches,
    "A004": about.period_ended,
    "A005": about.period_in_reference,
    "B001": budgets.budgets_duplicate_row,
    "B002": budgets.budgets_missing_row,
    "B003": budgets.budgets_sum,
    "S001": services.services_duplicate_row,
    "S002": services.planned_hours_missing,
    "S003": services.isf_mismatch,
    "S004": services.direct_payment_mismatch,
    "S005": services.spend_per_person,
    "C001": clients.direct_identifier,
    "C002": clients.client_inconsistent,
    "C003": clients.clients_budgets_differ,
    "C004": clients.clients_services_differ,
    "C005": clients.provider_missing,
    "C006": clients.allocation_date,
    "C007": clients.nominal_budgets,
    "E001": explanations.explanation_too_short,
    "E002": explanations.explanation_not_a_query,
}


def run_rules(context: ReturnContext) -> list[Finding]:
    findings: list[Finding] = []
    for function in RULE_FUNCTIONS.values():
        findings.extend(function(context))
    return findings
