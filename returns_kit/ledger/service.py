"""The ledger's operations: what ``returns collect ...`` does, as library functions.

Every operation that writes is one transaction (:func:`writing`), and takes the chain head's
lock first, so concurrent commands on one collection run one after the other and the log's
chain stays unbroken. Files are stored (written, flushed, renamed) before the transaction that
names them. Which return is current is decided by :mod:`returns_kit.collection`, the same rules
the folder aggregate uses.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from returns_kit import __version__
from returns_kit import collection as rules
from returns_kit.cells import fold
from returns_kit.findings import Finding, Severity
from returns_kit.ledger import audit, db, store
from returns_kit.ledger.clock import now, stamp
from returns_kit.ledger.config import FILE, CollectionConfig, CollectionError, load
from returns_kit.periods import Period
from returns_kit.reference import Reference, load_reference
from returns_kit.rules.catalogue import RULES
from returns_kit.rules.explanations import Explanation as GivenExplanation
from returns_kit.rules.explanations import mark_explained

if TYPE_CHECKING:
    from returns_kit.aggregate.cache import ResultCache

CACHE_FOLDER = "cache"

#: Statuses of a council in a period, in the spec's order.
NOT_RECEIVED = "not received"
WITH_ERRORS = "received with errors"
TO_EXPLAIN = "valid with queries to explain"
EXPLAINED = "valid and explained"
SIGNED_OFF = "signed off"
ACCEPTED = "accepted"
RETURNED = "returned"
STATUSES = (NOT_RECEIVED, WITH_ERRORS, TO_EXPLAIN, EXPLAINED, SIGNED_OFF, ACCEPTED, RETURNED)


@dataclass
class Ledger:
    folder: Path
    config: CollectionConfig
    database: dict[str, Any]
    collection: Any
    reference: Reference
    #: the chain head, locked, while a command writes (see :func:`writing`)
    head: Any = None

    @property
    def postgres(self) -> bool:
        return bool(self.database["ENGINE"].endswith("postgresql"))


def open_ledger(folder: Path, database_url: str | None = None) -> Ledger:
    """Open the collection in ``folder``: its settings, and its ledger brought up to date."""
    config = load(folder)
    settings = db.database_settings(folder, database_url)
    engine = "postgresql" if settings["ENGINE"].endswith("postgresql") else "sqlite"
    if engine != config.database:
        raise CollectionError(
            f"this collection's ledger is in {config.database}"
            + (
                ": give --database-url or set RETURNS_DATABASE_URL."
                if config.database == "postgresql"
                else f" ({db.SQLITE_FILE}); RETURNS_DATABASE_URL or --database-url names "
                "another database."
            )
        )
    try:
        import django  # noqa: F401
    except ImportError as problem:
        raise CollectionError(
            "collections need the [collect] extra: pip install 'returns_kit[collect]'"
        ) from problem
    db.use(settings)
    db.migrate()
    from returns_kit.ledger.models import Collection

    found = Collection.objects.filter(name=config.name).first()
    ledger = Ledger(folder, config, settings, found, load_reference())
    if found is None:
        _create(ledger)
    return ledger


def _create(ledger: Ledger) -> None:
    from django.db import IntegrityError, transaction

    from returns_kit.ledger.models import ChainHead, Collection

    at = now()
    try:
        with transaction.atomic():
            settings = _config_payload(ledger.config)
            ledger.collection = Collection.objects.create(
                name=ledger.config.name, created_at=at, settings=settings
            )
            ChainHead.objects.create(collection=ledger.collection, hash=audit.GENESIS)
            audit.append(ledger.collection, "init", settings, at)
    except IntegrityError:  # another command created it at the same moment
        ledger.collection = Collection.objects.get(name=ledger.config.name)


def _config_payload(config: CollectionConfig) -> dict[str, Any]:
    return {
        "name": config.name,
        "periods": list(config.periods),
        "councils": list(config.councils),
        "soft_deadline": config.soft_deadline.isoformat() if config.soft_deadline else None,
        "close": config.close.isoformat() if config.close else None,
        "publish_needs_signoff": config.publish_needs_signoff,
        "thresholds": config.thresholds_table,
    }


def init(folder: Path, config: CollectionConfig, database_url: str | None = None) -> Ledger:
    """Write ``DIR/collection.toml`` and create the ledger.

    The settings file is written first (whole, then renamed into place); the ledger's
    collection row is created by the first command that opens it, so a kill between the two
    leaves a collection that the next command completes.
    """
    path = folder / FILE
    if path.exists():
        raise CollectionError(f"{folder} is already a collection ({FILE} exists).")
    settings = db.database_settings(folder, database_url)
    folder.mkdir(parents=True, exist_ok=True)
    if settings["ENGINE"].endswith("postgresql"):
        db.use(settings)
        db.migrate()
        from returns_kit.ledger.models import Collection

        if Collection.objects.filter(name=config.name).exists():
            raise CollectionError(
                f"the database already holds a collection named {config.name!r}; choose "
                "another --name."
            )
    engine = "postgresql" if settings["ENGINE"].endswith("postgresql") else "sqlite"
    config = replace(config, database=engine)
    temporary = folder / f".{FILE}.incoming"
    temporary.write_text(config.to_toml(), encoding="utf-8")
    os.replace(temporary, path)
    return open_ledger(folder, database_url)


@contextmanager
def writing(ledger: Ledger) -> Iterator[None]:
    """One transaction holding the collection's write lock: every command that writes."""
    from django.db import transaction

    from returns_kit.ledger.models import ChainHead

    with transaction.atomic():
        # SQLite: the IMMEDIATE transaction already holds the database's write lock.
        # PostgreSQL: lock this collection's chain head row until the commit.
        ledger.head = ChainHead.objects.select_for_update().get(collection=ledger.collection)
        try:
            yield
            ledger.head.save(update_fields=["seq", "hash"])
        finally:
            ledger.head = None


def _log(ledger: Ledger, kind: str, payload: dict[str, Any], at: datetime) -> int:
    return int(audit.append(ledger.collection, kind, payload, at, ledger.head).seq)


# ---------------------------------------------------------------------------------------------
# Current returns


def _submissions(ledger: Ledger, **filters: Any) -> list[Any]:
    from returns_kit.ledger.models import Submission

    return list(
        Submission.objects.filter(collection=ledger.collection, **filters)
        .defer("report")
        .order_by("received_seq")
    )


