"""The JSON API (``/api/v1/``) for councils' systems and CI, with bearer tokens.

Thin shells over the ledger, as the pages are: an upload goes through
:func:`returns_kit.service.receive.receive` (the upload page's own path), the rest through
:mod:`returns_kit.ledger.service`. The contract is ``openapi.json`` beside this package, served
at ``/api/v1/openapi.json``; ``tests/test_service_api.py`` checks every live response against
it. Every refusal is JSON ``{"error": ...}``: a machine never has to parse a page.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from returns_kit.ledger.config import CollectionError
from returns_kit.service import access, receive

VERSION_PREFIX = "api/v1/"


def _json(data: Any, status: int = 200) -> Any:
    from django.http import JsonResponse

    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error(message: str, status: int, **extra: Any) -> Any:
    return _json({"error": message, **extra}, status)


def _only(request: Any, *methods: str) -> Any | None:
    """A 405 answer unless the request uses one of ``methods``."""
    if request.method in methods:
        return None
    response = error(f"use {' or '.join(methods)}", 405)
    response["Allow"] = ", ".join(methods)
    return response


def validate_document(file_report: dict[str, Any] | None) -> dict[str, Any] | None:
    """One file's report as ``returns validate --format json`` prints it for that file."""
    from returns_kit.report import report_document

    if file_report is None:
        return None
    return report_document([file_report], bool(file_report.get("valid")))


def _state(row: Any) -> str:
    """The submission's own state: what its validation found (the council's status in the
    collection, with explanations and sign-off, is ``/api/v1/status``)."""
    if row.errors or not row.valid:
        return "not valid"
    return "valid with queries" if row.queries else "valid"


def _submission(row: Any, current: bool, names: tuple[str, ...] = ()) -> dict[str, Any]:
    from returns_kit.ledger.clock import stamp

    return {
        "id": row.pk,
        "sha256": row.sha256,
        "council_code": row.council_code or None,
        "period": row.period or None,
        "status": _state(row),
        "current": current,
        "received_at": stamp(row.received_at),
        "names": list(names),
        "errors": row.errors,
        "queries": row.queries,
        "warnings": row.warnings,
    }


def _is_current(ledger: Any, row: Any) -> bool:
    from returns_kit.ledger.service import currents

    if not row.council_code or not row.period:
        return False
    key = (row.council_code, row.period)
    found = currents(ledger, council_code=row.council_code, period=row.period).current(key)
    return found is not None and found.pk == row.pk


def _period_or_none(ledger: Any, request: Any) -> str | None:
    from returns_kit.ledger.service import _period

    given = request.GET.get("period", "").strip()
    return _period(ledger, given) if given else None


@access.api(access.COUNCIL)
def submissions(request: Any) -> Any:
    """GET: the submissions the caller may see (``?period=P`` narrows); POST: submit one."""
    refused = _only(request, "GET", "POST")
    if refused is not None:
        return refused
    if request.method == "POST":
        return _submit(request)
    from returns_kit.ledger.service import currents

    ledger = access.ledger()
    viewer: access.Viewer = request.viewer
    filters: dict[str, Any] = {}
    try:
        period = _period_or_none(ledger, request)
    except CollectionError as problem:
        return error(str(problem), 400)
    if period:
        filters["period"] = period
    if not viewer.national:
        filters["council_code"] = viewer.council_code
    found = currents(ledger, **filters)
    current = {
        choice.current.sha256 for choice in found.choices.values() if choice.current is not None
    }
    rows = sorted(found.rows.values(), key=lambda row: row.received_seq)
    return _json(
        {
            "submissions": [
                _submission(row, row.sha256 in current, found.names.get(row.pk, ())) for row in rows
            ]
        }
    )


def _submit(request: Any) -> Any:
    from returns_kit.ledger.models import Submission

    viewer: access.Viewer = request.viewer
    try:
        outcome = receive.receive(request, viewer)
    except receive.TooLarge as problem:
        return error(str(problem), 413)
    except receive.NoFile as problem:
        return error(str(problem), 400)
    except CollectionError as problem:
        return error(str(problem), 400)
    report = validate_document(outcome.report)
    if outcome.council_code is None or outcome.period is None:
        # nothing says whose return this is: the findings say why
        return error("the workbook's council and period could not be read", 400, report=report)
    if outcome.not_theirs:
        return error(
            f"this return names {outcome.council_code}, not your council", 403,
            sha256=outcome.sha256,
        )  # fmt: skip
    if outcome.refused:
        return error(outcome.what, 409, sha256=outcome.sha256, report=report)
    ledger = access.ledger()
    row = Submission.objects.defer("report").get(
        collection=ledger.collection, sha256=outcome.sha256
    )
    body = _submission(row, _is_current(ledger, row))
    body.pop("names")
    body["what"] = outcome.what
    body["report"] = report
    # the same bytes again are the same submission: 200, not a second 201
    new = "same bytes" not in outcome.what.lower()
    return _json(body, 201 if new else 200)


