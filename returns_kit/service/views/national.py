"""The national team's pages: each period's councils and status, the chase list, the review
queue, building the tables, and the audit log; admins also manage people, deadlines and
reopenings. National people see every council, so no view here narrows to one; every view
is NATIONAL or ADMIN (``access.page``), and the route table names which."""

from __future__ import annotations

import json
from typing import Any

from returns_kit.service import access
from returns_kit.service.render import page

#: the navigation every national page shows (label, route name); admins get ADMIN_LINKS too
LINKS = (
    ("Periods", "national-home"),
    ("Review queue", "national-review"),
    ("Build the tables", "national-builds"),
    ("Audit log", "national-log"),
)
ADMIN_LINKS = (("People", "national-people"), ("Deadlines", "national-deadlines"))

#: the period page's columns: (key, heading, numeric); ?sort=key or ?sort=-key
COLUMNS = (
    ("council_code", "Code", False),
    ("council_name", "Council", False),
    ("status", "Status", False),
    ("submissions", "Submissions", True),
    ("errors", "Errors", True),
    ("queries", "Queries", True),
    ("unexplained", "Unexplained", True),
    ("undecided", "Undecided", True),
    ("days_to_deadline", "Days to deadline", True),
)
#: how many log entries a page shows at most (the newest that match)
LOG_PAGE = 500
NOTICE = "national_notice"


def _page(request: Any, template: str, status: int = 200, **context: Any) -> Any:
    viewer: access.Viewer = request.viewer
    links = LINKS + (ADMIN_LINKS if viewer.admin else ())
    notice = request.session.pop(NOTICE, None) if request.method == "GET" else None
    context.setdefault("notice", notice[0] if notice else "")
    context.setdefault("notice_refused", bool(notice and notice[1]))
    context.setdefault("problem", "")
    return page(request, template, status, viewer_links=links, **context)


def _back(
    request: Any, name: str, notice: str, *args: Any, query: str = "", refused: bool = False
) -> Any:
    """After a POST: the outcome in the session, and a redirect to a page to GET (so a reload
    does not post again)."""
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    request.session[NOTICE] = [notice, refused]
    return HttpResponseRedirect(reverse(name, args=args) + query)


def _period_or_404(ledger: Any, period: str) -> str:
    from django.http import Http404

    if period not in ledger.config.periods:
        raise Http404
    return period


# -- periods ------------------------------------------------------------------------------


@access.page(access.NATIONAL)
def national_home(request: Any) -> Any:
    """Every period of the collection with how many councils are at each status."""
    from returns_kit.ledger import service

    ledger = access.ledger()
    found = service.status(ledger)
    periods = [
        {
            "period": period,
            "councils": sum(1 for c in found.councils if c.period == period),
            "counts": [
                (name, sum(1 for c in found.councils if c.period == period and c.status == name))
                for name in service.STATUSES
            ],
            "chase": sum(1 for c in found.chase if c.period == period),
        }
        for period in found.periods
    ]
    return _page(
        request,
        "national_home.html.j2",
        collection=ledger.config,
        found=found,
        periods=periods,
        statuses=service.STATUSES,
    )


def sort_rows(rows: list[Any], sort: str) -> list[Any]:
    """``rows`` by ``sort`` (a column, or -column for descending); ties by council code, and
    blanks (no deadline set) last either way round."""
    column = sort.lstrip("-")
    numeric = dict((key, n) for key, _, n in COLUMNS)[column]
    by_code = sorted(rows, key=lambda item: item.council_code)
    blank = [item for item in by_code if getattr(item, column) is None]
    filled = [item for item in by_code if getattr(item, column) is not None]

    def key(item: Any) -> Any:
        value = getattr(item, column)
        return value if numeric else str(value).casefold()

    # sorted() keeps equal items in their order (the code's) even when reversed
    return sorted(filled, key=key, reverse=sort.startswith("-")) + blank


