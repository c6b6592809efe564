"""Period-to-period flags for every council's consecutive periods, each with its evidence.

A council's series continues through a one-to-one successor (Somerset E10000027 to
E06000066). Each flag carries the rates before and after, the change in choice
rate, the service shift, the block-contract share before and after, relabelled
clients where Clients exist, and how the council's change ranks in that period.
The screens of the period (P010-P012, :mod:`returns_kit.aggregate.screens`) join the pair
rules' flags with their own evidence, and every flagged council-period gets its place in
the review list (:mod:`returns_kit.aggregate.review`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from returns_kit.aggregate.batch import Processed
from returns_kit.aggregate.columns import SCREEN_FLAG_COLUMNS, TABLES
from returns_kit.aggregate.manifest import Selection
from returns_kit.aggregate.review import IMPACT_SCHEMA, PREFIX, review
from returns_kit.aggregate.screens import screen_returns
from returns_kit.collection import Choice
from returns_kit.config import Thresholds
from returns_kit.findings import Finding
from returns_kit.measures import PERSONAL_BUDGETS
from returns_kit.periods import Period
from returns_kit.reference import Reference
from returns_kit.rules.catalogue import RULES
from returns_kit.rules.explanations import mark_explained
from returns_kit.rules.periods import (
    Comparison,
    p005_no_comparison,
    p006_no_previous,
    period_findings,
)

#: Consistency constant making the median absolute deviation estimate a standard deviation.
MAD_SCALE = 1.4826

FLAGS = TABLES["flags"]


@dataclass
class PeriodResults:
    #: the findings of the period rules, by the (council, period) of the later return
    findings: dict[tuple[str, str], list[Finding]]
    flags: pl.DataFrame


def _previous_key(code: str, period: str, reference: Reference) -> tuple[str, str] | None:
    before = Period.of(period).previous()
    council = reference.councils[code]
    if council.active_in(before):
        return code, str(before)
    continued = reference.continues(code)
    return (continued.gss_code, str(before)) if continued is not None else None


def period_results(
    selection: Selection, reference: Reference, thresholds: Thresholds
) -> PeriodResults:
    found: dict[tuple[str, str], list[Finding]] = {}
    compared: dict[tuple[str, str], Comparison] = {}
    for key, item in sorted(selection.included.items()):
        code, period = key
        before_period = str(Period.of(period).previous())
        if before_period not in selection.periods:
            continue  # the run does not collect the earlier period: nothing to compare with
        previous_key = _previous_key(code, period, reference)
        if previous_key is None:
            broken = p005_no_comparison(code, period, reference, thresholds, has_previous=False)
            findings = [broken] if broken else []
        elif previous_key in selection.included:
            previous = selection.included[previous_key]
            comparison, findings = period_findings(
                previous.summary, item.summary, reference, thresholds
            )
            if comparison is not None:
                compared[key] = comparison
        else:
            # A series break stops every comparison, usable previous return or not.
            broken = p005_no_comparison(code, period, reference, thresholds, has_previous=True)
            findings = [broken or _no_previous(selection.choices.get(previous_key), before_period)]
        if findings:
            found[key] = mark_explained(findings, item.explanations)
    summaries = {
        key: item.summary for key, item in selection.included.items() if item.summary is not None
    }
    screened = screen_returns(summaries, reference, thresholds, compared)
    for key, findings in sorted(screened.items()):
        marked = mark_explained(findings, selection.included[key].explanations)
        found[key] = [*found.get(key, []), *marked]
    return PeriodResults(found, _flag_table(selection.included, found, compared, reference))


def _no_previous(choice: Choice | None, before_period: str) -> Finding:
    """P006, naming why the council's previous return cannot be used."""
    if choice is None:
        return p006_no_previous(before_period, "missing")
    if choice.conflict:
        return p006_no_previous(before_period, "conflict", len(choice.conflict))
    if any(s.has_errors for s in choice.rejected):
        return p006_no_previous(before_period, "errors")
    return p006_no_previous(before_period, "unusable")


