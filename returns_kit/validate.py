"""Validate a return: inspect the container, read its sheets, run the compiled checks and rules.

One bad workbook never stops a batch: whatever goes wrong becomes a finding in
that file's report.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from returns_kit.compile import check_table
from returns_kit.config import Limits, Thresholds
from returns_kit.findings import Finding
from returns_kit.measures import ReturnSummary
from returns_kit.periods import Period
from returns_kit.reference import Reference, load_reference
from returns_kit.report import FileReport, Report
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ReturnContext, Sheet
from returns_kit.rules.explanations import Explanation, explanations, mark_explained
from returns_kit.rules.ran import RulesRun
from returns_kit.rules.registry import run_rules
from returns_kit.schema import sheet_specs
from returns_kit.summary import summarise
from returns_kit.template import INSTRUCTIONS_SHEET, LISTS_SHEET, is_template_sheet
from returns_kit.workbook.container import inspect_container
from returns_kit.workbook.extent import column_number
from returns_kit.workbook.reader import RawSheet, WorkbookReader
from returns_kit.workbook.tables import locate_table


@dataclass
class Validated:
    """A return's report, and (when it has no error) the summary the aggregate works from."""

    report: FileReport
    summary: ReturnSummary | None = None
    explanations: list[Explanation] = field(default_factory=list)
    #: when returns_kit failed on the file (X001): the traceback, for --debug
    traceback: str | None = None

    def add_findings(self, findings: list[Finding]) -> None:
        """Add findings from outside the file (the period-to-period rules), marked explained
        or not by the file's own Explanations sheet."""
        marked = mark_explained(findings, self.explanations)
        self.report.rules_run = self.report.rules_run.compared(findings)
        self.report.findings = sorted([*self.report.findings, *marked], key=_order)


def validate_return(
    path: str | Path,
    *,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
    reference: Reference | None = None,
) -> Validated:
    """Validate one workbook, keeping what the period rules and the aggregate need of it."""
    path = Path(path)
    try:
        return _validate(
            path, thresholds or Thresholds(), limits or Limits(), reference or load_reference()
        )
    except Exception as exc:  # a defect of ours must not hide the rest of a batch
        return internal_error(path, exc)


def internal_error(path: str | Path, exc: BaseException) -> Validated:
    """X001 for a file returns_kit failed on, keeping the traceback apart from the report.

    The message names only the exception's type: its text may quote a cell's value.
    """
    name = type(exc).__name__
    found = finding("X001", {"exception": name}, evidence={"exception": name})
    trace = "".join(traceback.format_exception(exc))
    return Validated(FileReport(str(path), [found]), traceback=trace)


def validate_file(
    path: str | Path,
    *,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
    reference: Reference | None = None,
) -> FileReport:
    """Validate one workbook and report every finding.

    >>> report = validate_file("fixtures/valid/hartlepool-2013-14.xlsx")  # doctest: +SKIP
    >>> report.valid, report.council_code, report.period  # doctest: +SKIP
    (True, 'E06000001', '2013-14')
    """
    return validate_return(path, thresholds=thresholds, limits=limits, reference=reference).report


def validate_files(
    paths: Iterable[str | Path], *, strict: bool = False, thresholds: Thresholds | None = None
) -> Report:
    return Report([validate_file(path, thresholds=thresholds) for path in paths], strict=strict)


def _match_sheets(names: list[str]) -> tuple[dict[str, str], list[Finding]]:
    """Canonical sheet name -> name as written; F009 for repeats, F006 for other sheets."""
    specs = sheet_specs()
    wanted = {name.casefold(): name for name in specs}
    matched: dict[str, str] = {}
    findings = []
    for written in names:
        canonical = wanted.get(written.strip().casefold())
        if canonical is None:
            findings.append(
                finding(
                    "F006",
                    {"sheet_name": written},
                    sheet=written,
                )
            )
        elif canonical in matched:
            findings.append(
                finding(
                    "F009",
                    {
                        "read_sheet": matched[canonical],
                        "ignored_sheet": written,
                        "sheet_name": canonical,
                    },
                    variant="repeated_sheet",
                    sheet=canonical,
                )
            )
        else:
            matched[canonical] = written
    for name, spec in specs.items():
        if spec.required and name not in matched:
            findings.append(finding("F004", {"sheet_name": name}, sheet=name))
    return matched, findings