@access.page(access.NATIONAL)
def national_period(request: Any, period: str) -> Any:
    """Every expected council of one period: sortable and filterable on the server."""
    from returns_kit.ledger import service

    ledger = access.ledger()
    period = _period_or_404(ledger, period)
    found = service.status(ledger, period)
    rows = found.councils
    wanted_status = request.GET.get("status", "")
    if wanted_status in service.STATUSES:
        rows = [c for c in rows if c.status == wanted_status]
    else:
        wanted_status = ""
    q = request.GET.get("q", "").strip()[:100]
    if q:
        folded = q.casefold()
        rows = [
            c
            for c in rows
            if folded in c.council_name.casefold() or folded in c.council_code.casefold()
        ]
    sort = request.GET.get("sort", "council_code")
    if sort.lstrip("-") not in {key for key, _, _ in COLUMNS}:
        sort = "council_code"
    rows = sort_rows(rows, sort)
    return _page(
        request,
        "national_period.html.j2",
        collection=ledger.config,
        found=found,
        period=period,
        rows=rows,
        columns=COLUMNS,
        sort=sort,
        status_filter=wanted_status,
        q=q,
        statuses=service.STATUSES,
        total=len(found.councils),
    )


@access.page(access.NATIONAL)
def national_chase(request: Any, period: str) -> Any:
    """The chase list of one period (not received, or with errors), as `returns collect status
    --chase` writes it, to mail-merge."""
    from django.http import HttpResponse

    from returns_kit.ledger import service

    ledger = access.ledger()
    period = _period_or_404(ledger, period)
    found = service.status(ledger, period)
    response = HttpResponse(
        service.status_csv(found.chase, service.CHASE_FIELDS),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="chase-{period}.csv"'
    return response


# -- the review queue ---------------------------------------------------------------------


@access.page(access.NATIONAL)
def national_review(request: Any) -> Any:
    """Queries and period flags across councils, ranked, each with its evidence and the
    council's explanation; accepted or returned with a reason in one POST."""
    from returns_kit.ledger import queue, service
    from returns_kit.ledger.config import CollectionError

    ledger = access.ledger()
    viewer: access.Viewer = request.viewer
    problem = ""
    status = 200
    if request.method == "POST":
        form = request.POST
        outcome = form.get("outcome", "")
        try:
            if outcome not in ("accepted", "returned"):
                raise CollectionError("choose accept or return.")
            done = service.review(
                ledger,
                form.get("council", ""),
                form.get("period", ""),
                form.get("rule", "") or None,
                form.get("scope", "") or None,
                outcome,
                form.get("reason", ""),
                by=viewer.name,
            )
        except CollectionError as refused:
            problem, status = str(refused), 400
        else:
            return _back(request, "national-review", done, query=_keep_query(request))
    show = request.GET.get("show", "open")
    kind = request.GET.get("kind", "")
    items = queue.review_queue(ledger)
    counts = {
        "open": sum(1 for i in items if i.open),
        "all": len(items),
        "flags": sum(1 for i in items if i.kind == queue.FLAG and i.open),
        "queries": sum(1 for i in items if i.kind == queue.QUERY and i.open),
    }
    if show != "all":
        show = "open"
        items = [i for i in items if i.open]
    if kind in (queue.FLAG, queue.QUERY):
        items = [i for i in items if i.kind == kind]
    else:
        kind = ""
    return _page(
        request,
        "national_review.html.j2",
        status,
        items=items,
        show=show,
        kind=kind,
        counts=counts,
        problem=problem,
        posted=request.POST if problem else {},
    )


def _keep_query(request: Any) -> str:
    from urllib.parse import urlencode

    kept = {k: request.GET[k] for k in ("show", "kind") if request.GET.get(k)}
    return "?" + urlencode(kept) if kept else ""


# -- building the tables ------------------------------------------------------------------


@access.page(access.NATIONAL)
def national_builds(request: Any) -> Any:
    """The builds so far (GET), or start one (POST)."""
    from django.conf import settings

    from returns_kit.service import build

    ledger = access.ledger()
    viewer: access.Viewer = request.viewer
    problem, status = "", 200
    if request.method == "POST":
        try:
            row = build.start(ledger, viewer.name, settings.RETURNS_DATABASE_URL)
        except build.BuildRunning as refused:
            problem, status = str(refused), 409
        else:
            return _back(request, "national-build", f"Build {row.pk} started.", row.pk)
    found = build.builds(ledger)
    running = any(row.status in ("queued", "running") for row in found)
    return _page(
        request,
        "national_builds.html.j2",
        status,
        builds=found,
        running=running,
        problem=problem,
    )


@access.page(access.NATIONAL)
def national_build(request: Any, build_id: int) -> Any:
    """One build: refreshes itself while it runs; then report.html and every output."""
    from django.http import Http404

    from returns_kit.service import build

    ledger = access.ledger()
    row = build.build_of(ledger, build_id)
    if row is None:
        raise Http404
    outputs = build.outputs(ledger, row)
    return _page(
        request,
        "national_build.html.j2",
        build=row,
        running=row.status in ("queued", "running"),
        outputs=sorted(outputs),
        report="report.html" in outputs,
    )


#: how the build's files are served: shown in the browser, or downloaded
INLINE_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json"}
DOWNLOAD_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: report.html carries its own policy (no script at all); the service's allows its one script
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)


