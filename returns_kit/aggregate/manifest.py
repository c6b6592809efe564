"""Which returns an aggregate uses, by the collection rules (returns_kit.collection).

Every input is listed: included (the current return), superseded, excluded (errors),
in conflict, unused (its period is not collected), skipped (not read), and every
council expected in a collected period that sent nothing, missing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from returns_kit.aggregate.batch import Processed
from returns_kit.aggregate.columns import TABLES
from returns_kit.collection import Choice, Status, Submission, choose_current
from returns_kit.findings import Severity
from returns_kit.periods import Period
from returns_kit.reference import Reference

#: Statuses that need a person (a return with errors, or returns in conflict): exit 1.
NEEDS_A_PERSON = frozenset({"excluded", "conflict"})
#: Between every name the same bytes were found under, in the ``names`` column.
NAMES_SEPARATOR = " | "
#: Without --periods, a period named by fewer councils than this share of the best-covered
#: period's is taken for a slip (a mistyped year), not a period being collected.
STRAY_PERIOD_SHARE = 0.1

Key = tuple[str, str]


@dataclass
class Selection:
    """The returns an aggregate uses, by (council, period), and the manifest saying why."""

    included: dict[Key, Processed]
    manifest: pl.DataFrame
    #: the periods being collected: given by --periods, or those the returns name
    periods: list[str]
    #: the collection rules' decision for every (council, period) of a collected period
    choices: dict[Key, Choice] = field(default_factory=dict)
    #: lines for the person running the aggregate, such as a period left out as a slip
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when a return has errors or returns are in conflict (someone must act), else 0.

        Superseded, unused, skipped and missing rows are listed but fail nothing."""
        statuses = set(self.manifest["status"].to_list())
        return 1 if statuses & NEEDS_A_PERSON else 0


def _key(item: Processed, reference: Reference) -> Key | None:
    report = item.report
    if report.council_code is None or report.period is None:
        return None
    if Period.parse(report.period) is None:
        return None
    council = reference.lookup(report.council_code)
    return (council.gss_code if council else report.council_code, report.period)


def _why_excluded(item: Processed) -> str:
    errors = Counter(f.rule for f in item.report.findings if f.severity is Severity.ERROR)
    if not errors:
        return "could not be summarised"
    listed = ", ".join(f"{rule} x{n}" if n > 1 else rule for rule, n in sorted(errors.items()))
    return f"{sum(errors.values())} error{'s' if sum(errors.values()) > 1 else ''}: {listed}"


def _submission(item: Processed, key: Key, received: Mapping[str, datetime] | None) -> Submission:
    times = [received[n] for n in item.names or [item.path] if received and n in received]
    return Submission(
        sha256=item.sha256,
        names=tuple(item.names or [item.path]),
        council_code=key[0],
        period=key[1],
        submitted_on=item.summary.submitted_on if item.summary else None,
        received_at=min(times) if times else None,
        valid=item.report.valid and item.summary is not None,
        has_errors=not item.report.valid,
    )


def collected_periods(
    named: Mapping[str, set[str]], periods: Sequence[str] | None
) -> tuple[list[str], dict[str, str], list[str]]:
    """(periods collected, why each other named period is not, warning lines).

    ``named`` maps each period the returns name to the councils naming it. With
    ``periods`` (--periods) exactly those are collected. Without, every period named is,
    except one named by under a tenth as many councils as the best-covered period: one
    mistyped year must not add a whole period of missing councils. It is left out with a
    warning, and --periods collects it."""
    if periods is not None:
        chosen = sorted(set(periods))
        listed = ", ".join(chosen)
        return chosen, {p: f"{p} is not among the periods collected ({listed})" for p in named}, []
    best = max((len(c) for c in named.values()), default=0)
    stray = {p for p, councils in named.items() if len(councils) < STRAY_PERIOD_SHARE * best}
    chosen = sorted(set(named) - stray)
    top = max(chosen, key=lambda p: (len(named[p]), p)) if chosen else ""
    why: dict[str, str] = {}
    warnings = []
    for period in sorted(stray):
        count = len(named[period])
        what = f"{count} council{'s' if count > 1 else ''}"
        why[period] = (
            f"only {what} named {period}, against {best} for {top}: taken for a slip, "
            "not collected (--periods collects it)"
        )
        warnings.append(
            f"warning: only {what} named {period} (against {best} for {top}); its returns "
            f"are listed as unused and its missing councils not counted. Name the periods "
            f"with --periods to collect it."
        )
    return chosen, why, warnings


