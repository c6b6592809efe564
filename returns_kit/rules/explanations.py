"""The Explanations sheet: checking it (E001, E002) and marking the queries it answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from returns_kit.cells import fold
from returns_kit.findings import Finding, Severity
from returns_kit.rules.catalogue import RULES, finding
from returns_kit.rules.context import ROW, ReturnContext


@dataclass(frozen=True)
class Explanation:
    rule: str
    scope: str | None
    text: str


def explanations(context: ReturnContext) -> list[Explanation]:
    """The explanations long enough to count."""
    sheet = context.sheet("Explanations")
    if sheet is None or not sheet.has("rule", "explanation"):
        return []
    minimum = context.thresholds.explanation_min_chars
    scope = pl.col("scope") if sheet.has("scope") else pl.lit(None, dtype=pl.String)
    rows = sheet.complete("rule", "explanation").select(
        pl.col("rule").str.to_uppercase(), scope.alias("scope"), pl.col("explanation")
    )
    return [
        Explanation(rule, scope or None, text)
        for rule, scope, text in rows.iter_rows()
        if len(text.strip()) >= minimum
    ]


def mark_explained(findings: list[Finding], given: list[Explanation]) -> list[Finding]:
    """Each query finding marked explained or not; other findings unchanged."""
    answered = {(e.rule, fold(e.scope) if e.scope else None) for e in given}
    rules_answered = {e.rule for e in given}
    marked = []
    for item in findings:
        if item.severity is Severity.QUERY:
            if item.scope is None:
                explained = item.rule in rules_answered
            else:
                explained = (item.rule, fold(item.scope)) in answered
            item = item.with_explained(explained)
        marked.append(item)
    return marked


def explanation_too_short(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Explanations")
    if sheet is None or not sheet.has("explanation"):
        return
    minimum = context.thresholds.explanation_min_chars
    short = sheet.complete("explanation").filter(
        pl.col("explanation").str.strip_chars().str.len_chars() < minimum
    )
    for row in short.iter_rows(named=True):
        yield finding(
            "E001",
            {"characters": len(row["explanation"].strip()), "explanation_min_chars": minimum},
            **sheet.at("explanation", row[ROW]),
        )


def explanation_not_a_query(context: ReturnContext) -> Iterator[Finding]:
    sheet = context.sheet("Explanations")
    if sheet is None or not sheet.has("rule"):
        return
    for row in sheet.complete("rule").iter_rows(named=True):
        rule_id = row["rule"].upper()
        rule = RULES.get(rule_id)
        if rule is not None and rule.severity is Severity.QUERY:
            continue
        if rule is None:
            variant, params = "not_a_rule", {"rule": rule_id}
        else:
            variant, params = "not_a_query", {"rule": rule_id, "severity": rule.severity.value}
        yield finding(
            "E002",
            params,
            variant=variant,
            **sheet.at("rule", row[ROW]),
        )
