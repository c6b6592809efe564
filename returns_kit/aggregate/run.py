"""Run an aggregate: validate every input, choose the returns to use, build every table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from returns_kit.aggregate.batch import Processed, process_all
from returns_kit.aggregate.cache import ResultCache
from returns_kit.aggregate.columns import TABLES
from returns_kit.aggregate.discover import discover
from returns_kit.aggregate.flags import period_results
from returns_kit.aggregate.manifest import Selection, select
from returns_kit.aggregate.tables import (
    breakdown_table,
    council_table,
    england_table,
    reconcile,
    region_table,
)
from returns_kit.config import Thresholds
from returns_kit.errors import ReturnsKitError
from returns_kit.findings import Finding
from returns_kit.reference import load_reference
from returns_kit.wording import counted


class NoReturns(ReturnsKitError, ValueError):
    """The paths hold no workbook to aggregate (a usage problem, not a finding)."""


@dataclass
class AggregateOptions:
    thresholds: Thresholds = field(default_factory=Thresholds)
    #: "latest": when two different valid returns of a council for a period carry the same
    #: submitted_on, use the file modified last (its time of receipt, as far as a folder
    #: knows) instead of leaving both out as a conflict
    prefer: str | None = None
    publish: bool = False
    cache_dir: Path | None = None
    workers: int | None = None
    #: the periods being collected (--periods); None: those the returns name
    periods: tuple[str, ...] | None = None
    #: the output folder: nothing inside it is read as a return
    out: Path | None = None
    #: with publish: the earlier release of the same periods (publish.read_previous)
    previous: Any = None


@dataclass
class AggregateResult:
    tables: dict[str, pl.DataFrame]
    selection: Selection
    #: with publish: what was suppressed and why (publish.Certificate), for disclosure.json
    certificate: Any = None

    @property
    def exit_code(self) -> int:
        return self.selection.exit_code

    def summary(self, out: Path) -> str:
        """The one line a run ends with: what became of the returns, how many flags, and
        where the tables are ("608 returns included, 0 superseded, ...")."""
        manifest = self.tables["manifest"]
        counts = {
            status: manifest.filter(manifest["status"] == status).height
            for status in ("included", "superseded", "excluded", "conflict", "missing")
        }
        return (
            f"{counts['included']:,} returns included, {counts['superseded']:,} superseded, "
            f"{counts['excluded']:,} excluded, "
            f"{counts['conflict']:,} in conflict, {counts['missing']:,} missing; "
            f"{self.tables['flags'].height:,} period-to-period flags. Tables in {out}/"
        )


def _finding_rows(
    path: str, code: str | None, period: str | None, findings: list[Finding]
) -> list[dict[str, object]]:
    import json

    return [
        {
            "path": path,
            "council_code": code,
            "period": period,
            "rule": f.rule,
            "severity": f.severity.value,
            "explained": f.explained,
            "sheet": f.sheet,
            "cell": f.cell,
            "row": f.row,
            "column": f.column,
            "scope": f.scope,
            "message": f.message,
            "evidence": json.dumps(f.evidence, sort_keys=True) if f.evidence is not None else None,
        }
        for f in findings
    ]


def findings_table(
    processed: list[Processed],
    period_findings: dict[tuple[str, str], list[Finding]],
    selection: Selection,
) -> pl.DataFrame:
    rows = []
    for item in processed:
        report = item.report
        rows += _finding_rows(item.path, report.council_code, report.period, report.findings)
    for (code, period), findings in period_findings.items():
        rows += _finding_rows(selection.included[(code, period)].path, code, period, findings)
    return pl.DataFrame(rows, schema=TABLES["findings"].schema).sort(
        "path", "sheet", "row", "cell", "rule", "message", nulls_last=False
    )


def aggregate(
    paths: Sequence[Path],
    options: AggregateOptions,
    progress: Callable[..., None] | None = None,
) -> AggregateResult:
    """``progress(done, total)`` as files are validated, and with ``--publish``
    ``progress(done, total, "protecting", "small counts")`` as primary cells are protected."""
    reference = load_reference()
    found = discover(paths, options.out)
    if not found.workbooks:
        raise NoReturns(_nothing_found(paths, found.skipped))
    cache = ResultCache(options.cache_dir, options.thresholds)
    processed = process_all(
        found.workbooks, options.thresholds, cache, workers=options.workers, progress=progress
    )
    received = _modified(found.workbooks) if options.prefer == "latest" else None
    selection = select(
        processed, found.skipped, reference, periods=options.periods, received=received
    )
    results = period_results(selection, reference, options.thresholds)
    councils = council_table(selection.included, reference)
    regions = region_table(councils, reference, selection.periods)
    england = england_table(councils, reference, selection.periods)
    breakdowns = breakdown_table(selection.included, reference)
    reconcile(councils, regions, england, breakdowns)
    tables = {
        "manifest": selection.manifest,
        "councils": councils,
        "regions": regions,
        "england": england,
        "breakdowns": breakdowns,
        "flags": results.flags,
        "findings": findings_table(processed, results.findings, selection),
    }
    if not options.publish:
        # Client-level counts have no disclosure control yet: not in a published release.
        from returns_kit.transitions import transition_tables

        tables.update(transition_tables(selection, reference, options.thresholds))
    if options.publish:
        from returns_kit.aggregate.publish import publishable

        def protecting(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total, "protecting", "small counts")

        tables, certificate = publishable(tables, options.previous, protecting)
        return AggregateResult(tables, selection, certificate)
    return AggregateResult(tables, selection)


def _nothing_found(paths: Sequence[Path], skipped: Sequence[tuple[Path, str]]) -> str:
    where = ", ".join(str(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
    also = f" ({counted(len(skipped), 'other file')} skipped)" if skipped else ""
    return f"no workbook to aggregate in {where}{also}; returns are .xlsx or .ods files."


def _modified(paths: Sequence[Path]) -> dict[str, datetime]:
    """Each file's modification time: its time of receipt, for ``--prefer latest``."""
    times = {}
    for path in paths:
        try:
            times[str(path)] = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            continue  # gone since: validation says so, and it has no time of receipt
    return times