def _validate(
    path: Path, thresholds: Thresholds, limits: Limits, reference: Reference
) -> Validated:
    container = inspect_container(path, limits)
    if container.findings:
        return Validated(FileReport(str(path), list(container.findings)))
    reader = WorkbookReader.open(path, container.kind, limits)
    if not isinstance(reader, WorkbookReader):
        return Validated(FileReport(str(path), [reader]))
    matched, findings = _match_sheets(reader.sheet_names)
    findings = [item for item in findings if not _template_sheet(reader, item)]
    context = ReturnContext(reference=reference, thresholds=thresholds)
    for canonical, written in matched.items():
        raw = reader.read(written)
        if not isinstance(raw, RawSheet):
            findings.append(raw)
            continue
        spec = sheet_specs()[canonical]
        table, located = locate_table(raw, spec)
        findings.extend(located)
        if table is None:
            continue
        if not spec.required and table.frame.height == 0:
            # An optional sheet left as the template gave it: not sent, rather than sent
            # with nobody in it (which would contradict every count in Budgets). Nothing
            # to report: the template carries both optional sheets, and most councils
            # leave them empty.
            continue
        unreadable = dict(container.unreadable_cells.get(written, ()))
        checked = check_table(table, unreadable)
        findings.extend(checked.findings)
        context.sheets[canonical] = Sheet(table, checked.frame)
    _read_about(context)
    findings.extend(run_rules(context))
    given = explanations(context)
    findings = mark_explained(_without_shadowed(findings), given)
    report = FileReport(
        str(path),
        sorted(findings, key=_order),
        council_code=context.about.get("council_code"),
        period=str(context.period) if context.period else None,
        council_name=context.council.name if context.council else None,
        rules_run=RulesRun(True, frozenset(matched), frozenset(context.sheets)),
    )
    return Validated(report, summarise(context) if report.valid else None, given)


def _template_sheet(reader: WorkbookReader, item: Finding) -> bool:
    """Whether ``item`` is the F006 of a sheet the template adds (its guide or code lists)."""
    if item.rule != "F006" or item.sheet is None:
        return False
    if item.sheet.strip().casefold() not in TEMPLATE_SHEETS:
        return False
    raw = reader.read(item.sheet)
    if not isinstance(raw, RawSheet) or raw.frame.height == 0:
        return False
    return is_template_sheet(item.sheet, list(raw.frame.row(0)))


def _read_about(context: ReturnContext) -> None:
    about = context.sheet("About")
    if about is None or about.typed.height == 0:
        return
    context.about = {k: v for k, v in about.typed.row(0, named=True).items() if v is not None}
    period = context.about.get("period")
    context.period = Period.parse(period) if period else None
    code = context.about.get("council_code")
    context.council = context.reference.lookup(code) if code else None


def _without_shadowed(findings: list[Finding]) -> list[Finding]:
    """Drop a V001 where C001 says more about the same cell (an identifier is not a bad form)."""
    identified = {(f.sheet, f.cell) for f in findings if f.rule == "C001"}
    return [f for f in findings if not (f.rule == "V001" and (f.sheet, f.cell) in identified)]


#: The sheets the template adds besides the return's, folded as sheet names are matched.
TEMPLATE_SHEETS = frozenset(name.casefold() for name in (INSTRUCTIONS_SHEET, LISTS_SHEET))

_SHEET_ORDER = {name: index for index, name in enumerate(sheet_specs())}


def _column_index(cell: str | None) -> int:
    return column_number("".join(ch for ch in cell or "" if ch.isalpha()))


def _order(item: Finding) -> tuple[int, str, int, int, str, str]:
    sheet_rank = -1 if item.sheet is None else _SHEET_ORDER.get(item.sheet, len(_SHEET_ORDER))
    return (
        sheet_rank,
        item.sheet or "",
        item.row or 0,
        _column_index(item.cell),
        item.rule,
        item.scope or "",
    )