def _as_rule_submission(row: Any, names: dict[int, tuple[str, ...]]) -> rules.Submission:
    # The ledger knows the order of receipt exactly (the log's sequence), even when two files
    # arrive within one command at one clock reading: the order is added in microseconds, so
    # the collection rules never see two receipts as simultaneous.
    return rules.Submission(
        sha256=row.sha256,
        names=names.get(row.pk, (row.sha256,)),
        council_code=row.council_code or None,
        period=row.period or None,
        submitted_on=row.submitted_on,
        received_at=row.received_at + timedelta(microseconds=row.received_seq),
        valid=row.valid,
        has_errors=row.errors > 0,
    )


def _names(rows: Sequence[Any]) -> dict[int, tuple[str, ...]]:
    from returns_kit.ledger.models import Arrival

    found: dict[int, list[str]] = {}
    for submission_id, name in (
        Arrival.objects.filter(submission_id__in=[r.pk for r in rows])
        .order_by("seq")
        .values_list("submission_id", "name")
    ):
        found.setdefault(submission_id, []).append(name)
    return {key: tuple(dict.fromkeys(value)) for key, value in found.items()}


@dataclass
class Current:
    """The current return of every (council, period) with submissions, and every row."""

    rows: dict[str, Any]  #: by sha256
    choices: dict[tuple[str, str], rules.Choice]
    names: dict[int, tuple[str, ...]]

    def current(self, key: tuple[str, str]) -> Any | None:
        choice = self.choices.get(key)
        if choice is None or choice.current is None:
            return None
        return self.rows[choice.current.sha256]


def currents(ledger: Ledger, **filters: Any) -> Current:
    rows = _submissions(ledger, **filters)
    names = _names(rows)
    choices = rules.choose_current(_as_rule_submission(row, names) for row in rows)
    return Current({row.sha256: row for row in rows}, choices, names)


class Known:
    """Every submission of the collection, held in memory while one command records many
    (under the write lock, so nothing else changes them): which is current is then decided
    without a query per file."""

    def __init__(self, ledger: Ledger) -> None:
        rows = _submissions(ledger)
        self.by_sha: dict[str, Any] = {row.sha256: row for row in rows}
        self.by_key: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            self.by_key.setdefault((row.council_code, row.period), []).append(row)
        self.names: dict[int, tuple[str, ...]] = _names(rows)

    def add(self, row: Any, name: str) -> None:
        self.by_sha[row.sha256] = row
        self.by_key.setdefault((row.council_code, row.period), []).append(row)
        self.names[row.pk] = (name,)

    def add_name(self, row: Any, name: str) -> None:
        known = self.names.get(row.pk, ())
        self.names[row.pk] = known if name in known else (*known, name)

    def currents(self, key: tuple[str, str]) -> Current:
        rows = self.by_key.get(key, [])
        choices = rules.choose_current(_as_rule_submission(row, self.names) for row in rows)
        return Current({row.sha256: row for row in rows}, choices, self.names)


# ---------------------------------------------------------------------------------------------
# Submit


@dataclass
class Outcome:
    """What happened to one file given to ``submit``."""

    name: str
    council_code: str | None
    council_name: str | None
    period: str | None
    sha256: str
    verdict: str
    what: str
    refused: bool = False
    has_errors: bool = False
    #: refused because the file names a council other than the sender's (or none at all)
    not_theirs: bool = False
    #: the file's validation report (``validate --format json``), recorded or not
    report: dict[str, Any] | None = None

    def line(self) -> str:
        who = (
            f"{self.council_name} ({self.council_code}), {self.period}"
            if self.council_code and self.period
            else "council and period unknown"
        )
        return f"{self.name} — {who}: {self.verdict}. {self.what}"


@dataclass
class SubmitResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if any(o.refused or o.has_errors for o in self.outcomes) else 0


def _rules_version(ledger: Ledger) -> str:
    from returns_kit.aggregate.cache import context_key

    return context_key(ledger.config.thresholds)


def _cache(ledger: Ledger) -> ResultCache:
    from returns_kit.aggregate.cache import ResultCache

    return ResultCache(ledger.folder / CACHE_FOLDER, ledger.config.thresholds)


def submit(
    ledger: Ledger,
    files: Sequence[Path],
    by: str = "",
    progress: Any = None,
    council: str | None = None,
) -> SubmitResult:
    """Store, validate and record each file, in the order given.

    With ``council`` (a council's own person sending), a file whose About names another
    council, or none that can be read, is refused and the refusal logged: a council cannot
    put a return on another council's record."""
    from returns_kit.aggregate.batch import process_all

    stored: list[tuple[Path, str, str]] = []  # (original, relative stored path, sha256)
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as problem:
            raise CollectionError(f"cannot read {path}: {problem.strerror}") from problem
        relative = store.store(ledger.folder, data, path.suffix)
        stored.append((path, relative, store.sha256_bytes(data)))
    # Validation reads the stored copy: exactly the bytes recorded, whatever happens to the
    # original meanwhile. It runs before the transaction, so a long batch holds no lock.
    cache = _cache(ledger)
    unique = list(dict.fromkeys(relative for _, relative, _ in stored))
    validated = process_all(
        [ledger.folder / relative for relative in unique],
        ledger.config.thresholds,
        cache,
        progress=progress,
    )
    by_path = {Path(item.path): item for item in validated}
    processed = [by_path[ledger.folder / relative] for _, relative, _ in stored]
    result = SubmitResult()
    summaries = {item.sha256: item.summary for item in processed}
    rules_version = _rules_version(ledger)
    with writing(ledger):
        at = now()
        known = Known(ledger)
        # Files given together arrive together: recorded earlier periods first, so that a
        # return is compared with the previous period's even when that came in the same
        # command after it. Within a period, the order given is the order of receipt.
        batch = sorted(
            zip(stored, processed, strict=True), key=lambda pair: pair[1].report.period or ""
        )
        for (path, relative, digest), item in batch:
            result.outcomes.append(
                _record(
                    ledger,
                    known,
                    path.name,
                    relative,
                    digest,
                    item,
                    by,
                    at,
                    summaries,
                    rules_version,
                    council,
                )  # fmt: skip
            )
    return result


def _key(ledger: Ledger, report: Any) -> tuple[str | None, str | None, str | None]:
    """(GSS code, period, council name) as the reference list knows them."""
    code, period = report.council_code, report.period
    if code is None or period is None:
        return None, None, None
    council = ledger.reference.lookup(code)
    if council is None:
        return code, period, None
    return council.gss_code, period, council.name


def _reopened(ledger: Ledger, code: str | None, period: str | None) -> bool:
    from django.db.models import Q

    from returns_kit.ledger.models import Reopening

    if code is None:
        return False
    return bool(
        Reopening.objects.filter(
            Q(period="") | Q(period=period or ""), collection=ledger.collection, council_code=code
        ).exists()
    )