def _ranks(compared: dict[tuple[str, str], Comparison]) -> pl.DataFrame:
    rows = [
        {"council_code": code, "period": period, "change": comparison.evidence["pb_rate_change"]}
        for (code, period), comparison in compared.items()
    ]
    frame = pl.DataFrame(
        rows, schema={"council_code": pl.String, "period": pl.String, "change": pl.Float64}
    )
    deviation = (pl.col("change") - pl.col("change").median().over("period")).abs()
    mad = deviation.median().over("period") * MAD_SCALE
    return frame.with_columns(
        pl.col("change")
        .rank("min", descending=True)
        .over("period")
        .cast(pl.Int64)
        .alias("pb_change_rank"),
        pl.len().over("period").cast(pl.Int64).alias("councils_compared"),
        pl.when(mad > 0)
        .then((pl.col("change") - pl.col("change").median().over("period")) / mad)
        .alias("pb_change_robust_z"),
    )


def _flag_table(
    included: dict[tuple[str, str], Processed],
    found: dict[tuple[str, str], list[Finding]],
    compared: dict[tuple[str, str], Comparison],
    reference: Reference,
) -> pl.DataFrame:
    ranks = {(r["council_code"], r["period"]): r for r in _ranks(compared).iter_rows(named=True)}
    rows = []
    for (code, period), findings in sorted(found.items()):
        evidence = compared[(code, period)].evidence if (code, period) in compared else {}
        rank = ranks.get((code, period), {})
        for item in findings:
            rows.append(
                {
                    "period": period,
                    "council_code": code,
                    "council_name": reference.councils[code].name,
                    "rule": item.rule,
                    "rule_name": RULES[item.rule].name,
                    "severity": item.severity.value,
                    "explained": item.explained,
                    "pb_rate_before": evidence.get("pb_rate_before"),
                    "pb_rate_after": evidence.get("pb_rate_after"),
                    "choice_rate_change": evidence.get("choice_rate_change"),
                    "service_shift": evidence.get("service_shift"),
                    "block_share_before": evidence.get("block_share_before"),
                    "block_share_after": evidence.get("block_share_after"),
                    "relabelled_clients": evidence.get("relabelled_clients"),
                    "pb_change_rank": rank.get("pb_change_rank"),
                    "councils_compared": rank.get("councils_compared"),
                    "pb_change_robust_z": rank.get("pb_change_robust_z"),
                    **_screened(item),
                    "message": item.message,
                    "evidence": json.dumps(item.evidence, sort_keys=True)
                    if item.evidence is not None
                    else None,
                }
            )
    unranked = {name: dtype for name, dtype in FLAGS.schema.items() if not name.startswith(PREFIX)}
    frame = pl.DataFrame(rows, schema=unranked)
    ranked = review(frame, _impact(included, compared, reference))
    frame = (
        frame.join(ranked, on=["council_code", "period"], how="left")
        .select(pl.col(name).cast(dtype) for name, dtype in FLAGS.schema.items())
        .sort("period", "council_code", "rule", "measure", nulls_last=False)
    )
    return frame.with_columns(pl.col(FLAGS.floats).round(6))


#: Of each screen, the evidence keys its flag columns show: measure, before, after, score,
#: lower and upper cut-offs, related measure and its before and after.
SCREEN_COLUMNS = {
    "P010": ("measure", "previous", "current", "score", "lower", "upper", None, None, None),
    "P011": (
        "measure",
        "previous",
        "current",
        "factor",
        None,
        None,
        "related",
        "related_previous",
        "related_current",
    ),
    "P012": ("measure", "reference", "current", "factor", None, None, None, None, None),
}


def _screened(item: Finding) -> dict[str, Any]:
    """A screen's flag columns from its evidence (numbers as data, never read from text)."""
    keys = SCREEN_COLUMNS.get(item.rule)
    evidence = item.evidence or {}
    if keys is None:
        return dict.fromkeys(SCREEN_FLAG_COLUMNS)
    return {
        name: (evidence.get(key) if key is not None else None)
        for name, key in zip(SCREEN_FLAG_COLUMNS, keys, strict=True)
    }


def _impact(
    included: dict[tuple[str, str], Processed],
    compared: dict[tuple[str, str], Comparison],
    reference: Reference,
) -> pl.DataFrame:
    """Each compared council-period's people moved, and England's and its region's people."""
    national: dict[str, int] = {}
    regional: dict[tuple[str, str], int] = {}
    for (code, period), item in included.items():
        if item.summary is None:
            continue
        people = item.summary.counts["people_total"]
        region = reference.councils[code].region_code
        national[period] = national.get(period, 0) + people
        regional[(region, period)] = regional.get((region, period), 0) + people
    rows = []
    for (code, period), comparison in compared.items():
        before, after = comparison.before.counts, comparison.after.counts
        holders = sum(after[name] for name in PERSONAL_BUDGETS) - sum(
            before[name] for name in PERSONAL_BUDGETS
        )
        total = after["people_total"] - before["people_total"]
        region = reference.councils[code].region_code
        rows.append(
            {
                "council_code": code,
                "period": period,
                "people_moved": max(abs(holders), abs(total)),
                "national_people": national.get(period),
                "regional_people": regional.get((region, period)),
            }
        )
    return pl.DataFrame(rows, schema=IMPACT_SCHEMA)


