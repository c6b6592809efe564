"""The national team's pages of ``returns serve``, against a real server on SQLite and
PostgreSQL: the periods and their councils (sorted and filtered on the server), the chase
list, the review queue (ranked as flags.csv ranks, decided in one POST), building the
tables in the background, the audit log and its verification, and the admin's people,
deadlines and reopenings; council people are refused every national URL."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .serving import (
    COUNCIL_A,
    COUNCIL_B,
    PASSWORD,
    Served,
    make_collection,
    returns,
    start,
    text_of,
)
from .test_ledger_support import (
    BACKENDS,
    NATIONAL,
    SMALL_COUNCIL,
    backend,
    shifted,
    small_returns,
)

#: what each of the three councils sends: Hartlepool (A) both periods as they are;
#: Middlesbrough (B) its 2012-13 sent as 2013-14 with 330 people moved to council-managed
#: budgets (P001 and P002, +11.7 points); Stockton 2013-14 +15.7 points (P001): Stockton
#: ranks first
MIDDLESBROUGH_SHIFT = 330


def national_collection(folder: Path, database_url: str | None) -> dict[str, str]:
    """The service test collection (tests/serving.py) with the three councils' returns
    received; returns the API tokens."""
    from returns_kit.ledger import service

    tokens = make_collection(folder, database_url)
    inbox = folder.parent / "inbox"
    made = small_returns(inbox / "made")
    files = [
        NATIONAL / f"{COUNCIL_A}-2012-13.xlsx",
        NATIONAL / f"{COUNCIL_A}-2013-14.xlsx",
        NATIONAL / f"{COUNCIL_B}-2012-13.xlsx",
        # its 2012-13 figures sent again as 2013-14 with the shift: the only change is the
        # relabelling, whatever the national example's own 2013-14 does
        shifted(
            NATIONAL / f"{COUNCIL_B}-2012-13.xlsx",
            inbox / "mb-2013-14.xlsx",
            MIDDLESBROUGH_SHIFT,
            submitted_on=datetime(2014, 6, 15),
            cells={("About", "B5"): "2013-14"},
        ),
        made["before"],
        made["first"],
    ]
    ledger = service.open_ledger(folder, database_url)
    result = service.submit(ledger, files, by="national test")
    assert [o.verdict.split(",")[0] for o in result.outcomes] == ["valid"] * 6
    return tokens


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = backend(request)
    folder = tmp_path_factory.mktemp("national") / "collection"
    tokens = national_collection(folder, url)
    server = start(folder, url, tokens=tokens)
    yield server
    server.stop()


#: every national URL (GET), about council A where a URL names a council
NATIONAL_PAGES = [
    "/national/",
    "/national/periods/2013-14",
    "/national/periods/2013-14/chase.csv",
    "/national/review",
    "/national/builds",
    "/national/builds/1",
    "/national/builds/1/files/report.html",
    f"/national/log?council={COUNCIL_A}",
    "/national/people",
    "/national/deadlines",
]
NATIONAL_POSTS = [
    "/national/review",
    "/national/builds",
    "/national/people",
    "/national/people/deactivate",
    "/national/reopen",
]


@pytest.mark.parametrize("name", ["sub.a", "app.a", "sub.b", "app.b"])
def test_council_people_are_refused_every_national_url(served: Served, name: str) -> None:
    client = served.client(name)
    for path in NATIONAL_PAGES:
        assert client.get(path).status_code == 403, path
    for path in NATIONAL_POSTS:
        assert client.post(path, {"council": COUNCIL_A, "name": "sub.b"}).status_code == 403, path


def test_anonymous_people_are_sent_to_sign_in(served: Served) -> None:
    client = served.client()
    for path in NATIONAL_PAGES:
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login/")


def test_reviewers_are_refused_the_admin_pages(served: Served) -> None:
    client = served.client("reviewer")
    for path in ("/national/people", "/national/deadlines"):
        assert client.get(path).status_code == 403, path
    for path in ("/national/people", "/national/people/deactivate", "/national/reopen"):
        form = {"council": COUNCIL_A, "reason": "x", "name": "sub.b", "role": "reviewer"}
        assert client.post(path, form).status_code == 403, path


def test_the_periods_page_counts_every_expected_council_by_status(served: Served) -> None:
    from returns_kit.periods import Period
    from returns_kit.reference import load_reference

    expected = len(load_reference().active(Period.parse("2013-14")))  # type: ignore[arg-type]
    answer = served.client("reviewer").get("/national/")
    assert answer.status_code == 200
    text = text_of(answer)
    # 2013-14: 3 received, every other active council not received; 2 with queries to explain
    row = re.search(r"2013-14 (\d+) (\d+) (\d+) (\d+) (\d+)", text)
    assert row is not None, text
    councils, not_received, with_errors, to_explain, explained = map(int, row.groups())
    assert councils == expected and not_received == expected - 3
    assert (with_errors, to_explain, explained) == (0, 2, 1)


def _table(answer: object) -> list[list[str]]:
    html = answer.text  # type: ignore[attr-defined]
    body = html.split('<table class="councils">')[1].split("</tbody>")[0].split("<tbody>")[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in cells])
    return rows


def test_the_period_page_sorts_and_filters_on_the_server(served: Served) -> None:
    client = served.client("admin")
    received = _table(client.get("/national/periods/2013-14?status=valid+with+queries+to+explain"))
    assert [r[0] for r in received] == [COUNCIL_B, SMALL_COUNCIL]
    by_queries = _table(client.get("/national/periods/2013-14?sort=-queries"))
    assert [r[0] for r in by_queries[:3]] == [COUNCIL_B, SMALL_COUNCIL, COUNCIL_A]
    assert [r[5] for r in by_queries[:2]] == ["2", "1"]
    by_name = _table(client.get("/national/periods/2013-14?q=LEPOOL"))
    assert [(r[0], r[1], r[2]) for r in by_name] == [
        (COUNCIL_A, "Hartlepool", "valid and explained")
    ]
    descending = _table(client.get("/national/periods/2013-14?sort=-council_name&q=E0600000"))
    names = [r[1] for r in descending]
    assert names == sorted(names, key=str.casefold, reverse=True) and len(names) == 9
    assert client.get("/national/periods/2099-00").status_code == 404
    # an unknown column or status is ignored, not an error
    assert client.get("/national/periods/2013-14?sort=password&status=nonsense").status_code == 200


def test_the_chase_list_is_the_command_lines(served: Served) -> None:
    answer = served.client("reviewer").get("/national/periods/2012-13/chase.csv")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert 'filename="chase-2012-13.csv"' in answer.headers["Content-Disposition"]
    args = ["collect", "status", served.folder, "--period", "2012-13", "--chase"]
    if served.database_url:
        args += ["--database-url", served.database_url]
    command = returns(*args)
    assert command.returncode == 0, command.stderr
    assert answer.text == command.stdout
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {r["council_code"] for r in rows}.isdisjoint({COUNCIL_A, COUNCIL_B, SMALL_COUNCIL})
    assert {r["status"] for r in rows} == {"not received"}


def _items(answer: object) -> list[str]:
    """Each review item's heading: council, code, period, rule."""
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", heading)).strip()
        for heading in re.findall(r'<h2 id="item-\d+-title">(.*?)</h2>', answer.text, re.S)  # type: ignore[attr-defined]
    ]