def closed(ledger: Ledger, at: datetime) -> bool:
    close = ledger.config.close
    return close is not None and at.date() > close


def _record(
    ledger: Ledger,
    known: Known,
    name: str,
    relative: str,
    digest: str,
    item: Any,
    by: str,
    at: datetime,
    summaries: dict[str, Any],
    rules_version: str,
    sender_council: str | None = None,
) -> Outcome:
    from returns_kit.ledger.models import Arrival, Submission

    report = item.report
    code, period, council_name = _key(ledger, report)
    outcome = Outcome(name, code, council_name, period, digest, "", "")
    outcome.report = {**report.to_dict(), "path": name}
    where = {"council_code": code, "period": period}
    if sender_council is not None and code != sender_council:
        reason = (
            f"the file names another council ({code}), not the sender's ({sender_council})"
            if code
            else "the file's council and period could not be read"
        )
        outcome.refused, outcome.not_theirs, outcome.verdict = True, True, "REFUSED"
        outcome.has_errors = not report.valid
        outcome.what = f"Not recorded as a submission: {reason}."
        _log(
            ledger,
            "refused",
            {"name": name, "sha256": digest, "by": by, **where, "reason": reason},
            at,
        )
        return outcome
    if closed(ledger, at) and not _reopened(ledger, code, period):
        reason = f"the collection closed on {ledger.config.close}; the council was not reopened"
        outcome.refused, outcome.verdict = True, "REFUSED"
        outcome.what = f"Not recorded as a submission: {reason}."
        _log(ledger, "refused", {"name": name, "sha256": digest, **where, "reason": reason}, at)
        return outcome
    before = known.currents((code, period)) if code and period else None
    before_current = before.current((code, period)) if before and code and period else None
    existing = known.by_sha.get(digest)
    if existing is not None:
        known.add_name(existing, name)
        seq = _log(
            ledger,
            "submission",
            {"name": name, "sha256": digest, "by": by, "same_bytes_as_earlier": True, **where},
            at,
        )
        Arrival.objects.create(submission=existing, name=name, by=by, received_at=at, seq=seq)
        outcome.verdict = _verdict(existing.valid, existing.errors, existing.queries)
        outcome.has_errors = existing.errors > 0
        outcome.report = existing.report
        outcome.what = (
            f"The same bytes were received on {stamp(existing.received_at)[:10]}: one "
            "submission, now listed under this name too."
        )
        return outcome
    findings = list(report.findings)
    if code and period and item.summary is not None:
        findings += _period_findings(ledger, known, code, period, item, summaries)
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    report_json = report.to_dict()
    report_json["path"] = name
    report_json["findings"] = [f.to_dict() for f in findings]
    outcome.report = report_json
    submitted_on = item.summary.submitted_on if item.summary is not None else None
    seq = _log(ledger, "submission", {"name": name, "sha256": digest, "by": by, **where}, at)
    row = Submission.objects.create(
        collection=ledger.collection,
        sha256=digest,
        stored=relative,
        council_code=code or "",
        period=period or "",
        submitted_on=submitted_on,
        received_at=at,
        received_seq=seq,
        valid=report.valid and item.summary is not None,
        errors=counts[Severity.ERROR],
        queries=counts[Severity.QUERY],
        warnings=counts[Severity.WARNING],
        query_findings=[_query(f) for f in findings if f.severity is Severity.QUERY],
        report=report_json,
        returns_kit_version=__version__,
        rules_version=rules_version,
    )
    Arrival.objects.create(submission=row, name=name, by=by, received_at=at, seq=seq)
    known.add(row, name)
    after = known.currents((code, period)) if code and period else None
    after_current = after.current((code, period)) if after and code and period else None
    outcome.has_errors = row.errors > 0
    outcome.verdict = _verdict(row.valid, row.errors, row.queries)
    outcome.what = _what_became_current(row, before_current, after_current, after, code, period)
    if after_current is not None and after_current.pk == row.pk and item.summary is not None:
        assert code is not None and period is not None
        _judge_next_period(ledger, known, code, period, item.summary, row, summaries, at)
    if period and period not in ledger.config.periods:
        outcome.what += f" {period} is not a period of this collection: it is never used."
    elif code and period and code not in ledger.config.expected(period, ledger.reference):
        outcome.what += " This council is not expected in this collection."
    _log(
        ledger,
        "validation",
        {
            "sha256": digest,
            "valid": row.valid,
            "errors": row.errors,
            "queries": row.queries,
            "warnings": row.warnings,
            "rules": sorted({f.rule for f in findings if f.severity.rank <= 1}),
            "returns_kit_version": __version__,
            "rules_version": rules_version,
            "current": after_current.sha256 if after_current is not None else None,
            **where,
        },
        at,
    )
    if code and period:
        _record_workbook_explanations(ledger, row, item.explanations, at)
    return outcome


def _verdict(valid: bool, errors: int, queries: int) -> str:
    if errors:
        return f"NOT VALID, {errors} error{'s' * (errors != 1)}"
    if not valid:
        return "NOT VALID, could not be summarised"
    return f"valid, {queries} quer{'ies' if queries != 1 else 'y'}"


def _what_became_current(
    row: Any, before: Any, after: Any, choices: Current | None, code: Any, period: Any
) -> str:
    if not code or not period:
        return "Recorded; it names no council and period on the About sheet, so it is never used."
    if after is not None and after.pk == row.pk:
        if before is None:
            return "Now the current return."
        return f"Now the current return; supersedes {before.sha256[:12]}."
    if after is not None:
        if not row.valid:
            return (
                f"Recorded; the valid return {after.sha256[:12]} stays current (a return with "
                "errors never displaces a valid one)."
            )
        return f"Recorded as superseded: {after.sha256[:12]} was submitted later and stays current."
    if choices is not None and (choice := choices.choices.get((code, period))) is not None:
        why = choice.why_no_current
        return f"Recorded; no current return ({why})." if why else "Recorded."
    return "Recorded; no current return."


def _query(item: Finding) -> dict[str, Any]:
    return {
        "rule": item.rule,
        "scope": item.scope,
        "evidence": item.evidence,
        "message": item.message,
        "params": item.params,
        "sheet": item.sheet,
        "cell": item.cell,
    }


def _previous_key(ledger: Ledger, code: str, period: str) -> tuple[str, str] | None:
    parsed = Period.parse(period)
    council = ledger.reference.councils.get(code)
    if parsed is None or council is None:
        return None
    before = parsed.previous()
    if council.active_in(before):
        return code, str(before)
    continued = ledger.reference.continues(code)
    return (continued.gss_code, str(before)) if continued is not None else None


