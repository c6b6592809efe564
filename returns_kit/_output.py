"""Render reports for people at a terminal (the CLI's text format)."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from returns_kit.findings import Finding, Severity
from returns_kit.report import FileReport, Report
from returns_kit.rules.catalogue import RULES

#: Text output shows this many findings of one rule in one sheet, then a count of the rest.
SHOW_PER_RULE = 20


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def _tally(errors: int, queries: int, warnings: int, infos: int) -> str:
    return (
        f"{_count(errors, 'error')}, {_count(queries, 'query', 'queries')}, "
        f"{_count(warnings, 'warning')}, {infos:,} info"
    )


def _summary(report: FileReport) -> str:
    counts = report.counts()
    tally = _tally(counts["error"], counts["query"], counts["warning"], counts["info"])
    return f"{tally}; {report.unexplained_queries:,} unexplained"


def _line(item: Finding) -> str:
    where = item.cell or (f"row {item.row}" if item.row else "")
    rule = RULES[item.rule]
    explained = " [explained]" if item.explained else ""
    scope = f" [{item.scope}]" if item.scope and item.scope not in item.message else ""
    return (
        f"    {where:<8} {item.severity.value:<7} {item.rule} {rule.name}: "
        f"{item.message}{scope}{explained}"
    )


def _heading(report: FileReport, strict: bool) -> str:
    who = ", ".join(
        part
        for part in (
            f"{report.council_name} ({report.council_code})"
            if report.council_name
            else report.council_code,
            report.period,
        )
        if part
    )
    verdict = "valid" if report.passes(strict) else "NOT VALID"
    if report.valid and not report.passes(strict):
        verdict += " (--strict: unexplained queries)"
    return f"{report.path}" + (f" — {who}" if who else "") + f": {verdict}"


def render_file(report: FileReport, strict: bool = False) -> list[str]:
    lines = [_heading(report, strict)]
    for sheet, items in groupby(report.findings, key=lambda f: f.sheet):
        lines.append(f"  {sheet or '(workbook)'}")
        shown: Counter[str] = Counter()
        hidden: Counter[str] = Counter()
        for item in items:
            if shown[item.rule] < SHOW_PER_RULE:
                shown[item.rule] += 1
                lines.append(_line(item))
            else:
                hidden[item.rule] += 1
        for rule_id, count in sorted(hidden.items()):
            lines.append(
                f"    … and {count:,} more {rule_id} findings in this sheet "
                "(--format json lists them all)"
            )
    lines.append(f"  {_summary(report)}")
    return lines


def summary_table(report: Report) -> list[str]:
    """One line per file: council, period and its counts, worst first by the exit rule."""
    heading = ("file", "council", "period", "errors", "queries", "warnings", "result")
    rows = []
    for file_report in report.files:
        counts = file_report.counts()
        rows.append(
            (
                file_report.path,
                file_report.council_code or "-",
                file_report.period or "-",
                str(counts["error"]),
                str(counts["query"]),
                str(counts["warning"]),
                "valid" if file_report.passes(report.strict) else "NOT VALID",
            )
        )
    widths = [max(len(row[i]) for row in (heading, *rows)) for i in range(len(heading))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            row[i].ljust(widths[i]) if i < 3 or i == 6 else row[i].rjust(widths[i])
            for i in range(len(row))
        ]
        return "  ".join(cells).rstrip()

    return [line(heading), *(line(row) for row in rows)]


def render_text(report: Report) -> str:
    lines: list[str] = []
    for file_report in report.files:
        lines.extend(render_file(file_report, report.strict))
        lines.append("")
    if len(report.files) > 1:
        lines.extend(summary_table(report))
        lines.append("")
    passed = sum(1 for f in report.files if f.passes(report.strict))
    total = len(report.files)
    severity_totals = Counter(
        f.severity for file_report in report.files for f in file_report.findings
    )
    tally = _tally(*(severity_totals[severity] for severity in Severity))
    lines.append(
        f"{_count(total, 'file')} checked: {passed} valid, {total - passed} not valid; {tally}."
    )
    return "\n".join(lines)
