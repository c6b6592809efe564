"""Every URL of ``returns serve`` x every role, with the exact status each gets, in one table:
a route with no row (or a row with no route) fails, so a new page cannot arrive unchecked.
Beside it, what holds for every page: a CSRF field in every form, no inline script, stored
files never served, no identifier from a Clients sheet anywhere, and cookies marked Secure
when the service is not on loopback.

The rows are about council A (Hartlepool, E06000001): A's people are at home there, B's
(Middlesbrough) are strangers, the national roles see every council.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from .conftest import FIXTURES, ROOT
from .serving import PASSWORD, Client, Served, free_port, make_collection, start

ROLES = ("anonymous", "sub.a", "app.a", "sub.b", "app.b", "reviewer", "admin")
A_2013 = FIXTURES / "national" / "E06000001-2013-14.xlsx"
#: an explanation of council A's, for the API row
EXPLANATION = {"council_code": "E06000001", "period": "2013-14", "rule": "C007",
               "text": "Most of our budgets are nominal while the new scheme starts."}  # fmt: skip
#: replaced in a row's path by the id of a submission of council A's
A_SUBMISSION = "{a_submission}"


def roles(*statuses: int) -> dict[str, int]:
    """The statuses in ROLES order: anonymous, sub.a, app.a, sub.b, app.b, reviewer, admin."""
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses, strict=True))


def every(status: int) -> dict[str, int]:
    return roles(*[status] * len(ROLES))


class Case(NamedTuple):
    method: str
    path: str
    expect: dict[str, int]
    #: keyword arguments for requests (a body), when the request needs one
    send: dict[str, Any] | None = None


#: a page about council A: its people and the national people
COUNCIL_A = roles(302, 200, 200, 403, 403, 200, 200)
#: national pages: national people only; admin pages: the admin only
NATIONAL = roles(302, 403, 403, 403, 403, 200, 200)
ADMIN = roles(302, 403, 403, 403, 403, 403, 200)
#: replaced in a row's path by the id of the build the world made
BUILD = "{build}"

#: route name -> the requests that check it. Pages send anonymous people to sign in (302)
#: and refuse a signed-in person without the role (403); the API answers 401 without a
#: token and 403 for another council.
TABLE: dict[str, list[Case]] = {
    "home": [Case("GET", "/", every(302))],
    "login": [Case("GET", "/login/", every(200))],
    "logout": [Case("GET", "/logout/", every(405))],
    "script": [Case("GET", "/static/upload.js", every(200))],
    "council-home": [
        Case("GET", "/council/?council=E06000001", COUNCIL_A),
        # national people without a council named are sent to the national pages
        Case("GET", "/council/", roles(302, 200, 200, 200, 200, 302, 302)),
    ],
    "council-template": [Case("GET", "/council/template/2013-14?council=E06000001", COUNCIL_A)],
    "council-upload": [
        Case("GET", "/council/upload", roles(302, 200, 200, 200, 200, 200, 200)),
        # A's return (already received): council B's people are refused it (422, with why)
        Case(
            "POST",
            "/council/upload?council=E06000001",
            roles(302, 303, 303, 422, 422, 303, 303),
            {
                "files": {"file": (A_2013.name, A_2013.read_bytes())},
                "data": {"council": "E06000001"},
            },
        ),
    ],  # fmt: skip
    "council-submission": [Case("GET", f"/council/submissions/{A_SUBMISSION}", COUNCIL_A)],
    "council-annotated": [Case("GET", f"/council/submissions/{A_SUBMISSION}/annotated", COUNCIL_A)],
    "council-file": [Case("GET", f"/council/submissions/{A_SUBMISSION}/file", COUNCIL_A)],
    "council-explain": [
        Case("GET", "/council/explanations", roles(302, 405, 405, 405, 405, 405, 405)),
        Case(
            "POST",
            "/council/explanations",
            roles(302, 303, 303, 403, 403, 303, 303),
            {
                "data": {
                    "submission": A_SUBMISSION,
                    "rule": "C007",
                    "text": "Most of our budgets are nominal while the new scheme starts.",
                }
            },
        ),
    ],  # fmt: skip
    "council-signoff": [
        Case("GET", "/council/signoff/2013-14", roles(302, 403, 405, 403, 405, 403, 405)),
        # not the return on record: refused (409) for A's approver and the admin, who may
        # sign off; nobody else gets that far
        Case(
            "POST",
            "/council/signoff/2013-14",
            roles(302, 403, 409, 403, 403, 403, 409),
            {"data": {"council": "E06000001", "sha256": "0" * 64}},
        ),
    ],  # fmt: skip
    "council-receipt": [
        # nothing signed off in this world: no receipt for those who may see one
        Case(
            "GET",
            "/council/receipts/2013-14?council=E06000001",
            roles(302, 404, 404, 403, 403, 404, 404),
        ),
    ],  # fmt: skip
    "national-home": [Case("GET", "/national/", NATIONAL)],
    "national-period": [Case("GET", "/national/periods/2013-14?sort=-queries", NATIONAL)],
    "national-chase": [Case("GET", "/national/periods/2013-14/chase.csv", NATIONAL)],
    "national-review": [
        Case("GET", "/national/review", NATIONAL),
        # a decision without accept or return: refused by the ledger (400), nothing recorded
        Case(
            "POST",
            "/national/review",
            roles(302, 403, 403, 403, 403, 400, 400),
            {"data": {"outcome": "neither"}},
        ),
    ],  # fmt: skip
    "national-builds": [
        Case("GET", "/national/builds", NATIONAL),
        # the reviewer starts a build; the admin's, right after, is refused while it runs
        Case("POST", "/national/builds", roles(302, 403, 403, 403, 403, 302, 409)),
    ],
    "national-build": [Case("GET", f"/national/builds/{BUILD}", NATIONAL)],
    "national-build-file": [
        Case("GET", f"/national/builds/{BUILD}/files/report.html", NATIONAL),
        Case(
            "GET",
            f"/national/builds/{BUILD}/files/..%2Fcollection.toml",
            roles(302, 403, 403, 403, 403, 404, 404),
        ),
    ],  # fmt: skip
    "national-log": [Case("GET", "/national/log?verify=1", NATIONAL)],
    "national-people": [
        Case("GET", "/national/people", ADMIN),
        # no name: refused (400), nobody added
        Case(
            "POST",
            "/national/people",
            roles(302, 403, 403, 403, 403, 403, 400),
            {"data": {"name": ""}},
        ),
    ],  # fmt: skip
    "national-deactivate": [
        Case("GET", "/national/people/deactivate", roles(302, 403, 403, 403, 403, 403, 405)),
        # nobody of that name: the admin is sent back with the refusal
        Case(
            "POST",
            "/national/people/deactivate",
            roles(302, 403, 403, 403, 403, 403, 302),
            {"data": {"name": "nobody"}},
        ),
    ],  # fmt: skip
    "national-deadlines": [
        Case("GET", "/national/deadlines", ADMIN),
        # not a date: the admin is sent back with the refusal, nothing changed
        Case(
            "POST",
            "/national/deadlines",
            roles(302, 403, 403, 403, 403, 403, 302),
            {"data": {"close": "soon", "reason": "x"}},
        ),
    ],  # fmt: skip
    "national-reopen": [
        Case("GET", "/national/reopen", roles(302, 403, 403, 403, 403, 403, 405)),
        # no such council: the admin is sent back with the refusal
        Case(
            "POST",
            "/national/reopen",
            roles(302, 403, 403, 403, 403, 403, 302),
            {"data": {"council": "E99999999", "reason": "x"}},
        ),
    ],  # fmt: skip
    "api-submissions": [
        Case("GET", "/api/v1/submissions", roles(401, 200, 200, 200, 200, 200, 200)),
        # A's return, already received: the same bytes again are 200, another council's 403
        Case(
            "POST",
            "/api/v1/submissions",
            roles(401, 200, 200, 403, 403, 200, 200),
            {"files": {"file": (A_2013.name, A_2013.read_bytes())}},
        ),  # fmt: skip
    ],
    "api-submission": [
        Case("GET", f"/api/v1/submissions/{A_SUBMISSION}", roles(401, 200, 200, 403, 403, 200, 200))
    ],
    "api-status": [Case("GET", "/api/v1/status", roles(401, 403, 403, 403, 403, 200, 200))],
    "api-explanations": [
        Case(
            "POST",
            "/api/v1/explanations",
            roles(401, 201, 201, 403, 403, 201, 201),
            {"json": EXPLANATION},
        ),  # fmt: skip
    ],
    "api-openapi": [Case("GET", "/api/v1/openapi.json", every(200))],
}

ROUTES_SCRIPT = """
import json, sys
from django.conf import settings
from returns_kit.ledger.db import INSTALLED_APPS
settings.configure(ROOT_URLCONF="returns_kit.service.urls", INSTALLED_APPS=INSTALLED_APPS,
                   SECRET_KEY="routes only")