def _period_findings(
    ledger: Ledger, known: Known, code: str, period: str, item: Any, summaries: dict[str, Any]
) -> list[Finding]:
    """P001-P006 against the previous period's current return, as the ledger holds it now.

    Judged when the submission is received: a later change to the previous period's return
    is compared when this council next submits (and always in ``aggregate --collection``).
    """
    from returns_kit.rules.periods import p005_no_comparison, period_findings

    previous_key = _previous_key(ledger, code, period)
    thresholds = ledger.config.thresholds
    if previous_key is None:
        broken = p005_no_comparison(code, period, ledger.reference, thresholds, False)
        return [broken] if broken else []
    earlier = known.currents(previous_key)
    choice = earlier.choices.get(previous_key)
    if choice is None and previous_key[1] not in ledger.config.periods:
        return []  # the period before is not collected here: nothing to compare with
    previous = earlier.current(previous_key)
    if previous is None:
        why = choice.why_no_current if choice is not None else "it has not been received"
        from returns_kit.rules.catalogue import finding

        return mark_explained(
            [
                finding(
                    "P006",
                    {"previous_period": previous_key[1], "why": why},
                    variant="collection",
                    evidence={"previous_period": previous_key[1], "why": why},
                )
            ],
            item.explanations,
        )
    summary = summaries.get(previous.sha256)
    if summary is None:
        summary = _summary_of(ledger, previous)
    _, found = period_findings(summary, item.summary, ledger.reference, thresholds)
    return mark_explained(found, item.explanations)


def _judge_next_period(
    ledger: Ledger,
    known: Known,
    code: str,
    period: str,
    summary: Any,
    row: Any,
    summaries: dict[str, Any],
    at: datetime,
) -> None:
    """A new current return for ``period``: judge the next period's current return again
    against it, when that arrived first (or was compared with an earlier return), and record
    a judgement if its period findings change. Without this, a 2013-14 return sent before its
    2012-13 one would keep "no comparison" and never raise its queries."""
    from returns_kit.ledger.models import Judgement
    from returns_kit.rules.periods import period_findings

    parsed = Period.parse(period)
    council = ledger.reference.councils.get(code)
    if parsed is None or council is None or str(parsed.next()) not in ledger.config.periods:
        return
    following = parsed.next()
    if council.active_in(following):
        later_code: str | None = code
    else:
        successor = ledger.reference.continued_by(code)
        later_code = successor.gss_code if successor is not None else None
    if later_code is None or _previous_key(ledger, later_code, str(following)) != (code, period):
        return
    key = (later_code, str(following))
    later = known.currents(key).current(key)
    if later is None:
        return
    later_summary = summaries.get(later.sha256) or _summary_of(ledger, later)
    if later_summary is None:
        return
    _, found = period_findings(summary, later_summary, ledger.reference, ledger.config.thresholds)
    new = [item.to_dict() for item in found]
    standing = _judgements(ledger, [later.pk]).get(later.pk)
    old = _full_findings(later, standing)
    if _period_fingerprints(old) == _period_fingerprints(new):
        return
    seq = _log(
        ledger,
        "judgement",
        {"sha256": later.sha256, "council_code": later_code, "period": str(following),
         "previous_sha256": row.sha256, "rules": sorted({f["rule"] for f in new})},
        at,
    )  # fmt: skip
    Judgement.objects.create(
        submission=later, previous_sha256=row.sha256, findings=new, at=at, seq=seq
    )


def _period_fingerprints(findings: Sequence[dict[str, Any]]) -> list[str]:
    return sorted(
        audit.canonical([f["rule"], f["severity"], f.get("scope"), f.get("evidence")])
        for f in findings
        if _period_rule(f["rule"])
    )


def _summary_of(ledger: Ledger, row: Any) -> Any:
    cached = _cache(ledger).get(row.sha256)
    if cached is not None:
        _report, summary, _explanations = cached
        return summary
    from returns_kit.validate import validate_return

    return validate_return(ledger.folder / row.stored, thresholds=ledger.config.thresholds).summary


def _record_workbook_explanations(
    ledger: Ledger, row: Any, given: list[GivenExplanation], at: datetime
) -> None:
    """The workbook's Explanations count like ones given to the collection: recorded for the
    council and period, unless the same text already stands for that query."""
    from returns_kit.ledger.models import Explanation

    standing = _explanations(ledger, row.council_code, row.period)
    for item in given:
        scope = (item.scope or "").strip()
        now_standing = standing.get((item.rule, fold(scope) if scope else ""))
        if now_standing is not None and now_standing.text == item.text:
            continue
        seq = _log(
            ledger,
            "explanation",
            {
                "council_code": row.council_code,
                "period": row.period,
                "rule": item.rule,
                "scope": scope,
                "text": item.text,
                "source": "workbook",
                "sha256": row.sha256,
            },
            at,
        )
        Explanation.objects.create(
            collection=ledger.collection,
            council_code=row.council_code,
            period=row.period,
            rule=item.rule,
            scope=scope,
            text=item.text,
            source="workbook",
            submission=row,
            by="",
            at=at,
            seq=seq,
        )


# ---------------------------------------------------------------------------------------------
# Explanations, decisions, sign-offs, reopenings


def _explanations(ledger: Ledger, code: str, period: str) -> dict[tuple[str, str], Any]:
    """The explanation standing for each (rule, folded scope): the latest, unless withdrawn."""
    from returns_kit.ledger.models import Explanation

    latest: dict[tuple[str, str], Any] = {}
    for row in Explanation.objects.filter(
        collection=ledger.collection, council_code=code, period=period
    ).order_by("seq"):
        latest[(row.rule, fold(row.scope) if row.scope else "")] = row
    return {key: row for key, row in latest.items() if not row.withdrawn}


def _council(ledger: Ledger, code: str) -> tuple[str, str]:
    council = ledger.reference.lookup(code)
    if council is None:
        raise CollectionError(f"{code.strip()!r} is not a council on the reference list.")
    return council.gss_code, council.name


def _period(ledger: Ledger, period: str) -> str:
    parsed = Period.parse(period.strip())
    if parsed is None or str(parsed) not in ledger.config.periods:
        raise CollectionError(
            f"{period.strip()!r} is not a period of this collection "
            f"({', '.join(ledger.config.periods)})."
        )
    return str(parsed)


