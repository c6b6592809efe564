"""Render reports for people at a terminal (the CLI's text format)."""

from __future__ import annotations

from collections import Counter

from returns_kit.findings import Finding
from returns_kit.report import FileReport, Report
from returns_kit.rules.catalogue import RULES
from returns_kit.wording import BETWEEN_PERIODS, counted, place, tally, verdict

#: Text output shows this many findings of one rule in one sheet, then a count of the rest.
SHOW_PER_RULE = 20


def _summary(report: FileReport) -> str:
    return f"{tally(report.counts())}; {report.unexplained_queries:,} unexplained"


def _verdict(report: FileReport, strict: bool) -> str:
    return verdict(report.counts()["error"], report.unexplained_queries, strict).text


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
    return f"{report.path}" + (f" — {who}" if who else "") + f": {_verdict(report, strict)}"


def render_file(report: FileReport, strict: bool = False) -> list[str]:
    lines = [_heading(report, strict)]
    # By place, in the order the findings come (by sheet, the whole workbook's first), and
    # the comparison with the previous return last, as the page shows them.
    places: dict[str, list[Finding]] = {}
    for item in report.findings:
        places.setdefault(place(item), []).append(item)
    if BETWEEN_PERIODS in places:
        places[BETWEEN_PERIODS] = places.pop(BETWEEN_PERIODS)
    for where, items in places.items():
        lines.append(f"  {where}")
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
                _verdict(file_report, report.strict),
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
    totals = Counter(f.severity.value for file_report in report.files for f in file_report.findings)
    lines.append(
        f"{counted(total, 'file')} checked: {passed:,} accepted, {total - passed:,} not accepted; "
        f"{tally(totals)}."
    )
    return "\n".join(lines)
