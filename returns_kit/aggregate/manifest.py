"""Which returns an aggregate uses: included, excluded (with why), in conflict, or missing."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from returns_kit.aggregate.batch import Processed
from returns_kit.findings import Severity
from returns_kit.periods import Period
from returns_kit.reference import Reference

MANIFEST_SCHEMA = {
    "path": pl.String,
    "sha256": pl.String,
    "council_code": pl.String,
    "period": pl.String,
    "status": pl.String,
    "reason": pl.String,
    "errors": pl.Int64,
    "queries": pl.Int64,
}


@dataclass
class Selection:
    """The returns an aggregate uses, by (council, period), and the manifest saying why."""

    included: dict[tuple[str, str], Processed]
    manifest: pl.DataFrame
    periods: list[str]

    @property
    def exit_code(self) -> int:
        """1 when any input was excluded or in conflict, else 0."""
        statuses = set(self.manifest["status"].to_list())
        return 1 if statuses & {"excluded", "conflict"} else 0


def _key(item: Processed, reference: Reference) -> tuple[str, str] | None:
    report = item.report
    if report.council_code is None or report.period is None:
        return None
    council = reference.lookup(report.council_code)
    return (council.gss_code if council else report.council_code, report.period)


def _why_excluded(item: Processed) -> str:
    errors = Counter(f.rule for f in item.report.findings if f.severity is Severity.ERROR)
    if not errors:
        return "could not be summarised"
    listed = ", ".join(f"{rule} x{n}" if n > 1 else rule for rule, n in sorted(errors.items()))
    return f"{sum(errors.values())} error{'s' if sum(errors.values()) > 1 else ''}: {listed}"


def select(
    processed: list[Processed], others: list[Path], reference: Reference, prefer: str | None
) -> Selection:
    rows: list[dict[str, object]] = []
    candidates: dict[tuple[str, str], list[Processed]] = defaultdict(list)
    periods: set[str] = set()
    sent: set[tuple[str, str]] = set()

    def row(item: Processed, status: str, reason: str) -> None:
        key = _key(item, reference)
        counts = item.report.counts()
        rows.append(
            {
                "path": item.path,
                "sha256": item.sha256,
                "council_code": key[0] if key else None,
                "period": key[1] if key else None,
                "status": status,
                "reason": reason,
                "errors": counts["error"],
                "queries": counts["query"],
            }
        )

    for item in processed:
        key = _key(item, reference)
        if key is not None and Period.parse(key[1]) is not None:
            periods.add(key[1])
            sent.add(key)
        if key is None or not item.report.valid or item.summary is None:
            row(
                item,
                "excluded",
                _why_excluded(item)
                if key
                else "no valid council_code and period on the About sheet; " + _why_excluded(item),
            )
        else:
            candidates[key].append(item)

    included: dict[tuple[str, str], Processed] = {}
    for key, items in sorted(candidates.items()):
        if len(items) == 1:
            included[key] = items[0]
            row(items[0], "included", "")
            continue
        chosen = _latest(items) if prefer == "latest" else None
        for item in items:
            if chosen is None:
                others_here = ", ".join(o.path for o in items if o is not item)
                row(
                    item,
                    "conflict",
                    f"{len(items)} returns for {key[0]} {key[1]} (also {others_here}); none used",
                )
            elif item is chosen:
                included[key] = item
                row(item, "included", f"latest of {len(items)} returns for {key[0]} {key[1]}")
            else:
                row(item, "excluded", f"superseded by {chosen.path}, submitted later")
    for path in others:
        rows.append(
            {
                "path": str(path),
                "sha256": None,
                "council_code": None,
                "period": None,
                # Listed, so nothing handed to the run goes unaccounted for, but not an
                # excluded return: a README beside the returns should not fail the run.
                "status": "skipped",
                "reason": "not a workbook by its name (.xlsx, .ods)",
                "errors": None,
                "queries": None,
            }
        )
    for period in sorted(periods):
        for council in reference.active(Period.parse(period)):  # type: ignore[arg-type]
            if (council.gss_code, period) not in sent:
                rows.append(
                    {
                        "path": None,
                        "sha256": None,
                        "council_code": council.gss_code,
                        "period": period,
                        "status": "missing",
                        "reason": "no return received",
                        "errors": None,
                        "queries": None,
                    }
                )
    manifest = pl.DataFrame(rows, schema=MANIFEST_SCHEMA).sort(
        "period", "council_code", "status", "path", nulls_last=True
    )
    return Selection(included, manifest, sorted(periods))


def _latest(items: list[Processed]) -> Processed | None:
    """The return submitted last, or None when the latest date is shared (still a conflict)."""
    dates = [item.summary.submitted_on if item.summary else None for item in items]
    known = [d for d in dates if d is not None]
    if len(known) < len(items):
        return None
    last = max(known)
    latest = [item for item, d in zip(items, dates, strict=True) if d == last]
    return latest[0] if len(latest) == 1 else None
