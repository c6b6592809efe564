"""Every table the aggregate writes, declared once: what it holds, and for each column in
order its name, polars dtype, kind and meaning.

The one home of the tables' columns: the table builders take their columns' order and
dtypes from here, tables.xlsx its number formats (by kind), the GX checkpoint its
expectations (by kind), and docs/aggregate-outputs.md all of it. A column means the same in
every table that has it, so it is declared once, by name, and each table lists the names it
has.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import polars as pl

from returns_kit.aggregate.review import EXPLAINED, SUSPICION
from returns_kit.measures import COUNTS, RATES


class Kind(Enum):
    """What a column's values are: how tables.xlsx shows them, what GX expects of them."""

    TEXT = "text"
    YES_NO = "yes/no"
    COUNT = "count"
    RATE = "rate"
    POINTS = "points"
    RANK = "rank"
    NUMBER = "number"


#: Each kind in a few words, as docs/aggregate-outputs.md explains them.
KIND_MEANINGS = {
    Kind.TEXT: "words, codes or a date, as text",
    Kind.YES_NO: "true or false",
    Kind.COUNT: "how many people, clients, councils or findings: 0 or more",
    Kind.RATE: "a share within 0..1 (0.25 = 25%), shown as a percentage in `tables.xlsx`",
    Kind.POINTS: "a change between two rates: a fraction in the CSV and Parquet (0.146), "
    "percentage points in `tables.xlsx` (14.6, shown `+14.6 pts`)",
    Kind.RANK: "a place in an order, 1 first",
    Kind.NUMBER: "any other number, shown as stored: a score, a statistic, a sheet row, or a "
    "value that is a rate for some measures and a count for others",
}


@dataclass(frozen=True)
class Column:
    """One column, the same in every table that has it."""

    name: str
    dtype: pl.DataType
    kind: Kind
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The columns and their dtypes, in order, as polars takes a schema."""
        return {column.name: column.dtype for column in self.columns}

    def of_kind(self, *kinds: Kind) -> list[str]:
        return [column.name for column in self.columns if column.kind in kinds]

    @property
    def floats(self) -> list[str]:
        """The Float64 columns: each table rounds them to 6 decimals, which keeps a rate
        exact to a person in a million, and the CSVs stable."""
        return [column.name for column in self.columns if column.dtype == pl.Float64]


def _weights() -> str:
    """The review list's rule weights, as its column description gives them."""
    return ", ".join(f"{weight:g} {rule}" for rule, weight in SUSPICION.items())


_STRING, _INT, _FLOAT, _BOOL = pl.String(), pl.Int64(), pl.Float64(), pl.Boolean()
#: Councils counted by pl.len() or a sum of booleans: polars' type of such a count.
_TALLY = pl.UInt32()

_COUNT_MEANINGS = {
    "people_total": "people accessing long-term support in the community",
    "dp_self_managed": "people with a self-managed direct payment",
    "dp_part": "people with a part direct payment",
    "third_party_managed": "people with a budget managed by a third party",
    "isf": "people with an Individual Service Fund",
    "council_managed": "people with a council-managed or nominal budget",
    "no_personal_budget": "people with commissioned support only",
}
_RATE_MEANINGS = {
    "pb_rate": "personal budget rate: all five budget types over people_total (ASCOF 1C(1A))",
    "dp_rate": "direct payment rate: self-managed, part and third-party over people_total "
    "(ASCOF 1C(2A))",
    "choice_rate": "direct payments, third-party and ISF over people_total",
    "council_managed_share": "council_managed over personal budget holders",
}
_SPREAD_MEANINGS = {
    "min": "lowest council {}",
    "median": "median council {}",
    "max": "highest council {}",
}

