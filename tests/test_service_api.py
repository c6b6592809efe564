"""The JSON API against a live ``returns serve``, on SQLite and PostgreSQL: every status the
contract names, every JSON body checked against ``returns_kit/service/openapi.json`` with
jsonschema, the refusals recorded in the log, and the same bytes sent twice giving one
submission."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from returns_kit.cli import main

from .conftest import FIXTURES, ROOT
from .serving import COUNCIL_A, Served, make_collection, start
from .test_ledger_support import BACKENDS, backend

DOCUMENT: dict[str, Any] = json.loads(
    (ROOT / "returns_kit" / "service" / "openapi.json").read_text("utf-8")
)
NATIONAL = FIXTURES / "national"
A_2013 = NATIONAL / "E06000001-2013-14.xlsx"
B_2013 = NATIONAL / "E06000002-2013-14.xlsx"
WITH_ERRORS = FIXTURES / "invalid" / "B003.xlsx"  # Hartlepool 2013-14, errors
WITH_QUERY = FIXTURES / "invalid" / "S005.xlsx"  # Hartlepool 2013-14, a query
SUBMISSIONS = "/api/v1/submissions"
#: a query rule, for explanations
QUERY_RULE = "C007"


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = backend(request)
    folder = tmp_path_factory.mktemp("api") / "collection"
    server = start(folder, url, make_collection(folder, url))
    yield server
    server.stop()


def _resolve(item: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in item:
        return item
    found: Any = DOCUMENT
    for part in item["$ref"].removeprefix("#/").split("/"):
        found = found[part.replace("~1", "/").replace("~0", "~")]
    return dict(found)


def conforms(answer: requests.Response, method: str, template: str) -> Any:
    """The response's body, after checking that the contract documents its status for this
    operation and that the body is JSON matching the documented schema."""
    operation = DOCUMENT["paths"][template][method.lower()]
    documented = operation["responses"].get(str(answer.status_code))
    assert documented is not None, (
        f"{method} {template} answered {answer.status_code}, which the contract does not name: "
        f"{answer.text[:300]}"
    )
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    schema = _resolve(documented)["content"]["application/json"].get("schema")
    if schema is not None:
        validator = Draft202012Validator({**schema, "components": DOCUMENT["components"]})
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not problems, f"{method} {template} {answer.status_code}: {problems}"
    return body


def post_file(served: Served, name: str | None, path: Path, filename: str | None = None) -> Any:
    with path.open("rb") as handle:
        return served.api(name).post(
            served.url + SUBMISSIONS, files={"file": (filename or path.name, handle)}, timeout=120
        )


def log_of(served: Served) -> list[tuple[str, dict[str, Any]]]:
    from returns_kit.ledger import service

    ledger = service.open_ledger(served.folder, served.database_url)
    return [(entry.kind, json.loads(entry.payload)) for entry in service.log_entries(ledger)]


def test_the_contract_is_valid_json_schema_and_served_as_shipped(served: Served) -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    for name, schema in DOCUMENT["components"]["schemas"].items():
        Draft202012Validator.check_schema({**schema, "$comment": name})
    answer = requests.get(served.url + "/api/v1/openapi.json", timeout=30)
    assert answer.status_code == 200
    assert answer.json() == DOCUMENT


def test_every_documented_status_is_answered_as_the_contract_says(
    served: Served, tmp_path: Path
) -> None:
    """One walk through the API that meets every (operation, status) the contract names (the
    closed collection's 409 has its own server, below), each body checked against it."""
    seen: set[tuple[str, str, str]] = set()

    def check(answer: requests.Response, method: str, template: str) -> Any:
        seen.add((template, method.lower(), str(answer.status_code)))
        return conforms(answer, method, template)

    url = served.url
    one = "/api/v1/submissions/{id}"
    # submit: new, the same bytes again, another council's, unreadable, no file, too large,
    # no token
    first = check(post_file(served, "sub.a", A_2013), "POST", SUBMISSIONS)
    again = check(post_file(served, "app.a", A_2013, "copy.xlsx"), "POST", SUBMISSIONS)
    assert again["id"] == first["id"]
    check(post_file(served, "sub.a", B_2013), "POST", SUBMISSIONS)
    junk = tmp_path / "return.xlsx"
    junk.write_bytes(b"this is not a workbook")
    check(post_file(served, "sub.a", junk), "POST", SUBMISSIONS)
    api = served.api("sub.a")
    check(api.post(url + SUBMISSIONS, data={"note": "no file"}, timeout=30), "POST", SUBMISSIONS)
    check(_too_large(served, "sub.a"), "POST", SUBMISSIONS)
    check(served.api(None).post(url + SUBMISSIONS, timeout=30), "POST", SUBMISSIONS)
    # list, one, status, explanations, the contract itself
    check(api.get(url + SUBMISSIONS, timeout=30), "GET", SUBMISSIONS)
    check(api.get(url + SUBMISSIONS + "?period=1999-00", timeout=30), "GET", SUBMISSIONS)
    check(served.api(None).get(url + SUBMISSIONS, timeout=30), "GET", SUBMISSIONS)
    check(api.get(f"{url}{SUBMISSIONS}/{first['id']}", timeout=30), "GET", one)
    check(served.api("sub.b").get(f"{url}{SUBMISSIONS}/{first['id']}", timeout=30), "GET", one)
    check(api.get(f"{url}{SUBMISSIONS}/999999", timeout=30), "GET", one)
    check(served.api(None).get(f"{url}{SUBMISSIONS}/1", timeout=30), "GET", one)
    status = "/api/v1/status"
    check(served.api("reviewer").get(url + status + "?period=2013-14", timeout=30), "GET", status)
    check(served.api("reviewer").get(url + status + "?period=2050-51", timeout=30), "GET", status)
    check(api.get(url + status, timeout=30), "GET", status)
    check(served.api(None).get(url + status, timeout=30), "GET", status)
    explain = "/api/v1/explanations"
    given = {"council_code": COUNCIL_A, "period": "2013-14", "rule": QUERY_RULE,
             "text": "Most of our budgets are nominal while the new scheme starts."}  # fmt: skip
    check(api.post(url + explain, json=given, timeout=30), "POST", explain)
    check(api.post(url + explain, json={**given, "text": "short"}, timeout=30), "POST", explain)
    check(served.api("sub.b").post(url + explain, json=given, timeout=30), "POST", explain)
    check(served.api(None).post(url + explain, json=given, timeout=30), "POST", explain)
    assert requests.get(url + "/api/v1/openapi.json", timeout=30).status_code == 200
    seen.add(("/api/v1/openapi.json", "get", "200"))

    documented = {
        (template, method, status)
        for template, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }
    assert documented - seen == {("/api/v1/submissions", "post", "409")}
    assert seen <= documented


def _too_large(served: Served, name: str) -> requests.Response:
    """A body one byte over the limit (within waitress's own, larger, limit, so the
    application itself answers)."""
    from returns_kit.service.settings import UPLOAD_LIMIT_BYTES

    body = b"--x\r\n" + b"0" * (UPLOAD_LIMIT_BYTES - 4)
    return served.api(name).post(
        served.url + SUBMISSIONS,
        data=body,
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=120,
    )


def test_a_submission_answers_with_its_validation_report(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = post_file(served, "app.a", WITH_QUERY, "hartlepool-query.xlsx")
    body = conforms(answer, "POST", SUBMISSIONS)
    assert answer.status_code == 201
    assert (body["council_code"], body["period"], body["status"]) == (
        COUNCIL_A, "2013-14", "valid with queries",
    )  # fmt: skip
    assert main(["validate", str(WITH_QUERY), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    alone = document["files"][0]
    ours = body["report"]["files"][0]
    assert body["report"]["version"] == document["version"]  # one format, one version
    assert ours["path"] == "hartlepool-query.xlsx"
    assert ours["valid"] == alone["valid"] and ours["council_code"] == alone["council_code"]
    # the ledger adds the period-to-period rules' findings to validate's own
    for finding in alone["findings"]:
        assert finding in ours["findings"]
    assert any(f["severity"] == "query" for f in ours["findings"])
    errors = conforms(post_file(served, "sub.a", WITH_ERRORS), "POST", SUBMISSIONS)
    assert errors["status"] == "not valid" and errors["errors"] > 0
    assert errors["report"]["valid"] is False


def test_the_same_bytes_sent_again_are_one_submission(served: Served) -> None:
    source = NATIONAL / "E06000001-2012-13.xlsx"
    first = post_file(served, "sub.a", source)
    retried = post_file(served, "sub.a", source)
    assert (first.status_code, retried.status_code) == (201, 200)
    assert first.json()["id"] == retried.json()["id"]
    listed = conforms(
        served.api("sub.a").get(served.url + SUBMISSIONS + "?period=2012-13", timeout=30),
        "GET",
        SUBMISSIONS,
    )["submissions"]
    assert [item["sha256"] for item in listed].count(first.json()["sha256"]) == 1


def test_another_councils_return_is_refused_and_logged(served: Served) -> None:
    source = NATIONAL / "E06000002-2012-13.xlsx"
    answer = post_file(served, "app.a", source)
    assert answer.status_code == 403
    refused = [p for kind, p in log_of(served) if kind == "refused" and p.get("by") == "app.a"]
    assert refused and refused[-1]["council_code"] == "E06000002"
    assert "another council" in refused[-1]["reason"]
    # and it is no submission of anyone's
    everything = served.api("reviewer").get(served.url + SUBMISSIONS, timeout=30).json()
    assert answer.json()["sha256"] not in {s["sha256"] for s in everything["submissions"]}
    # the national roles submit for any council
    assert post_file(served, "admin", source).status_code == 201


def test_each_person_sees_only_what_their_role_allows(served: Served) -> None:
    post_file(served, "sub.b", B_2013)
    post_file(served, "sub.a", A_2013)

    def councils(name: str) -> set[str | None]:
        answer = served.api(name).get(served.url + SUBMISSIONS, timeout=30)
        return {s["council_code"] for s in conforms(answer, "GET", SUBMISSIONS)["submissions"]}

    assert councils("sub.a") == councils("app.a") == {COUNCIL_A}
    assert councils("sub.b") == {"E06000002"}
    assert councils("reviewer") >= {COUNCIL_A, "E06000002"}
    mine = served.api("sub.b").get(served.url + SUBMISSIONS, timeout=30).json()["submissions"]
    assert served.api("app.b").get(f"{served.url}{SUBMISSIONS}/{mine[0]['id']}").status_code == 200
    assert served.api("app.a").get(f"{served.url}{SUBMISSIONS}/{mine[0]['id']}").status_code == 403
    assert served.api("admin").get(f"{served.url}{SUBMISSIONS}/{mine[0]['id']}").status_code == 200
    status = served.api("admin").get(served.url + "/api/v1/status?period=2013-14", timeout=30)
    rows = {
        row["council_code"]: row for row in conforms(status, "GET", "/api/v1/status")["councils"]
    }
    assert rows["E06000002"]["status"] != "not received"
    assert rows["E06000010"]["chase"] is True  # expected, not received


def test_an_unknown_api_address_answers_json(served: Served) -> None:
    answer = served.api("sub.a").get(served.url + "/api/v1/nothing-here", timeout=30)
    assert answer.status_code == 404
    assert answer.json() == {"error": "There is no page at this address."}


def test_a_bad_token_is_refused(served: Served) -> None:
    for header in ("Bearer rk_not-a-token", "Basic c3ViLmE6eA==", "Bearer "):
        answer = requests.get(
            served.url + SUBMISSIONS, headers={"Authorization": header}, timeout=30
        )
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_upload_over_the_limit_is_refused_before_it_is_read(served: Served) -> None:
    before = len(log_of(served))
    answer = _too_large(served, "sub.a")
    assert answer.status_code == 413
    assert "at most 50 MB" in answer.json()["error"]
    assert len(log_of(served)) == before
    # nothing reached the collection folder: no upload was spooled
    assert not any((served.folder / ".uploads").glob("upload-*"))


def test_a_closed_collection_refuses_with_409(tmp_path: Path) -> None:
    from returns_kit.ledger import people, service
    from returns_kit.ledger.config import CollectionConfig, parse_periods

    folder = tmp_path / "closed"
    config = CollectionConfig(name="Closed", periods=parse_periods("2013-14"),
                              close=date(2014, 7, 31))  # fmt: skip
    ledger = service.init(folder, config)
    people.add_person(ledger, "sub.a", "submitter", COUNCIL_A, "correct-horse-battery-staple")
    server = start(folder, tokens={"sub.a": people.new_token(ledger, "sub.a")})
    try:
        answer = post_file(server, "sub.a", A_2013)
        body = conforms(answer, "POST", SUBMISSIONS)
        assert answer.status_code == 409 and "closed on 2014-07-31" in body["error"]
    finally:
        server.stop()


# -- receive(), in this process: the one function the upload page and the API share ---------


@pytest.fixture
def receiving(tmp_path: Path) -> Iterator[Path]:
    """A collection whose ledger is this process's service ledger, for calling receive()."""
    from returns_kit.ledger import service
    from returns_kit.ledger.config import CollectionConfig, parse_periods
    from returns_kit.service import access

    folder = tmp_path / "collection"
    config = CollectionConfig(name="Receive", periods=parse_periods("2013-14"))
    service.init(folder, config)
    access._ledger = service.open_ledger(folder)
    yield folder
    access._ledger = None


def _upload(path: Path, name: str | None = None) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import RequestFactory

    upload = SimpleUploadedFile(name or path.name, path.read_bytes())
    return RequestFactory().post("/upload/", {"file": upload, "note": "x"})


@pytest.mark.parametrize("parsed_first", [False, True])
def test_receive_streams_the_upload_into_the_collection_and_removes_it(
    receiving: Path, parsed_first: bool
) -> None:
    """Both ways a view meets an upload: the API's body unread (our handler streams it into
    the collection folder), a page's already parsed by the CSRF check (copied there)."""
    from returns_kit.service import access, receive

    request = _upload(A_2013, "../../etc/Hartlepool return.xlsx")
    if parsed_first:
        assert "file" in request.FILES  # as CsrfViewMiddleware reads request.POST
    viewer = access.Viewer("sub.a", "submitter", COUNCIL_A)
    outcome = receive.receive(request, viewer)
    assert (outcome.council_code, outcome.period, outcome.refused) == (COUNCIL_A, "2013-14", False)
    assert outcome.name == "Hartlepool return.xlsx"
    assert list((receiving / receive.INCOMING).iterdir()) == []
    assert len(list((receiving / "files").rglob("*.xlsx"))) == 1


def test_receive_refuses_a_declared_size_over_the_limit_and_a_missing_file(
    receiving: Path,
) -> None:
    from django.test import RequestFactory

    from returns_kit.service import access, receive

    viewer = access.Viewer("admin", "admin", "")
    request = _upload(A_2013)
    request.META["CONTENT_LENGTH"] = str(receive.limit() + 1)
    with pytest.raises(receive.TooLarge):
        receive.receive(request, viewer)
    assert not hasattr(request, "_files")  # nothing was read
    with pytest.raises(receive.NoFile):
        receive.receive(RequestFactory().post("/upload/", {"note": "no file"}), viewer)
    assert list((receiving / receive.INCOMING).iterdir()) == []
    assert not (receiving / "files").exists() or not any((receiving / "files").rglob("*.xlsx"))


def test_safe_names_keep_the_suffix_and_lose_the_path() -> None:
    from returns_kit.service.receive import NAME_LIMIT, safe_name

    assert safe_name("C:\\Users\\me\\return 2013-14.xlsx") == "return 2013-14.xlsx"
    assert safe_name("a/b/<script>.xlsx") == "_script_.xlsx"
    assert safe_name("..") == "upload.xlsx"
    long = safe_name("x" * 500 + ".xlsx")
    assert len(long) <= NAME_LIMIT and long.endswith(".xlsx")
