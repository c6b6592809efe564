"""The council officer's journey as data: what the council pages show and do.

A council's periods with their status and the plain next step; its blank template; the
findings of a stored submission as the ledger holds them now (its own findings, the period
findings as last judged, queries marked explained by the council's standing explanations,
whether from a workbook or given in the service); the annotated copy; sign-off (only of the
return the approver saw, once its queries are explained) and the receipt. The views in
:mod:`returns_kit.service.views.council` are shells over these, as the CLI is over the ledger.

Nothing here names a stored path to a person: files leave only as bytes, through the views,
after the access check.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from returns_kit.cells import fold
from returns_kit.findings import Finding, Severity
from returns_kit.ledger import service
from returns_kit.ledger.clock import stamp
from returns_kit.ledger.config import CollectionError
from returns_kit.rules.catalogue import RULES
from returns_kit.rules.explanations import Explanation as GivenExplanation
from returns_kit.rules.explanations import mark_explained
from returns_kit.validate import Validated
from returns_kit.wording import counted, place

#: Files the service writes for a moment (templates, annotated copies) go here, inside the
#: collection folder: a council's workbook never passes through a shared system folder.
SCRATCH = ".scratch"


class NotFound(Exception):
    """No such council, period or submission (404)."""


class NotReady(Exception):
    """The return cannot be signed off now; the message says why (409)."""


# ---------------------------------------------------------------------------------------------
# A council's periods


@dataclass(frozen=True)
class SubmissionLine:
    """One submission of a council's period, as the period's list shows it."""

    id: int
    name: str
    by: str
    received_at: str
    errors: int
    queries: int
    #: "current", "superseded" or "not used: errors"
    standing: str


@dataclass(frozen=True)
class Returned:
    """A standing decision of the national team returning a query, or the whole return."""

    rule: str
    scope: str
    reason: str
    by: str


@dataclass
class PeriodState:
    period: str
    status: service.CouncilStatus
    next_step: str
    submissions: list[SubmissionLine] = field(default_factory=list)
    current_id: int | None = None
    #: a valid current return, not yet signed off, with every query explained
    ready: bool = False
    signed: bool = False
    returned: list[Returned] = field(default_factory=list)
    #: closed to uploads (after the hard close, not reopened)
    closed: bool = False


@dataclass
class Overview:
    collection: str
    council_code: str
    council_name: str
    soft_deadline: Any
    close: Any
    days_to_deadline: int | None
    periods: list[PeriodState]

    @property
    def deadline_words(self) -> str:
        days = self.days_to_deadline
        if days is None:
            return ""
        if days == 0:
            return "today"
        if days > 0:
            return f"{counted(days, 'day')} to go"
        return f"{counted(-days, 'day')} ago"


def council_of(ledger: service.Ledger, code: str) -> tuple[str, str]:
    """(GSS code, name) of a council on the reference list, or :class:`NotFound`."""
    council = ledger.reference.lookup(code.strip()) if code.strip() else None
    if council is None:
        raise NotFound(f"{code.strip()!r} is not a council on the reference list.")
    return council.gss_code, council.name


def period_of(ledger: service.Ledger, period: str) -> str:
    if period not in ledger.config.periods:
        raise NotFound(f"{period!r} is not a period of this collection.")
    return period


def next_step(state: service.CouncilStatus, closed: bool) -> str:
    """What the council should do next, in a line."""
    if state.status == service.NOT_RECEIVED:
        step = "Nothing received yet: download the template, fill it in and upload it."
    elif state.status == service.WITH_ERRORS:
        step = (
            f"{counted(state.errors, 'error')} to correct: correct the workbook and upload it "
            "again."
        )
    elif state.status == service.TO_EXPLAIN:
        step = (
            f"{counted(state.unexplained, 'query', 'queries')} to explain, on the findings "
            "page; then an approver signs off."
        )
    elif state.status == service.EXPLAINED:
        step = "Ready for sign-off by an approver."
    elif state.status == service.SIGNED_OFF:
        step = (
            f"Signed off by {state.signed_off_by} at {state.signed_off_at}: the national team "
            "reviews it next."
        )
    elif state.status == service.ACCEPTED:
        step = "Accepted by the national team: nothing left to do."
    else:  # returned
        step = "Returned by the national team: see why below, correct the return and upload it."
    if closed and state.status in (service.NOT_RECEIVED, service.WITH_ERRORS, service.RETURNED):
        step += " The collection is closed: ask the national team to reopen it for you."
    return step


def overview(ledger: service.Ledger, code: str) -> Overview:
    """The council's periods: status, counts, submissions, deadlines and the next step."""
    from returns_kit.ledger.clock import now
    from returns_kit.ledger.models import Decision

    code, name = council_of(ledger, code)
    found = service.status(ledger)
    mine = {item.period: item for item in found.councils if item.council_code == code}
    rows = service.currents(ledger, council_code=code)
    closed = service.closed(ledger, now())
    decisions: dict[tuple[str, str, str], Any] = {}
    for decision in Decision.objects.filter(
        collection=ledger.collection, council_code=code
    ).order_by("seq"):
        key = (decision.period, decision.rule, fold(decision.scope) if decision.scope else "")
        decisions[key] = decision
    periods = []
    for period in ledger.config.periods:
        state = mine.get(period) or service.CouncilStatus(
            period, code, name, service.NOT_RECEIVED, days_to_deadline=_days(found)
        )
        shut = closed and not service._reopened(ledger, code, period)
        item = PeriodState(period, state, next_step(state, shut), closed=shut)
        current = rows.current((code, period))
        item.current_id = current.pk if current is not None else None
        for row in reversed([r for r in rows.rows.values() if r.period == period]):
            standing = (
                "current"
                if current is not None and row.pk == current.pk
                else "not used: errors"
                if row.errors or not row.valid
                else "superseded"
            )
            names = rows.names.get(row.pk, ("",))
            item.submissions.append(
                SubmissionLine(
                    row.pk,
                    names[-1],
                    _by(row),
                    stamp(row.received_at),
                    row.errors,
                    row.queries,
                    standing,
                )  # fmt: skip
            )
        item.signed = state.status in (service.SIGNED_OFF, service.ACCEPTED)
        item.ready = state.status == service.EXPLAINED
        if state.status == service.RETURNED:
            item.returned = [
                Returned(d.rule, d.scope, d.reason, d.by)
                for (p, _, _), d in decisions.items()
                if p == period and d.outcome == "returned"
            ]
        periods.append(item)
    return Overview(
        ledger.config.name, code, name, ledger.config.soft_deadline, ledger.config.close,
        _days(found), periods,
    )  # fmt: skip