@access.api(access.COUNCIL)
def submission(request: Any, number: int) -> Any:
    """One submission with its validation report, for its council and the national roles."""
    from returns_kit.ledger.models import Submission
    from returns_kit.ledger.service import _names

    refused = _only(request, "GET")
    if refused is not None:
        return refused
    ledger = access.ledger()
    row = Submission.objects.filter(collection=ledger.collection, pk=number).first()
    if row is None:
        return error("no submission has this id", 404)
    viewer: access.Viewer = request.viewer
    if not viewer.may_see(row.council_code):
        return error("this submission belongs to another council", 403)
    body = _submission(row, _is_current(ledger, row), _names([row]).get(row.pk, ()))
    body["report"] = validate_document(row.report)
    return _json(body)


@access.api(access.NATIONAL)
def status(request: Any) -> Any:
    """Every expected council's status in one period (or all), for the national team."""
    from dataclasses import asdict

    from returns_kit.ledger import service

    refused = _only(request, "GET")
    if refused is not None:
        return refused
    ledger = access.ledger()
    try:
        found = service.status(ledger, _period_or_none(ledger, request))
    except CollectionError as problem:
        return error(str(problem), 400)
    return _json(
        {
            "collection": found.collection,
            "periods": list(found.periods),
            "soft_deadline": found.soft_deadline.isoformat() if found.soft_deadline else None,
            "close": found.close.isoformat() if found.close else None,
            "today": found.today.isoformat(),
            "councils": [{**asdict(item), "chase": item.chase} for item in found.councils],
        }
    )


#: The fields of an explanation, and their JSON types.
_EXPLANATION = {"council_code": str, "period": str, "rule": str, "scope": str, "text": str,
                "withdraw": bool}  # fmt: skip


@access.api(access.COUNCIL)
def explanations(request: Any) -> Any:
    """Record (or withdraw) a council's explanation of a query:
    ``{"council_code", "period", "rule", "scope"?, "text", "withdraw"?}``."""
    from returns_kit.ledger import service

    refused = _only(request, "POST")
    if refused is not None:
        return refused
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return error("send a JSON object", 400)
    if not isinstance(body, dict):
        return error("send a JSON object", 400)
    unknown = sorted(set(body) - set(_EXPLANATION))
    if unknown:
        return error(f"unknown field: {unknown[0]}", 400)
    for name, kind in _EXPLANATION.items():
        if name in body and not isinstance(body[name], kind):
            return error(f"{name} must be a {'boolean' if kind is bool else 'string'}", 400)
    missing = [name for name in ("council_code", "period", "rule") if not body.get(name)]
    if missing:
        return error(f"missing field: {missing[0]}", 400)
    viewer: access.Viewer = request.viewer
    code = body["council_code"].strip().upper()
    if not viewer.may_see(code):
        return error("this council is not yours", 403)
    try:
        line = service.explain(
            access.ledger(), code, body["period"], body["rule"], body.get("scope"),
            body.get("text"), by=viewer.name, withdraw=bool(body.get("withdraw", False)),
        )  # fmt: skip
    except CollectionError as problem:
        return error(str(problem), 400)
    return _json({"message": line}, 201)


def openapi_document() -> dict[str, Any]:
    """The API's contract (OpenAPI 3.1), as shipped in the package."""
    text = resources.files("returns_kit.service").joinpath("openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@access.page(access.PUBLIC)
def openapi(request: Any) -> Any:
    refused = _only(request, "GET")
    if refused is not None:
        return refused
    response = _json(openapi_document())
    response["Cache-Control"] = "max-age=3600"
    return response


def _routes() -> list[Any]:
    from django.urls import path

    return [
        path(VERSION_PREFIX + "submissions", submissions, name="api-submissions"),
        path(VERSION_PREFIX + "submissions/<int:number>", submission, name="api-submission"),
        path(VERSION_PREFIX + "status", status, name="api-status"),
        path(VERSION_PREFIX + "explanations", explanations, name="api-explanations"),
        path(VERSION_PREFIX + "openapi.json", openapi, name="api-openapi"),
    ]


ROUTES = _routes()
