"""The catalogue of rules: id, readable name, severity and summary of each.

The spec fixes the ids F001-F005, V001-V004, A001-A004, B001-B003, S001-S005,
C001-C007 and P001-P005; returns_kit adds the others, with new ids, where the
spec states a requirement without naming a rule for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from returns_kit.findings import Finding, Severity
from returns_kit.rules.messages import TEMPLATES, render

ERROR, QUERY, WARNING, INFO = Severity.ERROR, Severity.QUERY, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    #: "spec" for the ids fixed by the return format, "returns_kit" for added ones
    origin: str = "spec"


_RULES = [
    Rule(
        "F001",
        "unreadable-workbook",
        ERROR,
        "Not a readable workbook: not a zip, corrupt, encrypted, or not a spreadsheet format.",
    ),
    Rule(
        "F002",
        "macro-or-legacy-workbook",
        ERROR,
        "Macro-enabled (.xlsm) or legacy binary (.xls) workbook; save it as .xlsx.",
    ),
    Rule(
        "F003",
        "over-limits",
        ERROR,
        "Over the limits: 50 MB on disk, 500 MB uncompressed, 1,048,576 rows in a sheet.",
    ),
    Rule("F004", "missing-sheet", ERROR, "A required sheet (About, Budgets, Services) is missing."),
    Rule(
        "F005",
        "missing-column",
        ERROR,
        "A required column is missing, or the header row cannot be found.",
    ),
    Rule(
        "F006",
        "ignored-sheet",
        INFO,
        "A sheet that is not part of the return is ignored. The template's own Instructions "
        "and Lists sheets, and an optional sheet with no rows (not sent), are passed over "
        "without a finding.",
        "returns_kit",
    ),
    Rule(
        "F007",
        "ignored-column",
        WARNING,
        "A column that is not part of the return is ignored.",
        "returns_kit",
    ),
    Rule(
        "F008",
        "blank-row",
        ERROR,
        "A blank row in the middle of a table (blank rows at the end are ignored).",
        "returns_kit",
    ),
    Rule(
        "F009",
        "duplicate-heading",
        ERROR,
        "Two sheets, columns or About fields have the same name once case and spaces are "
        "folded, so it is unclear which one to read.",
        "returns_kit",
    ),
    Rule("V001", "wrong-type", ERROR, "A value has the wrong type or form."),
    Rule(
        "V002", "unknown-code", ERROR, "A code is not in its list (codes and labels are accepted)."
    ),
    Rule("V003", "out-of-range", ERROR, "A value is out of range."),
    Rule("V004", "required-blank", ERROR, "A required value is blank."),
    Rule(
        "V005",
        "formula-without-value",
        ERROR,
        "A formula cell has no cached value (or holds a spreadsheet error such as #DIV/0!); "
        "recalculate and save the workbook in a spreadsheet program.",
        "returns_kit",
    ),
    Rule("A001", "unsupported-schema-version", ERROR, "schema_version is not supported."),
    Rule(
        "A002",
        "not-a-council-in-period",
        ERROR,
        "council_code is not a council with adult social services responsibilities in that period.",
    ),
    Rule("A003", "council-name-differs", WARNING, "council_name differs from the reference name."),
    Rule(
        "A004",
        "period-malformed-or-open",
        ERROR,
        "period is malformed, or had not ended at submitted_on.",
    ),
    Rule(
        "A005",
        "period-outside-reference",
        ERROR,
        "period lies outside the years the reference list covers (2009-10 onwards).",
        "returns_kit",
    ),
    Rule(
        "A006",
        "unknown-about-field",
        WARNING,
        "An About field that is not part of the return is ignored.",
        "returns_kit",
    ),
    Rule(
        "B001",
        "budgets-duplicate-row",
        ERROR,
        "A Budgets row (age band and support reason) is duplicated.",
    ),
    Rule(
        "B002",
        "budgets-missing-row",
        ERROR,
        "A Budgets row (age band and support reason) is missing.",
    ),
    Rule("B003", "budgets-sum", ERROR, "people_total is not the sum of the six budget types."),
    Rule(
        "S001",
        "services-duplicate-row",
        ERROR,
        "A Services row (service type and arrangement) is duplicated.",
    ),
    Rule(
        "S002",
        "planned-hours-missing",
        ERROR,
        "Planned hours missing on a home care or personal assistant row.",
    ),
    Rule(
        "S003",
        "isf-mismatch",
        ERROR,
        "ISF budgets without ISF services, or ISF services without ISF budgets.",
    ),
    Rule(
        "S004",
        "direct-payment-mismatch",
        ERROR,
        "Direct payment budgets (self-managed, part, third-party) without services bought by "
        "direct payment, or the reverse.",
    ),
    Rule(
        "S005",
        "spend-per-person",
        QUERY,
        "Spend per person on a Services row below £100 or above £500,000 a year.",
    ),
    Rule(
        "C001",
        "direct-identifier",
        ERROR,
        "A client_ref or provider_ref looks like a direct identifier (NHS number, email, UK "
        "postcode); the value is never repeated in any output.",
    ),
    Rule(
        "C002",
        "client-inconsistent",
        ERROR,
        "A client's age band, support reason or budget type differs between rows.",
    ),
    Rule(
        "C003", "clients-budgets-differ", ERROR, "Counts derived from Clients differ from Budgets."
    ),
    Rule(
        "C004",
        "clients-services-differ",
        ERROR,
        "People per service and arrangement derived from Clients differ from Services.",
    ),
    Rule(
        "C005",
        "provider-missing",
        ERROR,
        "provider_ref blank where arrangement is not DIRECT_PAYMENT.",
    ),
    Rule(
        "C006",
        "allocation-date",
        ERROR,
        "allocation_notified_on blank for a personal budget, or after the snapshot date.",
    ),
    Rule("C007", "nominal-budgets", QUERY, "More than 20% of council-managed budgets are nominal."),
    Rule(
        "P001",
        "pb-rate-jump",
        QUERY,
        "Personal budget rate up 10 percentage points or more on the previous period.",
    ),
    Rule(
        "P002",
        "suspected-relabelling",
        QUERY,
        "P001, while the choice rate moved less than 2 points and the services did not change.",
    ),
    Rule(
        "P003",
        "clients-relabelled",
        QUERY,
        "50 or more clients moved from NO_PERSONAL_BUDGET to COUNCIL_MANAGED with the same "
        "services, arrangements, providers and cost.",
    ),
    Rule("P004", "people-total-change", QUERY, "people_total changed by more than 25%."),
    Rule(
        "P005",
        "no-comparison",
        INFO,
        "No comparison: the previous period lies across a council reorganisation or a known "
        "series break.",
    ),
    Rule(
        "P006",
        "no-usable-previous",
        INFO,
        "No comparison: there is no usable previous return (none received, or it has errors or "
        "is in conflict) or this return has errors, so the period-to-period rules were not run.",
        "returns_kit",
    ),
    Rule(
        "P010",
        "hb-change-outlier",
        QUERY,
        "The change in a headline measure (personal budget rate, choice rate, direct payment "
        "rate, people_total) is a Hidiroglou-Berthelot outlier among every council compared "
        "in the period: its ratio to the previous period, centred on the median ratio and "
        "weighted by the council's size (people_total to the power U), lies outside the "
        "median effect less or plus C quartile distances (C, U and A in [thresholds]). A "
        "change judged against the period, so a year in which every council moves does not "
        "flag them all. The evidence gives the measure, both values, the score, both cut-offs "
        "and how many councils were compared. Run by `aggregate` only: one pair of returns "
        "(`validate --previous`) has no period to compare it with.",
        "returns_kit",
    ),
    Rule(
        "P011",
        "count-opposite-move",
        QUERY,
        "Data quality: a count (people on direct payments, in council-arranged home care, with "
        "a council-managed budget) changed by a factor of count_move_ratio (2) or more while a "
        "related count moved the other way by count_related_ratio (1.25) or more, the pattern "
        "of people reported on the wrong line rather than of a change in their support. The "
        "evidence gives both counts in both periods. Run by `aggregate` only, with the other "
        "screens of its review list; `validate --previous` does not run it.",
        "returns_kit",
    ),
    Rule(
        "P012",
        "count-out-of-line",
        QUERY,
        "Data quality: a count is out_of_line_ratio (2) times or more away from both the "
        "previous period and the median of the council's own earlier periods, or last "
        "period's count was such a spike and this one is back (the earlier figure looks like "
        "an artefact). The evidence gives the council's series. Run by `aggregate` only: it "
        "needs three or more of the council's periods, and `validate --previous` has two.",
        "returns_kit",
    ),
    Rule(
        "E001",
        "explanation-too-short",
        WARNING,
        "An explanation is shorter than 20 characters, so it explains nothing.",
        "returns_kit",
    ),
    Rule(
        "E002",
        "explanation-not-a-query",
        WARNING,
        "An explanation names a rule that does not exist or is not a query.",
        "returns_kit",
    ),
    Rule(
        "X001",
        "internal-error",
        ERROR,
        "returns_kit failed on this file: a defect of returns_kit, not of the file; please "
        "report it (--debug shows the traceback).",
        "returns_kit",
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def finding(
    rule_id: str,
    params: Mapping[str, Any] | None = None,
    /,
    *,
    variant: str = "",
    **where: Any,
) -> Finding:
    """A finding of ``rule_id``: its severity from the catalogue, its message the rule's
    template (:data:`returns_kit.rules.messages.TEMPLATES`) filled with ``params``.

    >>> made = finding("B003", {"people_total": 5, "types_sum": 4}, sheet="Budgets")
    >>> made.severity, made.message
    (<Severity.ERROR: 'error'>, 'people_total is 5 but the six budget types add up to 4.')
    >>> made.params
    {'people_total': 5, 'types_sum': 4}
    """
    severity = RULES[rule_id].severity
    values = dict(params or {})
    message = render(rule_id, variant, values)
    return Finding(rule=rule_id, severity=severity, message=message, params=values, **where)


def templates(rule_id: str) -> dict[str, str]:
    """``rule_id``'s message templates by variant ("" for a rule that says one thing)."""
    return TEMPLATES.get(rule_id, {})
