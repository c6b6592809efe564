"""What every column of the aggregate's tables means: the source of docs/aggregate-outputs.md."""

from __future__ import annotations

from returns_kit.aggregate.review import EXPLAINED, SUSPICION


def _weights() -> str:
    """The review list's rule weights, as its column description gives them."""
    return ", ".join(f"{weight:g} {rule}" for rule, weight in SUSPICION.items())


TABLES = {
    "manifest": "One row per submission (a file's content, listed once under every name it "
    "was found under), one row per file or folder not read (skipped, with why), and one row "
    "per council expected in a collected period that sent no return (missing). Which return "
    "is used follows the collection rules: the latest valid submitted_on; an earlier one is "
    "superseded; one with errors never displaces a valid one; two different valid returns "
    "with the same submitted_on are in conflict.",
    "councils": "One row per included return: the council's counts and rates.",
    "regions": "One row per period and English region, from the included councils' summed counts.",
    "england": "One row per period for England, from the included councils' summed counts.",
    "breakdowns": "Counts and rates by period, geography level (council, region, england), "
    "age band and support reason, with ALL margins; one row per combination.",
    "flags": "One row per period-to-period finding per council: the pair rules P001-P006 and "
    "the aggregate's screens of the period P010-P012, with their evidence, how the council's "
    "change in personal budget rate ranks in that period, and the council-period's place in "
    "the review list (review_rank 1 = look first; its score is suspicion x impact, with both "
    "parts as columns).",
    "findings": "Every finding of every input file, and the period-to-period findings.",
    "transitions": "Where a council's returns for two consecutive periods both have a Clients "
    "sheet: the people present in both, by budget type before and after (every one of the 36 "
    "pairs, zeros too), and how many of those who changed type kept the same support. Counts "
    "only, never a client reference; not written with --publish (no disclosure control yet).",
    "label_only": "One row per council and period in transitions: its moves between budget "
    "types, the share that were label-only, and funnel limits for that share around the "
    "rate of all councils followed in the period, with over-dispersion (Spiegelhalter 2005; "
    "see docs/funnels.md). Not written with --publish.",
}