def _days(found: service.Status) -> int | None:
    if found.soft_deadline is None:
        return None
    return (found.soft_deadline - found.today).days


def _by(row: Any) -> str:
    from returns_kit.ledger.models import Arrival

    first = Arrival.objects.filter(submission=row).order_by("seq").first()
    return first.by if first is not None else ""


# ---------------------------------------------------------------------------------------------
# Files made for the council


@contextmanager
def scratch(ledger: service.Ledger) -> Iterator[Path]:
    """A private folder inside the collection, removed afterwards whatever happens."""
    base = ledger.folder / SCRATCH
    base.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def template(ledger: service.Ledger, code: str, period: str) -> tuple[str, bytes]:
    """(file name, bytes) of the blank return for the council and a period of the collection,
    About filled in as ``returns template`` fills it."""
    from returns_kit.template import TemplateError, build_template

    code, _ = council_of(ledger, code)
    period = period_of(ledger, period)
    name = f"{code}-{period}.xlsx"
    with scratch(ledger) as folder:
        try:
            build_template(code, period, folder / name)
        except TemplateError as problem:
            raise NotFound(str(problem)) from problem
        return name, (folder / name).read_bytes()


def annotated(ledger: service.Ledger, row: Any) -> tuple[str, bytes]:
    """(file name, bytes) of the submission's annotated copy: the stored workbook with the
    findings the page shows marked on their cells. Raises ``annotate.AnnotateError`` for a
    file that cannot be annotated (an OpenDocument file, or one that cannot be opened)."""
    from returns_kit.annotate import AnnotateError, annotate

    if not row.stored.lower().endswith(".xlsx"):
        raise AnnotateError("only .xlsx workbooks can be annotated; this file is not one.")
    check = findings(ledger, row)
    label = f"{row.council_code}-{row.period}" if row.council_code else f"submission-{row.pk}"
    name = f"{label}-checked.xlsx"
    with scratch(ledger) as folder:
        annotate(ledger.folder / row.stored, check.validated.report, folder / name)
        return name, (folder / name).read_bytes()