def explain(
    ledger: Ledger,
    council: str,
    period: str,
    rule: str,
    scope: str | None,
    text: str | None,
    by: str = "",
    withdraw: bool = False,
) -> str:
    """Record (or withdraw) a council's explanation of a query; returns one line saying so."""
    from returns_kit.ledger.models import Explanation

    code, council_name = _council(ledger, council)
    period = _period(ledger, period)
    rule = rule.strip().upper()
    known = RULES.get(rule)
    if known is None or known.severity is not Severity.QUERY:
        why = "is not a rule" if known is None else f"is not a query ({known.severity.value})"
        raise CollectionError(f"{rule} {why}; only queries are explained.")
    scope = (scope or "").strip()
    minimum = ledger.config.thresholds.explanation_min_chars
    if not withdraw and len((text or "").strip()) < minimum:
        raise CollectionError(f"an explanation needs at least {minimum} characters to count.")
    with writing(ledger):
        at = now()
        standing = _explanations(ledger, code, period).get((rule, fold(scope) if scope else ""))
        if withdraw and standing is None:
            raise CollectionError(f"no explanation of {rule} {scope} stands for {code} {period}.")
        payload = {
            "council_code": code,
            "period": period,
            "rule": rule,
            "scope": scope,
            "text": "" if withdraw else (text or "").strip(),
            "source": "collect",
            "by": by,
            "withdrawn": withdraw,
        }
        seq = _log(ledger, "explanation", payload, at)
        Explanation.objects.create(
            collection=ledger.collection,
            council_code=code,
            period=period,
            rule=rule,
            scope=scope,
            text=payload["text"],
            withdrawn=withdraw,
            source="collect",
            by=by,
            at=at,
            seq=seq,
        )
    what = "withdrawn" if withdraw else "recorded"
    return (
        f"Explanation of {rule}{' ' + scope if scope else ''} for {council_name} ({code}), "
        f"{period}: {what}."
    )