COLUMNS: dict[str, Column] = {
    column.name: column
    for column in (
        Column(
            "path",
            _STRING,
            Kind.TEXT,
            "the input file, as found under the paths given (for the same bytes found under "
            "several names, the first of them)",
        ),
        Column(
            "names",
            _STRING,
            Kind.TEXT,
            "every name the same bytes were found under, sorted, separated by ' | ': one "
            "submission, never counted twice",
        ),
        Column(
            "sha256",
            _STRING,
            Kind.TEXT,
            "SHA-256 of the file's content: what identifies a submission",
        ),
        Column(
            "submitted_on",
            _STRING,
            Kind.TEXT,
            "the return's submitted_on (About sheet), which orders a council's returns for a "
            "period",
        ),
        Column(
            "council_code",
            _STRING,
            Kind.TEXT,
            "the council's GSS code (a former code is given as the current one)",
        ),
        Column("council_name", _STRING, Kind.TEXT, "the reference name of the council"),
        Column("period", _STRING, Kind.TEXT, "financial year, YYYY-YY"),
        Column(
            "status",
            _STRING,
            Kind.TEXT,
            "included (the council's current return for the period: used), superseded (a valid "
            "return a later submitted_on replaced: kept, not used, not a failure), excluded (it "
            "has errors or names no council and period; exit 1), conflict (two different valid "
            "returns with the same submitted_on: neither used; exit 1), unused (read, but its "
            "period is not collected), skipped (not read: not a workbook by its name, an Excel "
            "lock file ~$..., hidden, or inside --out) or missing (an expected council sent "
            "nothing)",
        ),
        Column(
            "reason",
            _STRING,
            Kind.TEXT,
            "why the return is included among several, superseded, excluded, in conflict, "
            "unused, skipped or missing",
        ),
        Column("errors", _INT, Kind.COUNT, "error findings in the file"),
        Column("queries", _INT, Kind.COUNT, "query findings in the file"),
        Column("region_code", _STRING, Kind.TEXT, "GSS code of the English region"),
        Column("region_name", _STRING, Kind.TEXT, "name of the English region"),
        Column(
            "geography_code",
            _STRING,
            Kind.TEXT,
            "GSS code of the council, region or England (E92000001)",
        ),
        Column("geography_name", _STRING, Kind.TEXT, "name of the council, region or England"),
        Column("level", _STRING, Kind.TEXT, "council, region or england"),
        Column("age_band", _STRING, Kind.TEXT, "18-64, 65+ or ALL"),
        Column("support_reason", _STRING, Kind.TEXT, "a support reason code or ALL"),
        Column(
            "councils_expected", _TALLY, Kind.COUNT, "councils in the reference list for the period"
        ),
        Column("councils_included", _TALLY, Kind.COUNT, "councils whose return was included"),
        Column(
            "councils_with_clients",
            _TALLY,
            Kind.COUNT,
            "included councils whose return has a Clients sheet",
        ),
        *(Column(name, _INT, Kind.COUNT, _COUNT_MEANINGS[name]) for name in COUNTS),
        *(Column(name, _FLOAT, Kind.RATE, _RATE_MEANINGS[name]) for name in RATES),
        Column(
            "block_contract_share",
            _FLOAT,
            Kind.RATE,
            "people in BLOCK_CONTRACT rows over people in all Services rows",
        ),
        Column(
            "nominal_rate",
            _FLOAT,
            Kind.RATE,
            "nominal budgets over people_total, where Clients exist",
        ),
        Column(
            "adjusted_pb_rate", _FLOAT, Kind.RATE, "pb_rate less nominal_rate, where Clients exist"
        ),
        Column(
            "service_people",
            _INT,
            Kind.COUNT,
            "people summed over all Services rows (a person may count more than once)",
        ),
        Column(
            "block_contract_people",
            _INT,
            Kind.COUNT,
            "people summed over BLOCK_CONTRACT Services rows",
        ),
        Column(
            "nominal_budgets",
            _INT,
            Kind.COUNT,
            "council-managed budgets that are nominal, where Clients exist",
        ),
        *(
            Column(f"{rate}_{stat}", _FLOAT, Kind.RATE, meaning.format(rate))
            for rate in ("pb_rate", "choice_rate")
            for stat, meaning in _SPREAD_MEANINGS.items()
        ),
        Column("rule", _STRING, Kind.TEXT, "rule id"),
        Column("rule_name", _STRING, Kind.TEXT, "readable rule name"),
        Column("severity", _STRING, Kind.TEXT, "error, query, warning or info"),
        Column(
            "explained",
            _BOOL,
            Kind.YES_NO,
            "for a query: answered by the return's Explanations sheet",
        ),
        Column("pb_rate_before", _FLOAT, Kind.RATE, "pb_rate in the previous period"),
        Column("pb_rate_after", _FLOAT, Kind.RATE, "pb_rate in this period"),
        Column(
            "choice_rate_change", _FLOAT, Kind.POINTS, "choice_rate now less choice_rate before"
        ),
        Column(
            "service_shift",
            _FLOAT,
            Kind.NUMBER,
            "total variation distance between the two periods' shares of people by service "
            "type and arrangement (0 = same mix, 1 = nothing in common)",
        ),
        Column(
            "block_share_before",
            _FLOAT,
            Kind.RATE,
            "block_contract_share in the previous period",
        ),
        Column("block_share_after", _FLOAT, Kind.RATE, "block_contract_share in this period"),
        Column(
            "relabelled_clients",
            _INT,
            Kind.COUNT,
            "clients moved from no budget to council-managed with the same services, providers "
            "and cost (P003), where both periods have Clients",
        ),
        Column(
            "pb_change_rank",
            _INT,
            Kind.RANK,
            "rank of the council's pb_rate change among councils compared that period (1 = "
            "largest rise)",
        ),
        Column("councils_compared", _INT, Kind.COUNT, "councils with a comparison that period"),
        Column(
            "pb_change_robust_z",
            _FLOAT,
            Kind.NUMBER,
            "(change - median change) / (1.4826 x median absolute deviation)",
        ),
        Column(
            "measure",
            _STRING,
            Kind.TEXT,
            "P010-P012: the measure screened (pb_rate, choice_rate, dp_rate, people_total, "
            "direct_payments, direct_payments/18-64, direct_payments/65+, council_managed, "
            "home_care: people in HOME_CARE Services rows not bought by direct payment); also "
            "the finding's scope",
        ),
        Column(
            "value_before",
            _FLOAT,
            Kind.NUMBER,
            "P010, P011: the measure in the previous period; P012: the council's own reference "
            "(the median of its earlier periods, or for a spike the count two periods back)",
        ),
        Column("value_after", _FLOAT, Kind.NUMBER, "P010-P012: the measure in this period"),
        Column(
            "score",
            _FLOAT,
            Kind.NUMBER,
            "P010: the Hidiroglou-Berthelot effect (the centred ratio of after to before, times "
            "the council's size to the power hb_u; size is people_total for the rates); P011, "
            "P012: the factor of the change (2 = doubled or halved)",
        ),
        Column(
            "lower",
            _FLOAT,
            Kind.NUMBER,
            "P010: the lower cut-off, median effect less hb_c times the lower quartile distance",
        ),
        Column(
            "upper",
            _FLOAT,
            Kind.NUMBER,
            "P010: the upper cut-off, median effect plus hb_c times the upper quartile distance",
        ),
        Column(
            "related_measure",
            _STRING,
            Kind.TEXT,
            "P011: the related count that moved the other way",
        ),
        Column(
            "related_before", _FLOAT, Kind.NUMBER, "P011: the related count in the previous period"
        ),
        Column("related_after", _FLOAT, Kind.NUMBER, "P011: the related count in this period"),
        Column(
            "review_rank",
            _INT,
            Kind.RANK,
            "the council-period's place in its period's review list, 1 = look first: by "
            "review_score, then review_suspicion, then review_people_moved, then council code; "
            "blank for notices (P005, P006) with no query",
        ),
        Column("review_score", _FLOAT, Kind.NUMBER, "review_suspicion x review_impact"),
        Column(
            "review_suspicion",
            _FLOAT,
            Kind.NUMBER,
            "how unexplained the change is: 1 - product(1 - w) over the council-period's query "
            f"rules, w = {_weights()}, {EXPLAINED:g} of that where the Explanations sheet "
            "answers the query",
        ),
        Column(
            "review_impact",
            _FLOAT,
            Kind.NUMBER,
            "the mean of review_impact_national and review_impact_regional",
        ),
        Column(
            "review_impact_national",
            _FLOAT,
            Kind.NUMBER,
            "review_people_moved over England's people_total in the period: about how much of "
            "the national rates the council alone moves",
        ),
        Column(
            "review_impact_regional",
            _FLOAT,
            Kind.NUMBER,
            "review_people_moved over the council's region's people_total in the period",
        ),
        Column(
            "review_people_moved",
            _INT,
            Kind.COUNT,
            "the larger of the council's change in people with a personal budget and its change "
            "in people_total since the previous period",
        ),
        Column("message", _STRING, Kind.TEXT, "the finding's message"),
        Column("sheet", _STRING, Kind.TEXT, "the sheet of the finding"),
        Column("cell", _STRING, Kind.TEXT, "the A1 cell of the finding"),
        Column("row", _INT, Kind.NUMBER, "the sheet row of the finding"),
        Column("column", _STRING, Kind.TEXT, "the column or About field of the finding"),
        Column("scope", _STRING, Kind.TEXT, "the finding's scope, e.g. 65+/MEMORY_COGNITION"),
        Column(
            "evidence",
            _STRING,
            Kind.TEXT,
            "the numbers behind the finding, as JSON (P012's holds the council's series by period)",
        ),
        Column(
            "period_before", _STRING, Kind.TEXT, "the earlier of the two periods compared, YYYY-YY"
        ),
        Column(
            "budget_type_before",
            _STRING,
            Kind.TEXT,
            "the client's budget type in period_before, as the Clients sheet codes it",
        ),
        Column("budget_type_after", _STRING, Kind.TEXT, "the client's budget type in period"),
        Column(
            "people",
            _INT,
            Kind.COUNT,
            "people present in both periods' Clients sheets (by client_ref) with these budget "
            "types",
        ),
        Column(
            "label_only",
            _INT,
            Kind.COUNT,
            "of those people, how many kept the same services, arrangements, providers and "
            "weekly cost within relabel_cost_tolerance (as P003 counts them); blank where the "
            "budget type did not change",
        ),
        Column(
            "people_followed", _INT, Kind.COUNT, "people present in both periods' Clients sheets"
        ),
        Column("moves", _INT, Kind.COUNT, "people followed whose budget type changed"),
        Column(
            "label_only_moves",
            _INT,
            Kind.COUNT,
            "moves with the same services, arrangements, providers and weekly cost within "
            "relabel_cost_tolerance: a new name for the same support",
        ),
        Column("label_only_rate", _FLOAT, Kind.RATE, "label_only_moves over moves"),
        Column(
            "target_rate",
            _FLOAT,
            Kind.RATE,
            "label-only moves over moves of every council in the period: the funnel's centre",
        ),
        Column(
            "lower_95",
            _FLOAT,
            Kind.RATE,
            "lower 95% funnel limit for the council's label_only_rate (target_rate - 1.96 x "
            "sqrt(s^2 + tau^2), s^2 = target_rate (1 - target_rate) / moves; held within 0 to 1)",
        ),
        Column("upper_95", _FLOAT, Kind.RATE, "upper 95% funnel limit"),
        Column("lower_998", _FLOAT, Kind.RATE, "lower 99.8% funnel limit (3.09 instead of 1.96)"),
        Column("upper_998", _FLOAT, Kind.RATE, "upper 99.8% funnel limit"),
        Column("outside_95", _BOOL, Kind.YES_NO, "label_only_rate outside the 95% limits"),
        Column("outside_998", _BOOL, Kind.YES_NO, "label_only_rate outside the 99.8% limits"),
        Column(
            "overdispersion_phi",
            _FLOAT,
            Kind.NUMBER,
            "the period's over-dispersion: mean squared z-score, winsorised at 10% each end",
        ),
        Column(
            "overdispersion_tau2",
            _FLOAT,
            Kind.NUMBER,
            "the period's additive random-effect variance (0 unless at least 10 councils and "
            "phi x councils > councils - 1)",
        ),
    )
}