COLUMNS = {
    "path": "the input file, as found under the paths given (for the same bytes found under "
    "several names, the first of them)",
    "names": "every name the same bytes were found under, sorted, separated by ' | ': one "
    "submission, never counted twice",
    "sha256": "SHA-256 of the file's content: what identifies a submission",
    "submitted_on": "the return's submitted_on (About sheet), which orders a council's returns "
    "for a period",
    "council_code": "the council's GSS code (a former code is given as the current one)",
    "council_name": "the reference name of the council",
    "period": "financial year, YYYY-YY",
    "status": "included (the council's current return for the period: used), superseded (a "
    "valid return a later submitted_on replaced: kept, not used, not a failure), excluded (it "
    "has errors or names no council and period; exit 1), conflict (two different valid returns "
    "with the same submitted_on: neither used; exit 1), unused (read, but its period is not "
    "collected), skipped (not read: not a workbook by its name, an Excel lock file ~$..., "
    "hidden, or inside --out) or missing (an expected council sent nothing)",
    "reason": "why the return is included among several, superseded, excluded, in conflict, "
    "unused, skipped or missing",
    "errors": "error findings in the file",
    "queries": "query findings in the file",
    "region_code": "GSS code of the English region",
    "region_name": "name of the English region",
    "geography_code": "GSS code of the council, region or England (E92000001)",
    "geography_name": "name of the council, region or England",
    "level": "council, region or england",
    "age_band": "18-64, 65+ or ALL",
    "support_reason": "a support reason code or ALL",
    "councils_expected": "councils in the reference list for the period",
    "councils_included": "councils whose return was included",
    "councils_with_clients": "included councils whose return has a Clients sheet",
    "people_total": "people accessing long-term support in the community",
    "dp_self_managed": "people with a self-managed direct payment",
    "dp_part": "people with a part direct payment",
    "third_party_managed": "people with a budget managed by a third party",
    "isf": "people with an Individual Service Fund",
    "council_managed": "people with a council-managed or nominal budget",
    "no_personal_budget": "people with commissioned support only",
    "pb_rate": "personal budget rate: all five budget types over people_total (ASCOF 1C(1A))",
    "dp_rate": "direct payment rate: self-managed, part and third-party over people_total "
    "(ASCOF 1C(2A))",
    "choice_rate": "direct payments, third-party and ISF over people_total",
    "council_managed_share": "council_managed over personal budget holders",
    "block_contract_share": "people in BLOCK_CONTRACT rows over people in all Services rows",
    "nominal_rate": "nominal budgets over people_total, where Clients exist",
    "adjusted_pb_rate": "pb_rate less nominal_rate, where Clients exist",
    "service_people": "people summed over all Services rows (a person may count more than once)",
    "block_contract_people": "people summed over BLOCK_CONTRACT Services rows",
    "nominal_budgets": "council-managed budgets that are nominal, where Clients exist",
    "pb_rate_min": "lowest council pb_rate",
    "pb_rate_median": "median council pb_rate",
    "pb_rate_max": "highest council pb_rate",
    "choice_rate_min": "lowest council choice_rate",
    "choice_rate_median": "median council choice_rate",
    "choice_rate_max": "highest council choice_rate",
    "rule": "rule id",
    "rule_name": "readable rule name",
    "severity": "error, query, warning or info",
    "explained": "for a query: answered by the return's Explanations sheet",
    "pb_rate_before": "pb_rate in the previous period",
    "pb_rate_after": "pb_rate in this period",
    "choice_rate_change": "choice_rate now less choice_rate before",
    "service_shift": "total variation distance between the two periods' shares of people by "
    "service type and arrangement (0 = same mix, 1 = nothing in common)",
    "block_share_before": "block_contract_share in the previous period",
    "block_share_after": "block_contract_share in this period",
    "relabelled_clients": "clients moved from no budget to council-managed with the same "
    "services, providers and cost (P003), where both periods have Clients",
    "pb_change_rank": "rank of the council's pb_rate change among councils compared that "
    "period (1 = largest rise)",
    "councils_compared": "councils with a comparison that period",
    "pb_change_robust_z": "(change - median change) / (1.4826 x median absolute deviation)",
    "measure": "P010-P012: the measure screened (pb_rate, choice_rate, dp_rate, people_total, "
    "direct_payments, direct_payments/18-64, direct_payments/65+, council_managed, home_care: "
    "people in HOME_CARE Services rows not bought by direct payment); also the finding's scope",
    "value_before": "P010, P011: the measure in the previous period; P012: the council's own "
    "reference (the median of its earlier periods, or for a spike the count two periods back)",
    "value_after": "P010-P012: the measure in this period",
    "score": "P010: the Hidiroglou-Berthelot effect (the centred ratio of after to before, "
    "times the council's size to the power hb_u; size is people_total for the rates); "
    "P011, P012: the factor of the change (2 = doubled or halved)",
    "lower": "P010: the lower cut-off, median effect less hb_c times the lower quartile distance",
    "upper": "P010: the upper cut-off, median effect plus hb_c times the upper quartile distance",
    "related_measure": "P011: the related count that moved the other way",
    "related_before": "P011: the related count in the previous period",
    "related_after": "P011: the related count in this period",
    "review_rank": "the council-period's place in its period's review list, 1 = look first: by "
    "review_score, then review_suspicion, then review_people_moved, then council code; blank "
    "for notices (P005, P006) with no query",
    "review_score": "review_suspicion x review_impact",
    "review_suspicion": "how unexplained the change is: 1 - product(1 - w) over the "
    f"council-period's query rules, w = {_weights()}, {EXPLAINED:g} of that where the "
    "Explanations sheet answers the query",
    "review_impact": "the mean of review_impact_national and review_impact_regional",
    "review_impact_national": "review_people_moved over England's people_total in the period: "
    "about how much of the national rates the council alone moves",
    "review_impact_regional": "review_people_moved over the council's region's people_total "
    "in the period",
    "review_people_moved": "the larger of the council's change in people with a personal "
    "budget and its change in people_total since the previous period",
    "message": "the finding's message",
    "sheet": "the sheet of the finding",
    "cell": "the A1 cell of the finding",
    "row": "the sheet row of the finding",
    "column": "the column or About field of the finding",
    "scope": "the finding's scope, e.g. 65+/MEMORY_COGNITION",
    "evidence": "the numbers behind the finding, as JSON (P012's holds the council's series "
    "by period)",
    "period_before": "the earlier of the two periods compared, YYYY-YY",
    "budget_type_before": "the client's budget type in period_before, as the Clients sheet "
    "codes it",
    "budget_type_after": "the client's budget type in period",
    "people": "people present in both periods' Clients sheets (by client_ref) with these "
    "budget types",
    "label_only": "of those people, how many kept the same services, arrangements, providers "
    "and weekly cost within relabel_cost_tolerance (as P003 counts them); blank where the "
    "budget type did not change",
    "people_followed": "people present in both periods' Clients sheets",
    "moves": "people followed whose budget type changed",
    "label_only_moves": "moves with the same services, arrangements, providers and weekly cost "
    "within relabel_cost_tolerance: a new name for the same support",
    "label_only_rate": "label_only_moves over moves",
    "target_rate": "label-only moves over moves of every council in the period: the funnel's "
    "centre",
    "lower_95": "lower 95% funnel limit for the council's label_only_rate (target_rate - 1.96 "
    "x sqrt(s^2 + tau^2), s^2 = target_rate (1 - target_rate) / moves; held within 0 to 1)",
    "upper_95": "upper 95% funnel limit",
    "lower_998": "lower 99.8% funnel limit (3.09 instead of 1.96)",
    "upper_998": "upper 99.8% funnel limit",
    "outside_95": "label_only_rate outside the 95% limits",
    "outside_998": "label_only_rate outside the 99.8% limits",
    "overdispersion_phi": "the period's over-dispersion: mean squared z-score, winsorised at "
    "10% each end",
    "overdispersion_tau2": "the period's additive random-effect variance (0 unless "
    "at least 10 councils and phi x councils > councils - 1)",
}