def evidence_hash(findings: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the evidence behind a fingerprint's findings.

    Over ``evidence``, not ``params``: a query's evidence holds every figure its message
    shows (tests/test_params.py checks it), and decisions recorded before findings carried
    params stay bound to the same hash."""
    evidence = sorted(audit.canonical(item.get("evidence")) for item in findings)
    return hashlib.sha256(audit.canonical(evidence).encode()).hexdigest()


def _fingerprint_findings(
    findings: Sequence[dict[str, Any]], rule: str, scope: str
) -> list[dict[str, Any]]:
    wanted = fold(scope) if scope else ""
    return [
        item
        for item in findings
        if item["rule"] == rule and (fold(item["scope"]) if item.get("scope") else "") == wanted
    ]


def _full_findings(row: Any, judgement: Any = None) -> list[dict[str, Any]]:
    """Every finding of a submission: its own, with the period findings of its latest
    judgement (if it was judged again) in place of those it was recorded with."""
    from returns_kit.ledger.models import Submission

    report = Submission.objects.only("report").get(pk=row.pk).report
    if judgement is None:
        return list(report["findings"])
    own = [f for f in report["findings"] if not _period_rule(f["rule"])]
    return own + list(judgement.findings)


def _period_rule(rule: str) -> bool:
    """The period-to-period rules, P001-P006: the findings that depend on another return."""
    return rule.startswith("P")


def _queries_of(row: Any, judgement: Any = None) -> list[dict[str, Any]]:
    """A submission's query findings, as :func:`_full_findings` (without reading its report)."""
    if judgement is None:
        return list(row.query_findings)
    own = [q for q in row.query_findings if not _period_rule(q["rule"])]
    return own + [
        {
            key: item.get(key)
            for key in ("rule", "scope", "evidence", "message", "params", "sheet", "cell")
        }
        for item in judgement.findings
        if item["severity"] == Severity.QUERY.value
    ]


def _judgements(ledger: Ledger, submissions: Sequence[int] | None = None) -> dict[int, Any]:
    """The latest judgement of each submission judged again, by submission id."""
    from returns_kit.ledger.models import Judgement

    found = Judgement.objects.filter(submission__collection=ledger.collection)
    if submissions is not None:
        found = found.filter(submission_id__in=list(submissions))
    return {row.submission_id: row for row in found.order_by("seq")}


def review(
    ledger: Ledger,
    council: str,
    period: str,
    rule: str | None,
    scope: str | None,
    outcome: str,
    reason: str,
    by: str,
) -> str:
    """The national team's decision on a finding of the current return (or, with no rule, on
    the return as a whole)."""
    from returns_kit.ledger.models import Decision

    code, council_name = _council(ledger, council)
    period = _period(ledger, period)
    if not reason.strip():
        raise CollectionError("a decision needs a --reason.")
    if not by.strip():
        raise CollectionError("a decision needs --by NAME.")
    rule = (rule or "").strip().upper()
    scope = (scope or "").strip()
    with writing(ledger):
        at = now()
        current = currents(ledger, council_code=code, period=period).current((code, period))
        if current is None:
            raise CollectionError(f"{council_name} ({code}) has no current return for {period}.")
        if rule:
            judgement = _judgements(ledger, [current.pk]).get(current.pk)
            matching = _fingerprint_findings(_full_findings(current, judgement), rule, scope)
            if not matching:
                raise CollectionError(
                    f"the current return of {code} for {period} has no {rule} finding"
                    f"{' for ' + scope if scope else ''}."
                )
            digest = evidence_hash(matching)
        else:
            digest = current.sha256
        payload = {
            "council_code": code,
            "period": period,
            "rule": rule,
            "scope": scope,
            "outcome": outcome,
            "reason": reason.strip(),
            "by": by.strip(),
            "sha256": current.sha256,
            "evidence_hash": digest,
        }
        seq = _log(ledger, "decision", payload, at)
        Decision.objects.create(
            collection=ledger.collection,
            council_code=code,
            period=period,
            rule=rule,
            scope=scope,
            outcome=outcome,
            reason=reason.strip(),
            evidence_hash=digest,
            submission=current,
            by=by.strip(),
            at=at,
            seq=seq,
        )
    what = f"{rule}{' ' + scope if scope else ''}" if rule else "the return"
    return f"{what} for {council_name} ({code}), {period}: {outcome} by {by.strip()}."


@dataclass(frozen=True)
class Receipt:
    collection: str
    council_code: str
    council_name: str
    period: str
    sha256: str
    signed_at: str
    signed_by: str
    log_entry: int

    def text(self) -> str:
        return "\n".join(
            [
                "returns_kit sign-off receipt",
                f"collection: {self.collection}",
                f"council: {self.council_code} {self.council_name}",
                f"period: {self.period}",
                f"submission sha256: {self.sha256}",
                f"signed off at: {self.signed_at}",
                f"signed off by: {self.signed_by}",
                f"log entry: {self.log_entry}",
            ]
        )

    @classmethod
    def parse(cls, text: str) -> Receipt:
        fields: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        try:
            code, _, name = fields["council"].partition(" ")
            return cls(
                collection=fields["collection"],
                council_code=code,
                council_name=name,
                period=fields["period"],
                sha256=fields["submission sha256"].lower(),
                signed_at=fields["signed off at"],
                signed_by=fields["signed off by"],
                log_entry=int(fields["log entry"]),
            )
        except (KeyError, ValueError) as problem:
            raise CollectionError(
                "this is not a sign-off receipt (a field is missing)."
            ) from problem


def signoff(
    ledger: Ledger, council: str, period: str, by: str, sha256: str | None = None
) -> Receipt:
    """A named approver signs off the council's current return; the receipt says what.

    With ``sha256`` (the return the approver looked at, as the service's page sends it), the
    sign-off is refused if another return has become current meanwhile: an approver signs
    off only what they saw."""
    from returns_kit.ledger.models import SignOff

    code, council_name = _council(ledger, council)
    period = _period(ledger, period)
    if not by.strip():
        raise CollectionError("a sign-off needs --by NAME.")
    with writing(ledger):
        at = now()
        current = currents(ledger, council_code=code, period=period).current((code, period))
        if current is None:
            raise CollectionError(
                f"{council_name} ({code}) has no valid current return for {period} to sign off."
            )
        if sha256 is not None and current.sha256 != sha256:
            raise CollectionError(
                f"the current return of {council_name} ({code}) for {period} is no longer the "
                "one shown: look at the new one before signing off."
            )
        payload = {
            "council_code": code,
            "period": period,
            "sha256": current.sha256,
            "by": by.strip(),
        }
        seq = _log(ledger, "signoff", payload, at)
        SignOff.objects.create(
            collection=ledger.collection,
            submission=current,
            council_code=code,
            period=period,
            by=by.strip(),
            at=at,
            seq=seq,
        )
    return Receipt(
        ledger.config.name, code, council_name, period, current.sha256, stamp(at), by.strip(), seq
    )


def verify_receipt(ledger: Ledger, receipt_text: str, file: Path) -> tuple[bool, str]:
    """(verified, one line): the file is the one signed off, and the ledger holds the sign-off."""
    from returns_kit.ledger.models import SignOff

    receipt = Receipt.parse(receipt_text)
    digest = store.sha256_bytes(file.read_bytes())
    if digest != receipt.sha256:
        return False, (
            f"{file.name} is not the file this receipt is for: its SHA-256 is {digest}, the "
            f"receipt's {receipt.sha256}."
        )
    if receipt.collection != ledger.config.name:
        return False, f"the receipt is for the collection {receipt.collection!r}, not this one."
    found = [
        row
        for row in SignOff.objects.filter(
            collection=ledger.collection, seq=receipt.log_entry
        ).select_related("submission")
        if row.submission.sha256 == receipt.sha256
        and row.by == receipt.signed_by
        and stamp(row.at) == receipt.signed_at
        and row.council_code == receipt.council_code
        and row.period == receipt.period
    ]
    if not found:
        return False, "the ledger holds no sign-off matching this receipt."
    current = currents(ledger, council_code=receipt.council_code, period=receipt.period).current(
        (receipt.council_code, receipt.period)
    )
    still = (
        "it is still the current return"
        if current is not None and current.sha256 == receipt.sha256
        else "a later return has since replaced it"
    )
    return True, (
        f"Receipt verified: {file.name} is the return {receipt.council_code} {receipt.period} "
        f"signed off by {receipt.signed_by} at {receipt.signed_at}; {still}."
    )


def set_deadlines(
    ledger: Ledger, soft_deadline: date | None, close: date | None, by: str, reason: str
) -> str:
    """Move the soft deadline and the hard close: collection.toml rewritten (whole, then
    renamed into place) and the change in the log, in one transaction; every process reads
    the file again when it changes (the service) or starts (the commands)."""
    from returns_kit.atomic import write_atomically

    if not by.strip():
        raise CollectionError("say who changes the deadlines (--by).")
    if not reason.strip():
        raise CollectionError("give a reason for moving the deadlines.")
    if soft_deadline and close and close < soft_deadline:
        raise CollectionError("the close comes before the soft deadline.")
    before = ledger.config
    after = replace(before, soft_deadline=soft_deadline, close=close)
    if (before.soft_deadline, before.close) == (soft_deadline, close):
        return "The deadlines are already those: nothing changed."

    def iso(day: date | None) -> str | None:
        return day.isoformat() if day else None

    with writing(ledger):
        _log(
            ledger,
            "deadlines",
            {
                "soft_deadline": iso(soft_deadline),
                "close": iso(close),
                "was": {"soft_deadline": iso(before.soft_deadline), "close": iso(before.close)},
                "by": by.strip(),
                "reason": reason.strip(),
            },
            now(),
        )

        # last in the transaction: a file that cannot be written rolls the log entry back
        def write(temporary: Path) -> None:
            temporary.write_text(after.to_toml(), encoding="utf-8")

        write_atomically(ledger.folder / FILE, write)
    ledger.config = after
    return (
        f"Deadlines now: soft deadline {iso(soft_deadline) or 'none'}, "
        f"hard close {iso(close) or 'none'}."
    )


def reopen(ledger: Ledger, council: str, period: str | None, by: str, reason: str) -> str:
    """Let a council submit after the hard close (for one period, or every period)."""
    from returns_kit.ledger.models import Reopening

    code, council_name = _council(ledger, council)
    period = _period(ledger, period) if period else ""
    if not by.strip() or not reason.strip():
        raise CollectionError("a reopening needs --by NAME and --reason.")
    with writing(ledger):
        at = now()
        payload = {
            "council_code": code,
            "period": period,
            "by": by.strip(),
            "reason": reason.strip(),
        }
        seq = _log(ledger, "reopening", payload, at)
        Reopening.objects.create(
            collection=ledger.collection,
            council_code=code,
            period=period,
            by=by.strip(),
            reason=reason.strip(),
            at=at,
            seq=seq,
        )
    return (
        f"{council_name} ({code}) reopened for {period or 'every period'}: it may submit "
        "after the close."
    )


# ---------------------------------------------------------------------------------------------
# Status


@dataclass
class CouncilStatus:
    period: str
    council_code: str
    council_name: str
    status: str
    current_sha256: str = ""
    current_name: str = ""
    received_at: str = ""
    submissions: int = 0
    errors: int = 0
    queries: int = 0
    unexplained: int = 0
    undecided: int = 0
    reopened_decisions: int = 0
    signed_off_by: str = ""
    signed_off_at: str = ""
    days_to_deadline: int | None = None
    note: str = ""

    @property
    def chase(self) -> bool:
        return self.status in (NOT_RECEIVED, WITH_ERRORS)


@dataclass
class Status:
    collection: str
    periods: tuple[str, ...]
    soft_deadline: date | None
    close: date | None
    today: date
    councils: list[CouncilStatus]

    @property
    def chase(self) -> list[CouncilStatus]:
        return [item for item in self.councils if item.chase]


#: The columns of `returns collect status --format csv`, and of the chase list.
STATUS_FIELDS = (
    "period",
    "council_code",
    "council_name",
    "status",
    "current_sha256",
    "current_name",
    "received_at",
    "submissions",
    "errors",
    "queries",
    "unexplained",
    "undecided",
    "signed_off_by",
    "signed_off_at",
    "days_to_deadline",
    "note",
)
CHASE_FIELDS = ("period", "council_code", "council_name", "status", "note", "days_to_deadline")


def status_csv(rows: list[Any], fields: tuple[str, ...]) -> str:
    """Status rows (:class:`CouncilStatus`) as CSV with ``fields`` as its columns, text made
    inert for a spreadsheet: for `returns collect status` and the service's chase list."""
    import polars as pl

    from returns_kit.aggregate.write import neutralise

    frame = pl.DataFrame(
        [{name: getattr(row, name) for name in fields} for row in rows],
        schema={
            name: (
                pl.Int64
                if name
                in (
                    "submissions",
                    "errors",
                    "queries",
                    "unexplained",
                    "undecided",
                    "days_to_deadline",
                )
                else pl.String
            )
            for name in fields
        },
    )
    return str(neutralise(frame).write_csv())


Standing = dict[tuple[str, str], dict[tuple[str, str], Any]]


def standing(model: Any, base: dict[str, Any]) -> Standing:
    """The explanations or decisions that stand, by (council, period) and then (rule, folded
    scope): the latest row of each, since a later row takes precedence over an earlier one."""
    found: Standing = {}
    for row in model.objects.filter(**base).order_by("seq"):
        found.setdefault((row.council_code, row.period), {})[
            (row.rule, fold(row.scope) if row.scope else "")
        ] = row
    return found


def status(ledger: Ledger, period: str | None = None) -> Status:
    from returns_kit.ledger.models import Decision, Explanation, SignOff

    periods = (_period(ledger, period),) if period else ledger.config.periods
    filters: dict[str, Any] = {"period__in": periods}
    found = currents(ledger, **filters)
    base = {"collection": ledger.collection, "period__in": periods}
    explanations = standing(Explanation, base)
    decisions = standing(Decision, base)
    signoffs: dict[int, Any] = {}
    for row in SignOff.objects.filter(**base).order_by("seq"):
        signoffs[row.submission_id] = row
    judgements = _judgements(ledger)
    today = now().date()
    days = (ledger.config.soft_deadline - today).days if ledger.config.soft_deadline else None
    result = []
    for this_period in periods:
        expected = ledger.config.expected(this_period, ledger.reference)
        seen = {key[0] for key in found.choices if key[1] == this_period}
        for code in sorted(set(expected) | seen):
            key = (code, this_period)
            council = ledger.reference.councils.get(code)
            item = CouncilStatus(this_period, code, council.name if council else "", NOT_RECEIVED)
            item.days_to_deadline = days
            if code not in expected:
                item.note = "not expected in this collection"
            choice = found.choices.get(key)
            if choice is not None:
                _judge(
                    item, choice, found, explanations.get(key, {}), decisions.get(key, {}),
                    signoffs, judgements,
                )  # fmt: skip
            result.append(item)
    return Status(
        ledger.config.name, periods, ledger.config.soft_deadline, ledger.config.close, today, result
    )


def _judge(
    item: CouncilStatus,
    choice: rules.Choice,
    found: Current,
    explanations: dict[tuple[str, str], Any],
    decisions: dict[tuple[str, str], Any],
    signoffs: dict[int, Any],
    judgements: dict[int, Any],
) -> None:
    item.submissions = len(choice.verdicts)
    latest = max(choice.verdicts, key=lambda v: found.rows[v.submission.sha256].received_seq)
    current = found.current(choice.key)
    if current is None:
        item.status = WITH_ERRORS
        latest_row = found.rows[latest.submission.sha256]
        item.errors = latest_row.errors
        item.note = choice.why_no_current or ""
        return
    item.current_sha256 = current.sha256
    item.current_name = found.names.get(current.pk, ("",))[-1]
    item.received_at = stamp(current.received_at)
    item.errors = current.errors
    latest_row = found.rows[latest.submission.sha256]
    if latest_row.pk != current.pk and latest_row.errors:
        item.note = "the latest submission has errors; the earlier valid return stays current"
    standing = [
        GivenExplanation(rule, scope or None, row.text)
        for (rule, scope), row in explanations.items()
        if not row.withdrawn
    ]
    queries = _queries_of(current, judgements.get(current.pk))
    marked = mark_explained(
        [Finding(q["rule"], Severity.QUERY, q["message"], scope=q.get("scope")) for q in queries],
        standing,
    )
    explained_here = [bool(q.explained) for q in marked]
    item.queries = len(queries)
    item.unexplained = explained_here.count(False)
    returned, accepted_all = False, True
    for fingerprint in {(q["rule"], fold(q["scope"]) if q.get("scope") else "") for q in queries}:
        decision = decisions.get(fingerprint)
        matching = _fingerprint_findings(queries, *fingerprint)
        if decision is None:
            item.undecided += 1
            accepted_all = False
        elif decision.evidence_hash != evidence_hash(matching):
            item.undecided += 1
            item.reopened_decisions += 1
            accepted_all = False
        elif decision.outcome == "returned":
            returned = True
            accepted_all = False
    whole = decisions.get(("", ""))
    whole_now = whole if whole is not None and whole.submission_id == current.pk else None
    if whole_now is not None and whole_now.outcome == "returned":
        returned = True
    signed = signoffs.get(current.pk)
    if signed is not None:
        item.signed_off_by, item.signed_off_at = signed.by, stamp(signed.at)
    if returned:
        item.status = RETURNED
    elif signed is not None and accepted_all and (queries or whole_now is not None):
        item.status = ACCEPTED
    elif signed is not None:
        item.status = SIGNED_OFF
    elif item.unexplained:
        item.status = TO_EXPLAIN
    else:
        item.status = EXPLAINED
    if item.reopened_decisions:
        reopened = f"{item.reopened_decisions} decision(s) reopened: the evidence changed"
        item.note = f"{item.note}; {reopened}" if item.note else reopened


# ---------------------------------------------------------------------------------------------
# The log


def log_entries(ledger: Ledger) -> Iterator[Any]:
    return audit.entries(ledger.collection)


def verify_log(ledger: Ledger) -> tuple[int, audit.Broken | None]:
    return audit.verify(ledger.collection)


# ---------------------------------------------------------------------------------------------
# Publication


@dataclass
class ReleaseInputs:
    """The current returns a release uses, by stored path, and what the ledger says of them."""

    paths: list[Path]
    used: list[dict[str, str]]
    names: dict[str, str]  #: stored path -> the name it was received under last
    all_names: dict[str, str]  #: stored path -> every name it was received under, " | "
    expected: set[tuple[str, str]]  #: (council, period) expected in the collection
    explanations: dict[tuple[str, str], dict[tuple[str, str], Any]]
    decisions: dict[tuple[str, str], dict[tuple[str, str], Any]]
    left_out: list[str]
    #: the query findings of each (council, period)'s current return
    queries: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


def release_inputs(ledger: Ledger) -> ReleaseInputs:
    from returns_kit.ledger.models import Decision, Explanation, SignOff

    found = currents(ledger, period__in=ledger.config.periods)
    judgements = _judgements(ledger)
    signed = set(
        SignOff.objects.filter(collection=ledger.collection).values_list("submission_id", flat=True)
    )
    paths, used, names, all_names, left_out = [], [], {}, {}, []
    queries: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key in sorted(found.choices):
        current = found.current(key)
        if current is None:
            continue
        if ledger.config.publish_needs_signoff and current.pk not in signed:
            left_out.append(f"{key[0]} {key[1]}")
            continue
        path = ledger.folder / current.stored
        paths.append(path)
        received = found.names.get(current.pk, (current.stored,))
        names[str(path)] = received[-1]
        all_names[str(path)] = " | ".join(sorted(set(received)))
        used.append({"council_code": key[0], "period": key[1], "sha256": current.sha256})
        queries[key] = _queries_of(current, judgements.get(current.pk))
    explanations: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}
    for row in Explanation.objects.filter(collection=ledger.collection).order_by("seq"):
        explanations.setdefault((row.council_code, row.period), {})[
            (row.rule, fold(row.scope) if row.scope else "")
        ] = row
    decisions: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}
    for row in Decision.objects.filter(collection=ledger.collection).order_by("seq"):
        decisions.setdefault((row.council_code, row.period), {})[
            (row.rule, fold(row.scope) if row.scope else "")
        ] = row
    expected = {
        (code, period)
        for period in ledger.config.periods
        for code in ledger.config.expected(period, ledger.reference)
    }
    return ReleaseInputs(
        paths, used, names, all_names, expected, explanations, decisions, left_out, queries
    )