@access.page(access.NATIONAL)
def national_build_file(request: Any, build_id: int, name: str) -> Any:
    """One file a build wrote: only the names the ledger recorded for its release, so no
    path from the URL reaches the disk unless it is one of them."""
    from django.http import Http404, HttpResponse

    from returns_kit.ledger import store
    from returns_kit.service import build

    ledger = access.ledger()
    row = build.build_of(ledger, build_id)
    if row is None:
        raise Http404
    outputs = build.outputs(ledger, row)
    if name not in outputs:
        raise Http404
    path = build.out_folder(ledger, row) / name
    try:
        data = path.read_bytes()
    except OSError:
        raise Http404 from None
    if store.sha256_bytes(data) != outputs[name]:  # changed on disk since the release
        return _page(
            request,
            "error.html.j2",
            409,
            title="This file has changed",
            message=f"{name} is no longer as build {row.pk} wrote it: build the tables again.",
        )
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    inline = INLINE_TYPES.get(suffix)
    response = HttpResponse(
        data, content_type=inline or DOWNLOAD_TYPES.get(suffix, "application/octet-stream")
    )
    base = name.rsplit("/", 1)[-1]
    if inline is None:
        response["Content-Disposition"] = f'attachment; filename="{base}"'
    response["Content-Security-Policy"] = REPORT_POLICY
    return response


# -- the audit log ------------------------------------------------------------------------


@access.page(access.NATIONAL)
def national_log(request: Any) -> Any:
    """The audit log, newest first, filterable by kind, council and period; "verify the
    chain" recomputes every hash (a GET: it changes nothing)."""
    from returns_kit.ledger import service
    from returns_kit.ledger.clock import stamp
    from returns_kit.privacy import visible

    ledger = access.ledger()
    kind = request.GET.get("kind", "").strip()
    council = request.GET.get("council", "").strip().upper()
    period = request.GET.get("period", "").strip()
    verified: dict[str, Any] | None = None
    if request.GET.get("verify"):
        count, broken = service.verify_log(ledger)
        verified = {
            "ok": broken is None,
            "text": f"The log's {count} entries are intact: every hash matches."
            if broken is None
            else f"The log is broken at entry {broken.seq}: {broken.why}.",
        }
    entries, kinds, total = [], set(), 0
    for entry in service.log_entries(ledger):
        total += 1
        kinds.add(entry.kind)
        try:
            payload = json.loads(entry.payload)
        except ValueError:  # a damaged entry is shown as it is; "verify the chain" names it
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if kind and entry.kind != kind:
            continue
        if council and payload.get("council_code", "") != council:
            continue
        if period and payload.get("period", "") != period:
            continue
        entries.append(
            {
                "seq": entry.seq,
                "at": stamp(entry.at),
                "kind": entry.kind,
                "council": payload.get("council_code", ""),
                "period": payload.get("period", ""),
                "by": payload.get("by", ""),
                "hash": entry.hash,
                "prev_hash": entry.prev_hash,
                "payload": visible(
                    json.dumps(payload, ensure_ascii=False, sort_keys=True)
                    if payload
                    else entry.payload
                ),
            }
        )
    matched = len(entries)
    entries = list(reversed(entries))[:LOG_PAGE]
    return _page(
        request,
        "national_log.html.j2",
        entries=entries,
        matched=matched,
        total=total,
        kinds=sorted(kinds),
        kind=kind,
        council=council,
        period=period,
        periods=ledger.config.periods,
        verified=verified,
        limit=LOG_PAGE,
    )


# -- admin: people, deadlines and reopenings ---------------------------------------------


