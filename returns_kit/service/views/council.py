"""The council officer's pages: their council's periods, template, uploads, findings,
explanations and sign-off.

Every page is about the signed-in person's own council. National people (reviewer, admin)
may open the same pages for any council by adding ``?council=CODE`` (a form posts it as the
field ``council``); a council's person naming another council gets 403. A submission's
pages are found by its number and checked against the submission's own council. The logic
lives in :mod:`returns_kit.service.officer`; these are shells over it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from returns_kit.service import access, officer
from returns_kit.service.render import page

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
#: who is shown the sign-off form: the roles APPROVER access lets through (access.py)
_SIGNERS = ("approver", "admin")


def _council(request: Any) -> str:
    """The council a request is about (its ``council`` parameter, or the viewer's own),
    after the access check."""
    viewer: access.Viewer = request.viewer
    asked = request.POST.get("council", "") if request.method == "POST" else ""
    asked = (asked or request.GET.get("council", "")).strip().upper()[:9]
    code = asked or viewer.council_code
    if not code:
        raise officer.NotFound("name the council: add ?council=CODE to the address.")
    access.council_or_403(viewer, code)
    return code


def _query(viewer: access.Viewer, code: str) -> str:
    """What national people's links carry to stay on this council ("" for its own people)."""
    return "?" + urlencode({"council": code}) if viewer.national else ""


def _problem(request: Any, status: int, title: str, message: str) -> Any:
    return page(request, "error.html.j2", status=status, title=title, message=message)


def _not_found(request: Any, problem: Exception) -> Any:
    return _problem(request, 404, "Not found", str(problem))


def _download(name: str, data: bytes, content_type: str) -> Any:
    from django.http import HttpResponse

    response = HttpResponse(data, content_type=content_type)
    # our own names (codes, periods, digests): nothing a person typed
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _common(request: Any, code: str, name: str) -> dict[str, Any]:
    return {"council_code": code, "council_name": name, "q": _query(request.viewer, code)}


@access.page(access.COUNCIL)
def council_home(request: Any) -> Any:
    """A council's periods with their status and deadlines (national people without a
    council named are sent to the national page)."""
    return _home(request)


def _home(request: Any, problem: str = "", status: int = 200) -> Any:
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    viewer: access.Viewer = request.viewer
    if viewer.national and not request.GET.get("council") and not request.POST.get("council"):
        return HttpResponseRedirect(reverse("national-home"))
    ledger = access.ledger()
    try:
        code = _council(request)
        seen = officer.overview(ledger, code)
    except officer.NotFound as missing:
        return _not_found(request, missing)
    return page(
        request, "council_home.html.j2", status, overview=seen, problem=problem,
        collection=ledger.config, may_sign=viewer.role in _SIGNERS,
        **_common(request, seen.council_code, seen.council_name),
    )  # fmt: skip


@access.page(access.COUNCIL)
def council_template(request: Any, period: str) -> Any:
    """The blank return for the council and period, About filled in."""
    ledger = access.ledger()
    try:
        name, data = officer.template(ledger, _council(request), period)
    except officer.NotFound as missing:
        return _not_found(request, missing)
    return _download(name, data, XLSX)


@access.page(access.COUNCIL)
def council_upload(request: Any) -> Any:
    """The upload form; a posted workbook is received (stored, validated, recorded) and the
    person sent to its findings page, or told why it was refused."""
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    from returns_kit.ledger.config import CollectionError
    from returns_kit.ledger.models import Submission
    from returns_kit.service import receive

    viewer: access.Viewer = request.viewer
    ledger = access.ledger()
    code = viewer.council_code
    context: dict[str, Any] = {
        "collection": ledger.config,
        "periods": ledger.config.periods,
        "problem": "",
        "refused": None,
        "limit_mb": receive.limit() // (1024 * 1024),
    }
    if code:
        context.update(_common(request, code, officer.council_of(ledger, code)[1]))
    if request.method != "POST":
        return page(request, "council_upload.html.j2", **context)
    try:
        outcome = receive.receive(request, viewer)
    except receive.TooLarge as problem:
        context["problem"] = f"That file is too large: {problem}."
        return page(request, "council_upload.html.j2", 413, **context)
    except receive.NoFile:
        context["problem"] = "Choose a workbook (.xlsx) to upload."
        return page(request, "council_upload.html.j2", 400, **context)
    except CollectionError as problem:
        context["problem"] = f"The file was not recorded: {problem}"
        return page(request, "council_upload.html.j2", 400, **context)
    if outcome.refused:
        context["refused"] = outcome
        context["refused_findings"] = [
            item for item in (outcome.report or {}).get("findings", [])
            if item.get("severity") == "error"
        ]  # fmt: skip
        return page(request, "council_upload.html.j2", 422, **context)
    row = Submission.objects.only("pk").get(collection=ledger.collection, sha256=outcome.sha256)
    return HttpResponseRedirect(reverse("council-submission", args=[row.pk]), status=303)


def _submission(request: Any, pk: int) -> Any:
    """The submission, after checking the viewer may see its council (403 otherwise)."""
    row = officer.submission(access.ledger(), pk)
    access.council_or_403(request.viewer, row.council_code)
    return row


@access.page(access.COUNCIL)
def council_submission(request: Any, pk: int) -> Any:
    """The findings page of one submission: our return check page, with a form beside each
    open query to explain it, and the annotated copy to download."""
    return _findings(request, pk)


def _findings(
    request: Any, pk: int, problem: str = "", kept: tuple[str, str, str] | None = None
) -> Any:
    from returns_kit.html.validate_page import validate_context
    from returns_kit.rules.catalogue import RULES

    ledger = access.ledger()
    try:
        row = _submission(request, pk)
    except officer.NotFound as missing:
        return _not_found(request, missing)
    check = officer.findings(ledger, row)
    context = validate_context(check.validated, check.previous, thresholds=ledger.config.thresholds)
    recorded = request.GET.get("recorded", "").strip().upper()
    return page(
        request, "council_submission.html.j2", 400 if problem else 200, **context,
        check=check, queries_section="service/council_queries.html.j2", problem=problem,
        kept=kept, recorded=recorded if recorded in RULES else "",
        annotatable=row.stored.lower().endswith(".xlsx"),
        q=_query(request.viewer, row.council_code) if row.council_code else "",
    )  # fmt: skip


@access.page(access.COUNCIL)
def council_annotated(request: Any, pk: int) -> Any:
    """The submission's annotated copy: its findings marked on the cells they name."""
    from returns_kit.annotate import AnnotateError

    ledger = access.ledger()
    try:
        row = _submission(request, pk)
        name, data = officer.annotated(ledger, row)
    except officer.NotFound as missing:
        return _not_found(request, missing)
    except AnnotateError as problem:
        return _problem(request, 409, "No annotated copy", f"No annotated copy: {problem}")
    return _download(name, data, XLSX)


@access.page(access.COUNCIL)
def council_file(request: Any, pk: int) -> Any:
    """The submission exactly as received (the bytes a receipt's SHA-256 is of)."""
    try:
        row = _submission(request, pk)
    except officer.NotFound as missing:
        return _not_found(request, missing)
    name, data = officer.original(access.ledger(), row)
    return _download(name, data, ODS if name.endswith(".ods") else XLSX)


@access.page(access.COUNCIL)
@access.post_only
def council_explain(request: Any) -> Any:
    """Record the council's explanation of one query (a collection explanation: it stands
    for the council and period, so it carries forward to corrected returns)."""
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    from returns_kit.ledger.config import CollectionError

    try:
        pk = int(request.POST.get("submission", ""))
        row = _submission(request, pk)
    except ValueError:
        return _problem(request, 400, "Which return?", "The form named no submission.")
    except officer.NotFound as missing:
        return _not_found(request, missing)
    rule = request.POST.get("rule", "").strip()[:10]
    scope = request.POST.get("scope", "").strip()[:200]
    text = request.POST.get("text", "")
    try:
        officer.explain(access.ledger(), row, rule, scope, text, by=request.viewer.name)
    except CollectionError as problem:
        # the page again, with the problem and the text as typed; nothing was recorded
        return _findings(request, pk, problem=str(problem), kept=(rule.upper(), scope, text))
    target = reverse("council-submission", args=[pk])
    return HttpResponseRedirect(
        f"{target}?{urlencode({'recorded': rule.upper()})}#queries", status=303
    )


@access.page(access.APPROVER)
@access.post_only
def council_signoff(request: Any, period: str) -> Any:
    """An approver signs off the council's current return (the one the page showed)."""
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    ledger = access.ledger()
    try:
        code = _council(request)
        officer.sign_off(
            ledger, code, period, request.viewer.name, request.POST.get("sha256", "").strip()
        )
    except officer.NotFound as missing:
        return _not_found(request, missing)
    except officer.NotReady as problem:
        return _home(request, problem=f"Not signed off: {problem}", status=409)
    target = reverse("council-receipt", args=[period])
    return HttpResponseRedirect(target + _query(request.viewer, code), status=303)


@access.page(access.COUNCIL)
def council_receipt(request: Any, period: str) -> Any:
    """The receipt of the council's latest sign-off for the period: printable, and as the
    text file ``returns collect verify-receipt`` reads (``?format=text``)."""
    ledger = access.ledger()
    try:
        code = _council(request)
        found = officer.receipt(ledger, code, period)
    except officer.NotFound as missing:
        return _not_found(request, missing)
    if found is None:
        return _problem(
            request, 404, "No receipt yet", f"No return of this council for {period} has been "
            "signed off yet.",
        )  # fmt: skip
    if request.GET.get("format") == "text":
        text = found.receipt.text() + "\n"
        return _download(f"receipt-{code}-{period}.txt", text.encode(), "text/plain; charset=utf-8")
    return page(
        request, "council_receipt.html.j2", found=found, receipt=found.receipt,
        collection=ledger.config, period=period,
        **_common(request, code, found.receipt.council_name),
    )  # fmt: skip


def _routes() -> list[Any]:
    from django.urls import path

    return [
        path("council/", council_home, name="council-home"),
        path("council/template/<str:period>", council_template, name="council-template"),
        path("council/upload", council_upload, name="council-upload"),
        path("council/submissions/<int:pk>", council_submission, name="council-submission"),
        path("council/submissions/<int:pk>/annotated", council_annotated, name="council-annotated"),
        path("council/submissions/<int:pk>/file", council_file, name="council-file"),
        path("council/explanations", council_explain, name="council-explain"),
        path("council/signoff/<str:period>", council_signoff, name="council-signoff"),
        path("council/receipts/<str:period>", council_receipt, name="council-receipt"),
    ]


ROUTES = _routes()