def test_the_review_queue_ranks_flags_and_decides_them_in_one_post(served: Served) -> None:
    from returns_kit.ledger import service

    client = served.client("reviewer")
    answer = client.get("/national/review")
    assert answer.status_code == 200
    items = _items(answer)
    # Stockton's rise (+15.7 points) ranks first of three, before Middlesbrough's (+12.7)
    assert items == [
        "Stockton-on-Tees E06000004 , 2013-14: P001 pb-rate-jump",
        "Middlesbrough E06000002 , 2013-14: P001 pb-rate-jump",
        "Middlesbrough E06000002 , 2013-14: P002 suspected-relabelling",
    ]
    text = text_of(answer)
    assert "Rank of the rise: 1 of 3 councils compared" in text
    assert "Rank of the rise: 2 of 3 councils compared; robust z-score 0.00" in text
    assert "pb rate change 0.157333" in text  # the evidence, as recorded
    # the council's explanation shows beside the flag
    ledger = service.open_ledger(served.folder, served.database_url)
    service.explain(
        ledger,
        COUNCIL_B,
        "2013-14",
        "P002",
        None,
        "Home care was re-let; the same people moved.",
        by="sub.b",
    )
    assert "Home care was re-let; the same people moved." in text_of(client.get("/national/review"))
    # no reason: refused, nothing recorded
    refused = client.post(
        "/national/review",
        {
            "council": COUNCIL_B,
            "period": "2013-14",
            "rule": "P002",
            "outcome": "accepted",
            "reason": " ",
        },
    )
    assert refused.status_code == 400 and "needs a --reason" in text_of(refused)
    done = client.post(
        "/national/review",
        {
            "council": COUNCIL_B,
            "period": "2013-14",
            "rule": "P002",
            "outcome": "accepted",
            "reason": "The re-let explains it.",
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/national/review"
    after = client.get("/national/review")
    assert "P002 for Middlesbrough (E06000002), 2013-14: accepted by reviewer." in text_of(after)
    assert len(_items(after)) == 2  # decided: no longer open
    every = client.get("/national/review?show=all")
    assert "Accepted by reviewer: The re-let explains it." in text_of(every)
    assert len(_items(every)) == 3
    log = client.get(f"/national/log?kind=decision&council={COUNCIL_B}")
    assert '"by": "reviewer"' in log.text.replace(
        "&#34;", '"'
    ) and '"outcome": "accepted"' in log.text.replace("&#34;", '"')
    # a rule the return does not have is refused with the ledger's reason
    wrong = client.post(
        "/national/review",
        {
            "council": COUNCIL_A,
            "period": "2013-14",
            "rule": "P001",
            "outcome": "returned",
            "reason": "x",
        },
    )
    assert wrong.status_code == 400 and "has no P001 finding" in text_of(wrong)


def test_the_log_filters_and_verifies_its_chain(served: Served) -> None:
    client = served.client("reviewer")
    submissions = client.get(f"/national/log?kind=submission&council={SMALL_COUNCIL}")
    text = text_of(submissions)
    assert "2 of" in text and "entries match" in text
    assert text.count("submission E06000004") == 2
    by_period = text_of(client.get("/national/log?kind=submission&period=2012-13"))
    assert "3 of" in by_period
    verified = client.get("/national/log?verify=1")
    assert "entries are intact: every hash matches" in text_of(verified)
    if served.database_url is None:  # change one byte of a recorded entry: the page says where
        with sqlite3.connect(served.folder / "ledger.sqlite3") as connection:
            (payload,) = connection.execute(
                "SELECT payload FROM ledger_auditentry WHERE seq = 3"
            ).fetchone()
            connection.execute(
                "UPDATE ledger_auditentry SET payload = ? WHERE seq = 3",
                (payload.replace('"', "'", 1),),
            )
        try:
            answer = client.get("/national/log?verify=1")
            assert answer.status_code == 200  # the damaged entry is listed, not a failure
            assert "The log is broken at entry 3" in text_of(answer)
        finally:
            with sqlite3.connect(served.folder / "ledger.sqlite3") as connection:
                connection.execute(
                    "UPDATE ledger_auditentry SET payload = ? WHERE seq = 3", (payload,)
                )
        assert "intact" in text_of(client.get("/national/log?verify=1"))


def _wait_for(client: object, build: int) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        page = client.get(f"/national/builds/{build}")  # type: ignore[attr-defined]
        assert page.status_code == 200
        status = re.search(r'<span class="status">(\w+)</span>', page.text)
        assert status is not None
        if status.group(1) not in ("queued", "running"):
            assert '<meta http-equiv="refresh"' not in page.text
            return str(page.text)
        assert '<meta http-equiv="refresh" content="3">' in page.text
        time.sleep(1)
    raise AssertionError(f"build {build} did not finish in 300 s")


@pytest.mark.slow
def test_building_the_tables_runs_the_aggregate_in_the_background(served: Served) -> None:
    client = served.client("reviewer")
    started = client.post("/national/builds")
    assert started.status_code == 302
    build = int(started.headers["Location"].rsplit("/", 1)[1])
    again = client.post("/national/builds")  # one at a time
    assert again.status_code == 409 and "is still running" in text_of(again)
    page = _wait_for(client, build)
    assert '<span class="status">done</span>' in page, page
    assert "Release recorded in the ledger" in page
    names = re.findall(rf'href="/national/builds/{build}/files/([^"]+)"', page)
    assert "report.html" in names and "flags.csv" in names and "tables.xlsx" in names
    flags = client.get(f"/national/builds/{build}/files/flags.csv")
    assert flags.status_code == 200 and flags.headers["Content-Disposition"].endswith('"flags.csv"')
    rows = list(csv.DictReader(io.StringIO(flags.text)))
    ranked = {(r["council_code"], r["rule"]): r["pb_change_rank"] for r in rows}
    assert ranked[(SMALL_COUNCIL, "P001")] == "1" and ranked[(COUNCIL_B, "P001")] == "2"
    report = client.get(f"/national/builds/{build}/files/report.html")
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in report.headers["Content-Security-Policy"]
    out = served.folder / "builds" / str(build)
    assert (out / "report.html").is_file()
    # only names the build wrote: no path of the URL reaches anything else
    for bad in (
        "../../ledger.sqlite3",
        "..%2F..%2Fcollection.toml",
        "nothing.csv",
        "%2Fetc%2Fpasswd",
        "report.html/",
    ):
        assert client.get(f"/national/builds/{build}/files/{bad}").status_code == 404, bad
    assert client.get("/national/builds/99999").status_code == 404
    # a file changed on disk since the build is not served as if the build wrote it
    (out / "flags.csv").write_text("changed", encoding="utf-8")
    assert client.get(f"/national/builds/{build}/files/flags.csv").status_code == 409
    listing = text_of(client.get("/national/builds"))
    assert f"Build {build}" in listing and "reviewer done" in listing


def test_admins_add_and_deactivate_people(served: Served) -> None:
    admin = served.client("admin")
    assert "sub.a submitter Hartlepool E06000001 active" in text_of(admin.get("/national/people"))
    weak = admin.post(
        "/national/people", {"name": "k.jones", "role": "reviewer", "password": "short"}
    )
    assert weak.status_code == 400 and "too short" in text_of(weak)
    wrong = admin.post(
        "/national/people", {"name": "k.jones", "role": "submitter", "password": PASSWORD}
    )
    assert wrong.status_code == 400 and "belongs to a council" in text_of(wrong)
    added = admin.post(
        "/national/people",
        {"name": "k.jones", "role": "submitter", "council": COUNCIL_B, "password": PASSWORD},
    )
    assert added.status_code == 302
    assert "k.jones added as submitter for Middlesbrough (E06000002)." in text_of(
        admin.get("/national/people")
    )
    newcomer = served.client("k.jones")
    assert newcomer.get("/council/").status_code == 200
    assert newcomer.get("/national/").status_code == 403
    assert admin.post("/national/people/deactivate", {"name": "k.jones"}).status_code == 302
    listing = text_of(admin.get("/national/people"))
    assert (
        "k.jones can no longer sign in" in listing
        and "k.jones submitter Middlesbrough E06000002 inactive" in listing
    )
    assert newcomer.get("/council/").status_code == 302  # the session no longer counts
    refused = served.client().post("/login/", {"username": "k.jones", "password": PASSWORD})
    assert refused.status_code == 200 and "do not match" in text_of(refused)
    admin.post("/national/people/deactivate", {"name": "admin"})
    assert "you cannot deactivate yourself" in text_of(admin.get("/national/people"))
    assert admin.get("/national/people/deactivate").status_code == 405


def test_admins_see_the_deadlines_and_reopen_a_council(served: Served) -> None:
    admin = served.client("admin")
    page = text_of(admin.get("/national/deadlines"))
    assert "Soft deadline (shown to councils) 2099-06-30" in page and "collection.toml" in page
    done = admin.post(
        "/national/reopen",
        {"council": COUNCIL_A, "period": "2013-14", "reason": "Late correction agreed by phone."},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/national/deadlines"
    page = text_of(admin.get("/national/deadlines"))
    assert "Hartlepool (E06000001) reopened for 2013-14" in page
    assert "Hartlepool E06000001 2013-14 admin Late correction agreed by phone." in page
    missing = admin.post("/national/reopen", {"council": COUNCIL_A, "reason": " "})
    assert missing.status_code == 302
    assert "Not reopened: a reopening needs" in text_of(admin.get("/national/deadlines"))
    assert "reopening" in text_of(admin.get(f"/national/log?kind=reopening&council={COUNCIL_A}"))


def test_admins_move_the_deadlines_and_every_process_follows(served: Served) -> None:
    """The close moved to the past refuses a new return (through the API, which reads the
    settings again), moved back it is received; both moves are in the log."""
    admin = served.client("admin")
    late = NATIONAL / f"{COUNCIL_B}-2011-12.xlsx"  # bytes this collection has not seen

    def send() -> int:
        with late.open("rb") as handle:
            answer = served.api("sub.b").post(
                served.url + "/api/v1/submissions", files={"file": handle}, timeout=120
            )
        return int(answer.status_code)

    refused = admin.post(
        "/national/deadlines", {"soft_deadline": "2014-06-30", "close": "2014-07-31"}
    )
    assert refused.status_code == 302  # no reason: refused, nothing changed
    assert "Not changed: give a reason" in text_of(admin.get("/national/deadlines"))
    moved = admin.post(
        "/national/deadlines",
        {"soft_deadline": "2014-06-30", "close": "2014-07-31", "reason": "As published."},
    )
    assert moved.status_code == 302
    assert "hard close 2014-07-31" in text_of(admin.get("/national/deadlines"))
    assert send() == 409  # closed, and this council not reopened
    back = admin.post(
        "/national/deadlines", {"soft_deadline": "2099-06-30", "close": "", "reason": "Undo."}
    )
    assert back.status_code == 302
    assert send() == 201
    log = text_of(admin.get("/national/log?kind=deadlines"))
    assert "As published." in log and "Undo." in log


def _ended(row: Any) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if row.status not in ("queued", "running"):
            return row
        time.sleep(0.5)
    raise AssertionError(f"build {row.pk} did not end in 120 s")


@pytest.mark.slow
def test_a_build_that_cannot_run_records_why_in_one_line(tmp_path: Path) -> None:
    """No current return yet: the aggregate refuses, and the build says so, without a
    traceback; the next build may then start."""
    from returns_kit.ledger import service
    from returns_kit.service import build

    folder = tmp_path / "collection"
    make_collection(folder)
    ledger = service.open_ledger(folder)
    row = _ended(build.start(ledger, "reviewer", None))
    assert row.status == "failed"
    assert "has no current return to aggregate" in row.message
    assert "Traceback" not in row.message and "\n" not in row.message
    assert row.finished_at is not None and build.outputs(ledger, row) == {}
    again = _ended(build.start(ledger, "reviewer", None))  # not refused: none is running
    assert again.pk == row.pk + 1 and again.status == "failed"