@access.page(access.ADMIN)
def national_people(request: Any) -> Any:
    """The collection's people (GET); add one (POST)."""
    from returns_kit.ledger import people
    from returns_kit.ledger.config import CollectionError
    from returns_kit.ledger.models import Person

    ledger = access.ledger()
    problem, status = "", 200
    form = {"name": "", "role": "", "council": ""}
    if request.method == "POST":
        form = {key: request.POST.get(key, "").strip() for key in form}
        try:
            done = people.add_person(
                ledger, form["name"], form["role"], form["council"] or None,
                request.POST.get("password", ""),
            )  # fmt: skip
        except CollectionError as refused:
            problem, status = str(refused), 400
        else:
            return _back(request, "national-people", done)
    return _page(
        request,
        "national_people.html.j2",
        status,
        people=people.people(ledger),
        roles=Person.ROLES,
        form=form,
        problem=problem,
        councils=ledger.reference.councils,
    )


@access.page(access.ADMIN)
@access.post_only
def national_deactivate(request: Any) -> Any:
    """Deactivate a person: they can no longer sign in or use a token."""
    from returns_kit.ledger import people
    from returns_kit.ledger.config import CollectionError

    viewer: access.Viewer = request.viewer
    try:
        done = people.deactivate(access.ledger(), request.POST.get("name", ""), viewer.name)
    except CollectionError as problem:
        return _back(request, "national-people", f"Not done: {problem}", refused=True)
    return _back(request, "national-people", done)


@access.page(access.ADMIN)
def national_deadlines(request: Any) -> Any:
    """The deadlines, with the form to move them (POST), and the reopenings, with the form
    to reopen a council after the close."""
    from datetime import date

    from returns_kit.ledger import service
    from returns_kit.ledger.clock import now
    from returns_kit.ledger.config import CollectionError
    from returns_kit.ledger.models import Reopening

    ledger = access.ledger()
    if request.method == "POST":
        viewer: access.Viewer = request.viewer
        try:
            days = {}
            for key in ("soft_deadline", "close"):
                text = request.POST.get(key, "").strip()
                try:
                    days[key] = date.fromisoformat(text) if text else None
                except ValueError:
                    raise CollectionError(f"{text!r} is not a date like 2014-07-31.") from None
            done = service.set_deadlines(
                ledger, days["soft_deadline"], days["close"], viewer.name,
                request.POST.get("reason", ""),
            )  # fmt: skip
        except CollectionError as problem:
            return _back(request, "national-deadlines", f"Not changed: {problem}", refused=True)
        return _back(request, "national-deadlines", done)
    reopenings = Reopening.objects.filter(collection=ledger.collection).order_by("-seq")
    return _page(
        request,
        "national_deadlines.html.j2",
        collection=ledger.config,
        folder=ledger.folder,
        today=now().date(),
        reopenings=list(reopenings),
        councils=ledger.reference.councils,
        form={"council": "", "period": "", "reason": ""},
    )


@access.page(access.ADMIN)
@access.post_only
def national_reopen(request: Any) -> Any:
    """Reopen a council (one period or all) after the hard close."""
    from returns_kit.ledger import service
    from returns_kit.ledger.config import CollectionError

    viewer: access.Viewer = request.viewer
    try:
        done = service.reopen(
            access.ledger(),
            request.POST.get("council", "").strip().upper(),
            request.POST.get("period", "").strip() or None,
            viewer.name,
            request.POST.get("reason", ""),
        )
    except CollectionError as problem:
        return _back(request, "national-deadlines", f"Not reopened: {problem}", refused=True)
    return _back(request, "national-deadlines", done)


def _routes() -> list[Any]:
    from django.urls import path

    return [
        path("national/", national_home, name="national-home"),
        path("national/periods/<str:period>", national_period, name="national-period"),
        path("national/periods/<str:period>/chase.csv", national_chase, name="national-chase"),
        path("national/review", national_review, name="national-review"),
        path("national/builds", national_builds, name="national-builds"),
        path("national/builds/<int:build_id>", national_build, name="national-build"),
        path(
            "national/builds/<int:build_id>/files/<path:name>",
            national_build_file,
            name="national-build-file",
        ),
        path("national/log", national_log, name="national-log"),
        path("national/people", national_people, name="national-people"),
        path("national/people/deactivate", national_deactivate, name="national-deactivate"),
        path("national/deadlines", national_deadlines, name="national-deadlines"),
        path("national/reopen", national_reopen, name="national-reopen"),
    ]


ROUTES = _routes()