#: Of each flag rule, the columns its message quotes: the message is published only where
#: they all are. P002 quotes the service shift, whose counts (the service mix) are never
#: published, so its message never is.
MESSAGE_QUOTES = {
    "P001": ("pb_rate_before", "pb_rate_after"),
    "P002": ("pb_rate_before", "pb_rate_after", "choice_rate_change", "service_shift"),
    "P003": ("relabelled_clients",),
    "P004": ("people_total_before", "people_total_after"),
    "P010": ("value_before", "value_after"),
    # The screens of counts quote counts the release does not publish as such (home care
    # comes from the Services sheet; direct payments by age band are protected cells).
    "P011": ("value_before", "value_after", "related_before", "related_after"),
    "P012": ("value_before", "value_after"),
}
#: P010's measures as the published council table has them.
PUBLISHED_MEASURES = frozenset({"pb_rate", "choice_rate", "dp_rate", "people_total"})


#: a flag's message in a published release where it would quote what is not published
WITHHELD = "Details withheld: the message quotes figures this release does not publish."


def publishable_flags(flags: pl.DataFrame, councils: pl.DataFrame) -> pl.DataFrame:
    """The flags with each rate, change, rank and message blank where the council rates or
    counts they come from are not published in ``councils`` (the published council table).

    The service shift comes from service counts no table publishes, so it is left out; a
    relabelled-client count of 1 to 4 is blanked like any other count. A screen's values,
    score and cut-offs are shown only for P010 on a measure the council table publishes in
    both periods (P011 and P012 quote counts it does not); the review list's impact and
    score only where the council's counts they come from are published; the evidence JSON
    never (the columns carry what may be shown).
    """
    from returns_kit.reference import load_reference

    reference = load_reference()
    shown = {(row["council_code"], row["period"]): row for row in councils.iter_rows(named=True)}
    rows = []
    for row in flags.iter_rows(named=True):
        code, period = row["council_code"], row["period"]
        after = shown.get((code, period), {})
        before_key = _previous_key(code, period, reference)
        before = shown.get(before_key, {}) if before_key else {}
        out = dict(row)
        out["people_total_before"] = before.get("people_total")
        out["people_total_after"] = after.get("people_total")
        for column, source, name in (
            ("pb_rate_before", before, "pb_rate"),
            ("pb_rate_after", after, "pb_rate"),
            ("block_share_before", before, "block_contract_share"),
            ("block_share_after", after, "block_contract_share"),
        ):
            if source.get(name) is None:
                out[column] = None
        if before.get("choice_rate") is None or after.get("choice_rate") is None:
            out["choice_rate_change"] = None
        if out["pb_rate_before"] is None or out["pb_rate_after"] is None:
            out["pb_change_rank"] = None
            out["pb_change_robust_z"] = None
        out["service_shift"] = None
        measure = row["measure"]
        shown_measure = (
            row["rule"] == "P010"
            and measure in PUBLISHED_MEASURES
            and before.get(measure) is not None
            and after.get(measure) is not None
        )
        if not shown_measure:
            for column in ("value_before", "value_after", "score", "lower", "upper"):
                out[column] = None
            out["related_before"] = out["related_after"] = None
        counts_shown = all(
            side.get(name) is not None
            for side in (before, after)
            for name in ("people_total", "pb_rate")
        )
        if not counts_shown:
            for column in ("review_score", "review_impact", "review_people_moved"):
                out[column] = None
            out["review_impact_national"] = out["review_impact_regional"] = None
        out["evidence"] = None
        if out["relabelled_clients"] is not None and 1 <= out["relabelled_clients"] <= 4:
            out["relabelled_clients"] = None
        quoted = MESSAGE_QUOTES.get(row["rule"], ())
        if any(out[column] is None for column in quoted):
            out["message"] = WITHHELD
        rows.append({name: out[name] for name in FLAGS.names})
    return pl.DataFrame(rows, schema=FLAGS.schema)