def original(ledger: service.Ledger, row: Any) -> tuple[str, bytes]:
    """(file name, bytes) of the submission exactly as received (its SHA-256 is the one a
    receipt names)."""
    suffix = Path(row.stored).suffix.lower()
    label = f"{row.council_code}-{row.period}" if row.council_code else f"submission-{row.pk}"
    return f"{label}-{row.sha256[:12]}{suffix}", (ledger.folder / row.stored).read_bytes()


# ---------------------------------------------------------------------------------------------
# A submission's findings


def submission(ledger: service.Ledger, pk: int) -> Any:
    """The collection's submission ``pk`` (its report deferred), or :class:`NotFound`."""
    from returns_kit.ledger.models import Submission

    row = Submission.objects.filter(collection=ledger.collection, pk=pk).defer("report").first()
    if row is None:
        raise NotFound(f"there is no submission {pk}.")
    return row


@dataclass(frozen=True)
class QueryLine:
    """A query of the submission, with the explanation that stands for it (if any)."""

    rule: str
    rule_name: str
    scope: str
    place: str
    cell: str
    message: str
    explained: bool
    explanation: str = ""
    explained_by: str = ""
    explained_at: str = ""
    #: "workbook" (its Explanations sheet) or "collect" (given in the service or the CLI)
    source: str = ""


@dataclass
class Check:
    """A stored submission's findings as the ledger holds them now, for its page."""

    row: Any
    name: str
    names: tuple[str, ...]
    by: str
    validated: Validated
    previous: Validated | None
    current_id: int | None
    open: list[QueryLine]
    explained: list[QueryLine]
    #: its period is one this collection collects (else it is recorded but never used)
    collected: bool = True

    @property
    def explainable(self) -> bool:
        """Its queries can be explained: it names a council and a collected period."""
        return bool(self.row.council_code) and self.collected

    @property
    def current(self) -> bool:
        return self.current_id is not None and self.current_id == int(self.row.pk)

    @property
    def received_at(self) -> str:
        return stamp(self.row.received_at)


def _finding(item: dict[str, Any]) -> Finding:
    # A report recorded before version 1.1 has no params: None, as for a rule without any.
    return Finding(
        rule=item["rule"], severity=Severity(item["severity"]), message=item["message"],
        sheet=item.get("sheet"), cell=item.get("cell"), row=item.get("row"),
        column=item.get("column"), scope=item.get("scope"), params=item.get("params"),
        evidence=item.get("evidence"), explained=item.get("explained"),
    )  # fmt: skip


def _validated(ledger: service.Ledger, row: Any, name: str) -> Validated:
    """The stored file's report and summary (from the validation cache, or validated again),
    named as received, with the findings the ledger recorded in place of a fresh run's."""
    from returns_kit.validate import validate_return

    cached = service._cache(ledger).get(row.sha256)
    if cached is not None:
        report, summary, explanations = cached
    else:
        fresh = validate_return(ledger.folder / row.stored, thresholds=ledger.config.thresholds)
        report, summary, explanations = fresh.report, fresh.summary, fresh.explanations
    judgement = service._judgements(ledger, [row.pk]).get(row.pk)
    recorded = [_finding(item) for item in service._full_findings(row, judgement)]
    return Validated(replace(report, path=name, findings=recorded), summary, explanations)


def findings(ledger: service.Ledger, row: Any) -> Check:
    """The submission's findings now: queries marked explained by the explanations standing
    for its council and period (which carry forward to every later submission)."""
    from returns_kit.ledger.models import Arrival

    arrivals = list(Arrival.objects.filter(submission=row).order_by("seq"))
    names = tuple(dict.fromkeys(a.name for a in arrivals)) or (row.sha256[:12],)
    validated = _validated(ledger, row, names[-1])
    code, period = row.council_code, row.period
    standing = service._explanations(ledger, code, period) if code and period else {}
    if code and period:
        given = [GivenExplanation(r, scope or None, e.text) for (r, scope), e in standing.items()]
        validated.report.findings = mark_explained(validated.report.findings, given)
    current_id = previous = None
    if code and period:
        found = service.currents(ledger, council_code=code, period=period).current((code, period))
        current_id = found.pk if found is not None else None
        previous = _previous(ledger, code, period)
    lines = [_line(item, standing) for item in validated.report.findings
             if item.severity is Severity.QUERY]  # fmt: skip
    return Check(
        row, names[-1], names, arrivals[0].by if arrivals else "", validated, previous,
        current_id, [q for q in lines if not q.explained], [q for q in lines if q.explained],
        collected=period in ledger.config.periods,
    )  # fmt: skip