def annotate_tables(tables: dict[str, Any], inputs: ReleaseInputs) -> dict[str, Any]:
    """The collection's explanations and decisions on the flags; received names for paths."""
    import polars as pl

    annotated = dict(tables)
    for name, frame in tables.items():
        if "names" in frame.columns:
            frame = frame.with_columns(
                pl.col("path")
                .replace_strict(inputs.all_names, default=pl.col("names"), return_dtype=pl.String)
                .alias("names")
            )
        if "path" in frame.columns:
            annotated[name] = frame.with_columns(pl.col("path").replace(inputs.names))
    # Missing means missing from this collection: its councils and periods, not every council.
    manifest = annotated["manifest"]
    pair = pl.concat_str([pl.col("council_code"), pl.col("period")], separator="|")
    expected = sorted(f"{code}|{period}" for code, period in inputs.expected)
    annotated["manifest"] = manifest.filter(
        (pl.col("status") != "missing") | pair.is_in(expected).fill_null(False)
    )
    flags = tables["flags"]
    explained: list[bool] = []
    decision: list[str | None] = []
    reason: list[str | None] = []
    for row in flags.iter_rows(named=True):
        key = (row["council_code"], row["period"])
        given = inputs.explanations.get(key, {})
        standing = [
            GivenExplanation(rule, scope or None, item.text)
            for (rule, scope), item in given.items()
            if not item.withdrawn
        ]
        marked = mark_explained([Finding(row["rule"], Severity.QUERY, "")], standing)
        explained.append(bool(row["explained"]) or bool(marked[0].explained))
        made = inputs.decisions.get(key, {}).get((row["rule"], ""))
        if made is None:
            decision.append(None)
            reason.append(None)
            continue
        # A decision stands only while the evidence it was made on is the evidence now.
        matching = _fingerprint_findings(inputs.queries.get(key, []), row["rule"], "")
        if matching and made.evidence_hash != evidence_hash(matching):
            decision.append("reopened")
            reason.append(f"{made.outcome} on other evidence: {made.reason}")
        else:
            decision.append(made.outcome)
            reason.append(made.reason)
    annotated["flags"] = flags.with_columns(
        pl.Series("explained", explained, dtype=pl.Boolean),
        pl.Series("decision", decision, dtype=pl.String),
        pl.Series("decision_reason", reason, dtype=pl.String),
    )
    return annotated


