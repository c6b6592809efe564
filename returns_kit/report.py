"""Reports: the findings of one file and of a run, as data, JSON and a polars frame."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from returns_kit.findings import Finding, Severity
from returns_kit.rules.ran import RulesRun


@dataclass
class FileReport:
    """What validation found in one workbook."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    council_code: str | None = None
    period: str | None = None
    council_name: str | None = None  #: the reference name, when the council is known
    #: what the validation had to check; by default, a file that never opened
    rules_run: RulesRun = field(default_factory=RulesRun)

    @property
    def valid(self) -> bool:
        """No error: the return is accepted."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def unexplained_queries(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.QUERY and not f.explained)

    @property
    def not_run(self) -> dict[str, str]:
        """Rule id -> why it did not run, for each rule that did not (and found nothing)."""
        found = {item.rule for item in self.findings}
        return {rule: why for rule, why in self.rules_run.not_run().items() if rule not in found}

    def passes(self, strict: bool = False) -> bool:
        """Valid, and with ``strict`` every query explained too."""
        return self.valid and (not strict or self.unexplained_queries == 0)

    def counts(self) -> dict[str, int]:
        counted = Counter(f.severity.value for f in self.findings)
        return {severity.value: counted.get(severity.value, 0) for severity in Severity}

    def to_frame(self) -> Any:
        """Every finding as one row of a polars DataFrame (see :meth:`Report.to_frame`)."""
        return Report([self]).to_frame()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "valid": self.valid,
            "council_code": self.council_code,
            "period": self.period,
            "findings": [f.to_dict() for f in self.findings],
        }


#: The version of the JSON report (``Report.to_dict``, ``--format json``): the major number
#: changes when a field is removed or changes meaning, the minor when a field is added.
REPORT_VERSION = "1.1"  # 1.1: each finding's params


def report_document(files: list[dict[str, Any]], valid: bool) -> dict[str, Any]:
    """The JSON report of file reports already as data (:meth:`FileReport.to_dict`): one home
    for its shape, for ``--format json`` and for the collection service's API."""
    return {"version": REPORT_VERSION, "valid": valid, "files": files}


@dataclass
class Report:
    """What validation found in every file of a run."""

    files: list[FileReport]
    strict: bool = False

    @property
    def valid(self) -> bool:
        return all(report.passes(self.strict) for report in self.files)

    @property
    def exit_code(self) -> int:
        """0 when every file passes, 1 when any has an error (or, strict, an unexplained query)."""
        return 0 if self.valid else 1

    def to_dict(self) -> dict[str, Any]:
        return report_document([report.to_dict() for report in self.files], self.valid)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def flatten(self, keys: tuple[str, ...] = ("rule", "sheet", "cell")) -> list[list[Any]]:
        """Each finding as a list of the named fields, for tests and quick looks."""
        return [
            [finding.to_dict()[key] for key in keys]
            for report in self.files
            for finding in report.findings
        ]

    def to_frame(self) -> Any:
        """Every finding as one row of a polars DataFrame, with its file's path.

        Columns: path, rule, severity, message, params, sheet, cell, row, column, scope,
        explained, and evidence; params and evidence as JSON strings (or null). A run with
        no finding gives an empty frame with the same columns, so frames can be concatenated.
        """
        import polars as pl

        rows = [
            {
                "path": report.path,
                **{k: v for k, v in f.to_dict().items() if k not in ("params", "evidence")},
                "params": json.dumps(f.params) if f.params is not None else None,
                "evidence": json.dumps(f.evidence) if f.evidence is not None else None,
            }
            for report in self.files
            for f in report.findings
        ]
        schema = {
            "path": pl.String,
            "rule": pl.String,
            "severity": pl.String,
            "message": pl.String,
            "params": pl.String,
            "sheet": pl.String,
            "cell": pl.String,
            "row": pl.Int64,
            "column": pl.String,
            "scope": pl.String,
            "explained": pl.Boolean,
            "evidence": pl.String,
        }
        return pl.DataFrame(rows, schema=schema)