def _previous(ledger: service.Ledger, code: str, period: str) -> Validated | None:
    """The previous period's current return, as the period findings compare with it."""
    key = service._previous_key(ledger, code, period)
    if key is None:
        return None
    row = service.currents(ledger, council_code=key[0], period=key[1]).current(key)
    if row is None:
        return None
    from returns_kit.ledger.models import Arrival

    last = Arrival.objects.filter(submission=row).order_by("-seq").first()
    previous = _validated(ledger, row, last.name if last is not None else row.sha256[:12])
    return previous if previous.summary is not None else None


def _line(item: Finding, standing: dict[tuple[str, str], Any]) -> QueryLine:
    rule = RULES.get(item.rule)
    given = None
    if item.explained:
        if item.scope:
            given = standing.get((item.rule, fold(item.scope)))
        else:  # a query without a scope is answered by any explanation of its rule
            given = next((e for (r, _), e in sorted(standing.items()) if r == item.rule), None)
    return QueryLine(
        rule=item.rule, rule_name=rule.name if rule else "", scope=item.scope or "",
        place=place(item), cell=item.cell or "", message=item.message,
        explained=bool(item.explained),
        explanation=given.text if given is not None else "",
        explained_by=given.by if given is not None else "",
        explained_at=stamp(given.at) if given is not None else "",
        source=given.source if given is not None else "",
    )  # fmt: skip


def explain(ledger: service.Ledger, row: Any, rule: str, scope: str, text: str, by: str) -> str:
    """Record the council's explanation of one query of the submission (for its council and
    period, so it carries forward); one line saying so, or ``CollectionError``."""
    if not row.council_code or not row.period:
        raise CollectionError("this submission names no council and period: nothing to explain.")
    if row.period not in ledger.config.periods:
        raise CollectionError(f"{row.period} is not a period of this collection.")
    return service.explain(ledger, row.council_code, row.period, rule, scope or None, text, by=by)


# ---------------------------------------------------------------------------------------------
# Sign-off and the receipt


def sign_off(
    ledger: service.Ledger, code: str, period: str, by: str, sha256: str
) -> service.Receipt:
    """The approver ``by`` signs off the council's current return, if it is the one they saw
    (``sha256``), is not signed off already and has no query left unexplained."""
    code, _ = council_of(ledger, code)
    period = period_of(ledger, period)
    state = next(
        (item for item in service.status(ledger, period).councils if item.council_code == code),
        None,
    )
    if state is None or not state.current_sha256:
        raise NotReady(f"there is no valid return for {period} to sign off.")
    if state.current_sha256 != sha256:
        raise NotReady(
            "a newer return has become current since the page was shown: look at it before "
            "signing off."
        )
    if state.status in (service.SIGNED_OFF, service.ACCEPTED):
        raise NotReady(
            f"this return was signed off already, by {state.signed_off_by} at "
            f"{state.signed_off_at}."
        )
    if state.status == service.RETURNED:
        raise NotReady("the national team returned this return: correct it and upload it again.")
    if state.unexplained:
        raise NotReady(
            f"{counted(state.unexplained, 'query', 'queries')} still to explain: explain "
            "them on the findings page, then sign off."
        )
    try:
        return service.signoff(ledger, code, period, by, sha256=sha256)
    except CollectionError as problem:
        raise NotReady(str(problem)) from problem


@dataclass(frozen=True)
class ReceiptView:
    receipt: service.Receipt
    #: the signed-off return is still the current one (a correction needs a new sign-off)
    still_current: bool
    submission_id: int


def receipt(ledger: service.Ledger, code: str, period: str) -> ReceiptView | None:
    """The council's latest sign-off for the period, as a receipt, or None."""
    from returns_kit.ledger.models import SignOff

    code, name = council_of(ledger, code)
    period = period_of(ledger, period)
    row = (
        SignOff.objects.filter(collection=ledger.collection, council_code=code, period=period)
        .select_related("submission")
        .order_by("-seq")
        .first()
    )
    if row is None:
        return None
    current = service.currents(ledger, council_code=code, period=period).current((code, period))
    return ReceiptView(
        service.Receipt(
            ledger.config.name, code, name, period, row.submission.sha256, stamp(row.at), row.by,
            int(row.seq),
        ),
        current is not None and current.pk == row.submission_id,
        row.submission_id,
    )  # fmt: skip