@dataclass(frozen=True)
class LastRelease:
    """The collection's latest published release: its log entry, folder and outputs."""

    seq: int
    out: Path
    outputs: dict[str, str]

    def changed(self) -> list[str]:
        """The recorded outputs a revision reads (the certificate and the tables) that are no
        longer in the folder as the release wrote them."""
        wanted = [name for name in self.outputs if name.endswith((".parquet", ".json"))]
        return [
            name
            for name in wanted
            if not (self.out / name).is_file()
            or store.sha256_bytes((self.out / name).read_bytes()) != self.outputs[name]
        ]


def last_release(ledger: Ledger) -> LastRelease | None:
    """The latest published release of the collection, or None before the first."""
    from returns_kit.ledger.models import Release

    row = (
        Release.objects.filter(collection=ledger.collection, published=True)
        .order_by("-seq")
        .first()
    )
    if row is None:
        return None
    return LastRelease(int(row.seq), Path(row.out), dict(row.outputs))


def record_release(
    ledger: Ledger, inputs: ReleaseInputs, out: Path, published: bool
) -> tuple[int, int]:
    """Record the release: the submissions used and every output's SHA-256. (entry, outputs)"""
    from returns_kit.ledger.models import Release

    outputs = {
        str(path.relative_to(out)): store.sha256_bytes(path.read_bytes())
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }
    with writing(ledger):
        at = now()
        payload = {
            "out": str(out),
            "published": published,
            "submissions": inputs.used,
            "outputs": outputs,
        }
        seq = _log(ledger, "publication", payload, at)
        Release.objects.create(
            collection=ledger.collection,
            at=at,
            out=str(out),
            published=published,
            submissions=inputs.used,
            outputs=outputs,
            seq=seq,
        )
    return seq, len(outputs)