def select(
    processed: list[Processed],
    skipped: Sequence[tuple[Path, str]],
    reference: Reference,
    *,
    periods: Sequence[str] | None = None,
    received: Mapping[str, datetime] | None = None,
) -> Selection:
    """Choose the current return of every council and period by the collection rules, and
    list every input and every missing council in the manifest.

    ``received`` gives a time of receipt by file name, which breaks a tie of submitted_on
    (``--prefer latest`` passes the files' modification times; a ledger, its own)."""
    keyed: list[tuple[Processed, Key | None]] = [(p, _key(p, reference)) for p in processed]
    named: dict[str, set[str]] = defaultdict(set)
    for _, key in keyed:
        if key is not None:
            named[key[1]].add(key[0])
    chosen, not_collected, warnings = collected_periods(named, periods)
    rows: list[dict[str, object]] = []

    def row(item: Processed, key: Key | None, status: str, reason: str) -> None:
        counts = item.report.counts()
        rows.append(
            {
                "path": item.path,
                "names": NAMES_SEPARATOR.join(item.names or [item.path]),
                "sha256": item.sha256,
                "council_code": key[0] if key else None,
                "period": key[1] if key else None,
                "submitted_on": item.summary.submitted_on.isoformat()
                if item.summary and item.summary.submitted_on
                else None,
                "status": status,
                "reason": reason,
                "errors": counts["error"],
                "queries": counts["query"],
            }
        )

    by_name: dict[str, Processed] = {}
    submissions: list[Submission] = []
    for item, key in keyed:
        if key is None:
            why = _why_excluded(item)
            row(
                item,
                None,
                "excluded",
                "no valid council_code and period on the About sheet; " + why,
            )
        elif key[1] not in chosen:
            row(item, key, "unused", not_collected[key[1]])
        else:
            submission = _submission(item, key, received)
            by_name[submission.name] = item
            submissions.append(submission)

    choices = choose_current(submissions)
    included: dict[Key, Processed] = {}
    for key, choice in choices.items():
        for verdict in choice.verdicts:
            item = by_name[verdict.submission.name]
            if verdict.status is Status.CURRENT:
                included[key] = item
                older = len(choice.superseded)
                reason = f"the latest of {older + 1} returns for {key[0]} {key[1]}" if older else ""
                row(item, key, "included", reason)
            elif verdict.status is Status.REJECTED:
                why = _why_excluded(item)
                if choice.current is not None:
                    why += f"; the valid return {choice.current.name} is used"
                row(item, key, "excluded", why)
            else:
                row(item, key, verdict.status.value, verdict.reason)
    for path, why in skipped:
        rows.append(
            {
                "path": str(path),
                "names": str(path),
                "sha256": None,
                "council_code": None,
                "period": None,
                "submitted_on": None,
                # Listed, so nothing handed to the run goes unaccounted for, but not read:
                # a README or a lock file beside the returns should not fail the run.
                "status": "skipped",
                "reason": why,
                "errors": None,
                "queries": None,
            }
        )
    sent = {s.key for s in submissions}
    for period in chosen:
        for council in reference.active(Period.of(period)):
            if (council.gss_code, period) not in sent:
                rows.append(
                    {
                        "path": None,
                        "names": None,
                        "sha256": None,
                        "council_code": council.gss_code,
                        "period": period,
                        "submitted_on": None,
                        "status": "missing",
                        "reason": "no return received",
                        "errors": None,
                        "queries": None,
                    }
                )
    manifest = pl.DataFrame(rows, schema=TABLES["manifest"].schema).sort(
        "period", "council_code", "status", "path", nulls_last=True
    )
    return Selection(included, manifest, chosen, choices, warnings)