import django
django.setup()
from django.urls import URLPattern, URLResolver, get_resolver, resolve

def walk(patterns, prefix=""):
    for item in patterns:
        if isinstance(item, URLResolver):
            yield from walk(item.url_patterns, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            yield item.name, "/" + prefix + str(item.pattern)

routes = dict(walk(get_resolver().url_patterns))
print(json.dumps({"routes": routes,
                  "resolved": {path: resolve(path).url_name for path in sys.argv[1:]}}))
"""


def route_table(paths: list[str]) -> dict[str, Any]:
    """The service's routes (name -> pattern), read from Django's resolver in a process of
    its own (this one has Django configured for the ledger alone), and what each of
    ``paths`` resolves to."""
    done = subprocess.run(
        [sys.executable, "-c", ROUTES_SCRIPT, *paths],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def example(path: str) -> str:
    return path.replace(A_SUBMISSION, "1").replace(BUILD, "1")


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    paths = [example(case.path).split("?")[0] for cases in TABLE.values() for case in cases]
    found = route_table(paths)
    routes = found["routes"]
    assert set(routes) - set(TABLE) == set(), "routes with no row in TABLE"
    assert set(TABLE) - set(routes) == set(), "rows in TABLE for no route"
    for name, cases in TABLE.items():
        for case in cases:
            assert found["resolved"][example(case.path).split("?")[0]] == name, case.path
            assert set(case.expect) == set(ROLES), name


class World(NamedTuple):
    served: Served
    clients: dict[str, Client]
    a_submission: int
    build: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("access") / "collection"
    served = start(folder, tokens=make_collection(folder))
    try:
        with A_2013.open("rb") as handle:
            first = served.api("admin").post(
                served.url + "/api/v1/submissions", files={"file": handle}, timeout=120
            )
        assert first.status_code == 201, first.text
        clients = {name: served.client(name) for name in ROLES if name != "anonymous"}
        clients["anonymous"] = served.client()
        yield World(served, clients, first.json()["id"], _built(clients["reviewer"]))
    finally:
        served.stop()


def _built(reviewer: Client) -> int:
    """A build of the tables, finished, so its page and files can be asked for."""
    started = reviewer.post("/national/builds")
    assert started.status_code == 302, started.text
    build = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    deadline = time.monotonic() + BUILD_SECONDS
    while time.monotonic() < deadline:
        if reviewer.get(f"/national/builds/{build}/files/report.html").status_code == 200:
            return build
        time.sleep(0.5)
    raise AssertionError(f"the build did not finish in {BUILD_SECONDS} s")


#: how long the world's build may take: bounded, so a stuck build fails the test
BUILD_SECONDS = 240


def ask(world: World, role: str, case: Case) -> requests.Response:
    """``case`` as ``role`` sends it: pages through a signed-in browser-like client (with
    the CSRF token), the API with the role's bearer token."""
    path = case.path.replace(A_SUBMISSION, str(world.a_submission)).replace(BUILD, str(world.build))
    if path.startswith("/api/"):
        session = world.served.api(None if role == "anonymous" else role)
        return session.request(
            case.method, world.served.url + path, allow_redirects=False, timeout=120,
            **(case.send or {}),
        )  # fmt: skip
    client = world.clients[role]
    if case.method == "GET":
        return client.get(path)
    send = dict(case.send or {})
    if "data" in send:  # a form naming council A's submission
        send["data"] = {
            key: str(world.a_submission) if value == A_SUBMISSION else value
            for key, value in send["data"].items()
        }
    return client.post(path, **send)


CASES = [(name, index, role) for name, cases in TABLE.items() for index in range(len(cases))
         for role in ROLES]  # fmt: skip


@pytest.mark.parametrize(("name", "index", "role"), CASES)
def test_each_route_answers_each_role_exactly(
    world: World, name: str, index: int, role: str
) -> None:
    case = TABLE[name][index]
    answer = ask(world, role, case)
    assert answer.status_code == case.expect[role], (
        f"{case.method} {case.path} as {role}: {answer.status_code}, not {case.expect[role]}"
    )
    if answer.status_code == 302 and role == "anonymous":
        assert answer.headers["Location"].startswith("/login/")


def _pages(world: World) -> Iterator[tuple[str, str, requests.Response]]:
    """Every page a role can open with GET (the HTML ones)."""
    for name, cases in TABLE.items():
        for case in cases:
            if case.method != "GET" or case.path.startswith("/api/"):
                continue
            for role in ROLES:
                if case.expect[role] != 200:
                    continue
                answer = ask(world, role, case)
                if answer.headers.get("Content-Type", "").startswith("text/html"):
                    yield name, role, answer


def test_every_form_carries_the_csrf_field_and_no_page_has_inline_script(world: World) -> None:
    checked = 0
    for name, role, answer in _pages(world):
        checked += 1
        for form in re.findall(r"<form\b[^>]*>.*?</form>", answer.text, re.S | re.I):
            if re.search(r'method="?post', form, re.I):
                assert 'name="csrfmiddlewaretoken"' in form, f"{name} as {role}: {form[:200]}"
        for tag in re.findall(r"<script\b[^>]*>", answer.text, re.I):
            assert re.search(r'\bsrc="/static/[\w.-]+"', tag), f"{name}: inline script {tag}"
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", answer.text, re.I), f"{name}: handler"
        assert not re.search(r"javascript:", answer.text, re.I), name
        policy = answer.headers["Content-Security-Policy"]
        directives: dict[str, str] = {}
        for part in filter(None, (part.strip() for part in policy.split(";"))):
            directive, _, sources = part.partition(" ")
            directives[directive] = sources
        # scripts from the service itself at most (a build's report.html: none at all)
        script = directives.get("script-src", directives["default-src"]).strip()
        assert script in ("'self'", "'none'"), f"{name}: script-src {script}"
    assert checked >= 5


def test_stored_files_are_never_served(world: World) -> None:
    served = world.served
    stored = sorted((served.folder / "files").rglob("*.xlsx"))
    assert stored
    relative = stored[0].relative_to(served.folder).as_posix()
    for role in ("anonymous", "sub.a", "admin"):
        client = world.clients[role]
        for path in (f"/{relative}", f"/static/{stored[0].name}", f"/static/../{relative}",
                     "/ledger.sqlite3", "/collection.toml", "/.uploads/"):  # fmt: skip
            answer = client.get(path)
            assert answer.status_code in (302, 404), (role, path, answer.status_code)
            assert answer.content[:2] != b"PK"  # never the workbook's bytes


def _client_refs() -> set[str]:
    """Every client and provider reference in the Clients sheets of the returns sent below."""
    from openpyxl import load_workbook

    refs: set[str] = set()
    for path in CLIENT_FILES:
        book = load_workbook(path, read_only=True)
        if "Clients" not in book.sheetnames:
            continue
        rows = book["Clients"].iter_rows(values_only=True)
        header = [str(cell or "") for cell in next(rows)]
        for row in rows:
            for column in ("client_ref", "provider_ref"):
                if column in header and row[header.index(column)]:
                    refs.add(str(row[header.index(column)]).strip())
        book.close()
    return {ref for ref in refs if len(ref) >= 5}


#: Hartlepool 2013-14 returns with a Clients sheet, most of them with findings about it
CLIENT_FILES = [FIXTURES / "invalid" / f"C00{n}.xlsx" for n in range(1, 8)]


@pytest.mark.slow
def test_no_identifier_from_a_clients_sheet_reaches_a_page_a_response_or_the_log(
    world: World,
) -> None:
    refs = _client_refs()
    assert len(refs) > 10
    served, said = world.served, []
    for path in CLIENT_FILES:
        with path.open("rb") as handle:
            answer = served.api("sub.a").post(
                served.url + "/api/v1/submissions", files={"file": handle}, timeout=120
            )
        said.append(answer.text)
    listed = served.api("sub.a").get(served.url + "/api/v1/submissions", timeout=30).json()
    said.append(json.dumps(listed))
    for item in listed["submissions"]:
        said.append(
            served.api("reviewer").get(f"{served.url}/api/v1/submissions/{item['id']}").text
        )
    said += [answer.text for _, _, answer in _pages(world)]
    said.append(served.log.read_text(encoding="utf-8", errors="replace"))
    text = "\n".join(said)
    leaked = [ref for ref in refs if re.search(rf"(?<![\w-]){re.escape(ref)}(?![\w-])", text)]
    assert not leaked, f"{len(leaked)} client or provider references in the output"


def test_cookies_are_secure_when_not_on_loopback(tmp_path: Path) -> None:
    """On a non-loopback address (here every address, 0.0.0.0, as a deployment binds) the
    session and CSRF cookies are Secure, HttpOnly and SameSite."""
    folder = tmp_path / "collection"
    make_collection(folder)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RETURNS_SECRET_KEY": "k" * 50,
           "RETURNS_ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "returns_kit", "serve", str(folder), "--host", "0.0.0.0",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                login = requests.get(url + "/login/", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        csrf_cookie = login.headers["Set-Cookie"]
        token = login.cookies["csrftoken"]
        # a browser sends a Secure cookie over HTTPS only (to the proxy, which terminates
        # TLS); this client is the proxy, so it sends the cookie by hand
        signed_in = requests.post(
            url + "/login/",
            data={"username": "sub.a", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Cookie": f"csrftoken={token}"}, allow_redirects=False, timeout=30,
        )  # fmt: skip
        assert signed_in.status_code == 302, signed_in.status_code
        session_cookie = signed_in.headers["Set-Cookie"]
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    for cookie in (csrf_cookie, session_cookie):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert "sessionid=" in session_cookie


WSGI_SCRIPT = """
import json, sys
from wsgiref.util import setup_testing_defaults
from returns_kit.service.wsgi import application
environ = {"PATH_INFO": "/login/", "HTTP_HOST": "returns.example.gov.uk",
           "HTTP_X_FORWARDED_PROTO": "https"}
setup_testing_defaults(environ)
said = {}
def start_response(status, headers, exc_info=None):
    said["status"], said["headers"] = status, headers
b"".join(application(environ, start_response))
print(json.dumps(said))
"""


def test_the_wsgi_entry_for_gunicorn_takes_its_settings_from_the_environment(
    tmp_path: Path,
) -> None:
    """docs/deploying.md's recipe: the entry gunicorn loads, with the environment it gives,
    applies the production settings (behind a proxy that says the request was HTTPS)."""
    folder = tmp_path / "collection"
    make_collection(folder)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RETURNS_COLLECTION_DIR": str(folder),
        "RETURNS_SECRET_KEY": "s" * 50,
        "RETURNS_ALLOWED_HOSTS": "returns.example.gov.uk",
    }
    env.pop("RETURNS_BIND_HOST", None)
    done = subprocess.run([sys.executable, "-c", WSGI_SCRIPT], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["status"].startswith("200")
    cookies = [value for name, value in said["headers"] if name == "Set-Cookie"]
    assert cookies and all("Secure" in cookie for cookie in cookies)
    env["RETURNS_SECRET_KEY"] = ""
    refused = subprocess.run(
        [sys.executable, "-c", WSGI_SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert refused.returncode != 0 and "RETURNS_SECRET_KEY" in refused.stderr


def test_a_form_post_over_the_limit_is_refused_before_the_csrf_check_reads_it(
    world: World,
) -> None:
    """A page's CSRF check parses the body before its view runs: the limit is checked before
    that, from Content-Length, and the person gets a page saying so (the API gets JSON)."""
    from returns_kit.service.settings import UPLOAD_LIMIT_BYTES

    answer = world.clients["sub.a"].session.post(
        world.served.url + "/council/",
        data=b"--x\r\n" + b"0" * (UPLOAD_LIMIT_BYTES - 4),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        allow_redirects=False,
        timeout=120,
    )
    assert answer.status_code == 413
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "File too large" in answer.text and "at most 50 MB" in answer.text
    assert "Content-Security-Policy" in answer.headers