def _table(name: str, description: str, names: tuple[str, ...]) -> Table:
    return Table(name, description, tuple(COLUMNS[column] for column in names))


#: What a council, region or England row holds beside its key: counts and rates.
_MEASURED = (*COUNTS, *RATES, "block_contract_share", "nominal_rate")
#: Counts beyond the spec's that make block-contract share and nominal rate add up too.
_EXTRA_COUNTS = ("service_people", "block_contract_people", "nominal_budgets")
#: A region's or England's councils counted; then those with Clients, and the spread of the
#: council rates.
_COUNCILS_COUNTED = ("councils_expected", "councils_included")
_CLIENTS_AND_SPREAD = (
    "councils_with_clients",
    *(f"{rate}_{stat}" for rate in ("pb_rate", "choice_rate") for stat in _SPREAD_MEANINGS),
)

#: What a row of the breakdowns is about.
BREAKDOWN_KEY = (
    "period",
    "level",
    "geography_code",
    "geography_name",
    "age_band",
    "support_reason",
)
#: The flag columns a screen of the period (P010-P012) fills from its evidence.
SCREEN_FLAG_COLUMNS = (
    "measure",
    "value_before",
    "value_after",
    "score",
    "lower",
    "upper",
    "related_measure",
    "related_before",
    "related_after",
)

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        _table(
            "manifest",
            "One row per submission (a file's content, listed once under every name it was "
            "found under), one row per file or folder not read (skipped, with why), and one "
            "row per council expected in a collected period that sent no return (missing). "
            "Which return is used follows the collection rules: the latest valid submitted_on; "
            "an earlier one is superseded; one with errors never displaces a valid one; two "
            "different valid returns with the same submitted_on are in conflict.",
            (
                "path",
                "names",
                "sha256",
                "council_code",
                "period",
                "submitted_on",
                "status",
                "reason",
                "errors",
                "queries",
            ),
        ),
        _table(
            "councils",
            "One row per included return: the council's counts and rates.",
            (
                "period",
                "council_code",
                "council_name",
                "region_code",
                "region_name",
                *_MEASURED,
                "adjusted_pb_rate",
                *_EXTRA_COUNTS,
            ),
        ),
        _table(
            "regions",
            "One row per period and English region, from the included councils' summed counts.",
            (
                "period",
                "region_code",
                "region_name",
                *_COUNCILS_COUNTED,
                *_MEASURED,
                *_CLIENTS_AND_SPREAD,
                *_EXTRA_COUNTS,
            ),
        ),
        _table(
            "england",
            "One row per period for England, from the included councils' summed counts.",
            (
                "period",
                "geography_code",
                "geography_name",
                *_COUNCILS_COUNTED,
                *_MEASURED,
                *_CLIENTS_AND_SPREAD,
                *_EXTRA_COUNTS,
            ),
        ),
        _table(
            "breakdowns",
            "Counts and rates by period, geography level (council, region, england), age band "
            "and support reason, with ALL margins; one row per combination.",
            (
                *BREAKDOWN_KEY,
                *COUNTS,
                *RATES,
            ),
        ),
        _table(
            "flags",
            "One row per period-to-period finding per council: the pair rules P001-P006 and the "
            "aggregate's screens of the period P010-P012, with their evidence, how the "
            "council's change in personal budget rate ranks in that period, and the "
            "council-period's place in the review list (review_rank 1 = look first; its score "
            "is suspicion x impact, with both parts as columns).",
            (
                "period",
                "council_code",
                "council_name",
                "rule",
                "rule_name",
                "severity",
                "explained",
                "pb_rate_before",
                "pb_rate_after",
                "choice_rate_change",
                "service_shift",
                "block_share_before",
                "block_share_after",
                "relabelled_clients",
                "pb_change_rank",
                "councils_compared",
                "pb_change_robust_z",
                *SCREEN_FLAG_COLUMNS,
                "review_rank",
                "review_score",
                "review_suspicion",
                "review_impact",
                "review_impact_national",
                "review_impact_regional",
                "review_people_moved",
                "message",
                "evidence",
            ),
        ),
        _table(
            "findings",
            "Every finding of every input file, and the period-to-period findings.",
            (
                "path",
                "council_code",
                "period",
                "rule",
                "severity",
                "explained",
                "sheet",
                "cell",
                "row",
                "column",
                "scope",
                "message",
                "evidence",
            ),
        ),
        _table(
            "transitions",
            "Where a council's returns for two consecutive periods both have a Clients sheet: "
            "the people present in both, by budget type before and after (every one of the 36 "
            "pairs, zeros too), and how many of those who changed type kept the same support. "
            "Counts only, never a client reference; not written with --publish (no disclosure "
            "control yet).",
            (
                "council_code",
                "council_name",
                "period_before",
                "period",
                "budget_type_before",
                "budget_type_after",
                "people",
                "label_only",
            ),
        ),
        _table(
            "label_only",
            "One row per council and period in transitions: its moves between budget types, "
            "the share that were label-only, and funnel limits for that share around the rate "
            "of all councils followed in the period, with over-dispersion (Spiegelhalter 2005; "
            "see docs/funnels.md). Not written with --publish.",
            (
                "council_code",
                "council_name",
                "period_before",
                "period",
                "people_followed",
                "moves",
                "label_only_moves",
                "label_only_rate",
                "target_rate",
                "lower_95",
                "upper_95",
                "lower_998",
                "upper_998",
                "outside_95",
                "outside_998",
                "overdispersion_phi",
                "overdispersion_tau2",
            ),
        ),
    )
}


def kind_of(column: str) -> Kind | None:
    """The declared kind of a column of any table; None for a column no table declares."""
    declared = COLUMNS.get(column)
    return declared.kind if declared is not None else None
