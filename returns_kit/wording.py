"""The words every report uses for the same things: text, HTML pages, CI formats, annotated copy.

One set, so that an officer who reads the terminal, the page and the annotated workbook
meets the same verdict and the same names. The severities keep the spec's names (error,
query, warning, info); the verdict uses the spec's "accepted" and "rejected" and says what
is left to do; a finding that belongs to no sheet is about the whole workbook or, for the
period-to-period rules, between periods.
"""

from __future__ import annotations

from dataclasses import dataclass

from returns_kit.findings import Finding, Severity

#: Where a finding that names no sheet belongs.
WHOLE_WORKBOOK = "Whole workbook"
BETWEEN_PERIODS = "Between periods"

#: Each severity's name in a count: "1 error", "4 queries", "2 warnings", "3 info".
_PLURAL = {
    Severity.ERROR: "errors",
    Severity.QUERY: "queries",
    Severity.WARNING: "warnings",
    Severity.INFO: "info",
}


def place(item: Finding) -> str:
    """The sheet a finding is about, or the name of the place of one that names no sheet."""
    if item.sheet:
        return item.sheet
    return BETWEEN_PERIODS if item.rule.startswith("P") else WHOLE_WORKBOOK


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and its noun, singular for one: "1 person", "1,200 people", "2 files".

    >>> counted(1, "person", "people"), counted(1_200, "person", "people"), counted(2, "file")
    ('1 person', '1,200 people', '2 files')
    """
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def count(number: int, severity: Severity) -> str:
    """A count of findings of one severity: "1 query", "4 queries", "0 info"."""
    return f"{number:,} {severity.value if number == 1 else _PLURAL[severity]}"


def tally(counts: dict[str, int]) -> str:
    """Counts by severity, most severe first: "0 errors, 4 queries, 0 warnings, 0 info"."""
    return ", ".join(count(counts.get(severity.value, 0), severity) for severity in Severity)


@dataclass(frozen=True)
class Verdict:
    """What a return's check comes to, and what is left to do."""

    text: str  #: "Accepted", "Accepted, 4 queries to explain", "Rejected, 2 errors to fix"
    kind: str  #: "accepted" (nothing left), "to-explain" (queries left) or "rejected"


def verdict(errors: int, unexplained: int, strict: bool = False) -> Verdict:
    """The verdict on a return with ``errors`` errors and ``unexplained`` unexplained queries;
    with ``strict``, an unexplained query is not accepted."""
    if errors:
        return Verdict(f"Rejected, {count(errors, Severity.ERROR)} to fix", "rejected")
    if not unexplained:
        return Verdict("Accepted", "accepted")
    to_explain = f"{count(unexplained, Severity.QUERY)} to explain"
    if strict:
        return Verdict(f"Not accepted under --strict, {to_explain}", "rejected")
    return Verdict(f"Accepted, {to_explain}", "to-explain")
