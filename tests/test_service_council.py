"""The council officer's pages of ``returns serve``, against a real server: periods with
status and deadlines, the template, uploading, the findings page, explaining queries (carried
forward to a correction), sign-off by an approver only, the receipt, and one council never
seeing another's submissions or files."""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import FIXTURES, NATIONAL
from tests.test_ledger_support import edited

from .serving import PASSWORD, Client, Served, make_collection, returns, start, text_of

HARTLEPOOL = NATIONAL / "E06000001-2013-14.xlsx"
SOMERSET = "E10000027"
SOMERSET_BEFORE = NATIONAL / "E10000027-2012-13.xlsx"
SOMERSET_NOW = NATIONAL / "E10000027-2013-14.xlsx"
#: Somerset's 2013-14 return raises these queries against its 2012-13 one
SOMERSET_QUERIES = ["C007", "P001", "P003"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPLANATION = "Our 2013 review of care moved people onto personal budgets (note {})."


def said(answer: requests.Response) -> str:
    """The page's text as a person reads it (tags gone, entities decoded)."""
    return html.unescape(text_of(answer))


def add_somerset_people(folder: Path, database_url: str | None = None) -> None:
    """A submitter and an approver for Somerset, whose 2013-14 return has queries."""
    from returns_kit.ledger import people, service

    ledger = service.open_ledger(folder, database_url)
    people.add_person(ledger, "sub.s", "submitter", SOMERSET, PASSWORD)
    people.add_person(ledger, "app.s", "approver", SOMERSET, PASSWORD)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("service-council") / "collection"
    tokens = make_collection(folder)
    add_somerset_people(folder)
    server = start(folder, tokens=tokens)
    yield server
    server.stop()


def upload(client: Client, path: Path, name: str | None = None) -> requests.Response:
    with path.open("rb") as handle:
        return client.post(
            "/council/upload", files={"file": (name or path.name, handle, XLSX)}
        )  # fmt: skip


def submission_path(answer: requests.Response) -> str:
    assert answer.status_code == 303, said(answer)[:500]
    location = str(answer.headers["Location"])
    assert re.fullmatch(r"/council/submissions/\d+", location), location
    return location


@pytest.fixture(scope="module")
def hartlepool(served: Served) -> str:
    """Hartlepool's 2013-14 return, uploaded by its submitter: the findings page's path."""
    return submission_path(upload(served.client("sub.a"), HARTLEPOOL))


def test_the_periods_page_says_status_deadline_and_what_to_do(served: Served) -> None:
    answer = served.client("sub.b").get("/council/")
    assert answer.status_code == 200
    text = said(answer)
    assert "Middlesbrough (E06000002)" in text
    assert text.count("not received") >= 2  # both periods of the collection
    assert "Soft deadline 2099-06-30" in text and "days to go" in text
    assert "Nothing received yet: download the template" in text
    assert 'href="/council/template/2013-14"' in answer.text


def test_the_template_is_made_for_the_council_and_period(served: Served) -> None:
    import openpyxl

    client = served.client("sub.a")
    answer = client.get("/council/template/2013-14")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == XLSX
    assert 'filename="E06000001-2013-14.xlsx"' in answer.headers["Content-Disposition"]
    about = openpyxl.load_workbook(io.BytesIO(answer.content))["About"]
    fields = {row[0]: row[1] for row in about.iter_rows(min_row=2, values_only=True)}
    assert fields["council_code"] == "E06000001" and fields["period"] == "2013-14"
    assert fields["council_name"] == "Hartlepool"
    assert client.get("/council/template/2019-20").status_code == 404  # not collected
    assert client.get("/council/template/2013-14?council=E06000002").status_code == 403
    national = served.client("reviewer").get("/council/template/2013-14?council=E06000002")
    assert national.status_code == 200
    assert 'filename="E06000002-2013-14.xlsx"' in national.headers["Content-Disposition"]


def test_an_upload_leads_to_its_findings_page_and_files(served: Served, hartlepool: str) -> None:
    import openpyxl

    client = served.client("sub.a")
    answer = client.get(hartlepool)
    assert answer.status_code == 200
    text = said(answer)
    assert "Return check: Hartlepool, 2013-14" in text
    assert "This is the current return for 2013-14" in text
    assert hashlib.sha256(HARTLEPOOL.read_bytes()).hexdigest() in text
    assert "E06000001-2013-14.xlsx" in text  # the name it was received under
    assert "files/" not in answer.text and ".xlsx</code>" in answer.text  # no stored path
    annotated = client.get(hartlepool + "/annotated")
    assert annotated.status_code == 200 and annotated.headers["Content-Type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(annotated.content))
    assert book.sheetnames[0] == "Findings" and "About" in book.sheetnames
    original = client.get(hartlepool + "/file")
    assert original.content == HARTLEPOOL.read_bytes()
    home = said(client.get("/council/"))
    assert "valid and explained" in home and "Ready for sign-off by an approver" in home
    assert "An approver of your council signs it off" in home  # a submitter gets no button


def test_another_council_cannot_see_or_change_a_councils_return(
    served: Served, hartlepool: str
) -> None:
    other = served.client("sub.b")
    for path in (hartlepool, hartlepool + "/annotated", hartlepool + "/file",
                 "/council/?council=E06000001", "/council/receipts/2013-14?council=E06000001",
                 "/council/template/2013-14?council=E06000001"):  # fmt: skip
        answer = other.get(path)
        assert answer.status_code == 403, path
        assert "Hartlepool" not in answer.text
    pk = hartlepool.rsplit("/", 1)[1]
    explained = other.post(
        "/council/explanations",
        {"submission": pk, "rule": "P001", "scope": "", "text": EXPLANATION.format(5)},
    )
    assert explained.status_code == 403
    approver_b = served.client("app.b")
    signed = approver_b.post("/council/signoff/2013-14", {"council": "E06000001", "sha256": ""})
    assert signed.status_code == 403
    # national people see every council
    assert served.client("reviewer").get(hartlepool).status_code == 200
    assert served.client("admin").get("/council/?council=E06000001").status_code == 200


def test_a_file_of_another_council_is_refused_with_the_reason(served: Served) -> None:
    answer = upload(served.client("sub.b"), HARTLEPOOL, "ours-honestly.xlsx")
    assert answer.status_code == 422
    text = said(answer)
    assert "Refused. Not recorded as a submission" in text
    assert "the file names another council (E06000001), not the sender's (E06000002)" in text
    home = said(served.client("sub.b").get("/council/"))
    assert "ours-honestly.xlsx" not in home  # nothing was put on B's record


def test_an_upload_without_a_file_and_gets_of_posts_are_refused(served: Served) -> None:
    client = served.client("sub.a")
    empty = client.post("/council/upload", {})
    assert empty.status_code == 400 and "Choose a workbook" in said(empty)
    assert client.get("/council/explanations").status_code == 405
    assert served.client("app.a").get("/council/signoff/2013-14").status_code == 405
    assert client.get("/council/submissions/999999").status_code == 404
    assert client.get("/council/receipts/2012-13").status_code == 404  # nothing signed off
    assert served.client().get("/council/upload").status_code == 302  # anonymous: sign in


def test_a_submitter_cannot_sign_off(served: Served, hartlepool: str) -> None:
    answer = served.client("sub.a").post("/council/signoff/2013-14", {"sha256": ""})
    assert answer.status_code == 403
    assert served.client("reviewer").post(
        "/council/signoff/2013-14", {"council": "E06000001", "sha256": ""}
    ).status_code == 403  # fmt: skip


def open_queries(answer: requests.Response) -> list[str]:
    """The rules of the queries with an explanation form beside them."""
    section = answer.text.split('<section id="queries">', 1)[1].split("</section>", 1)[0]
    open_part = section.split("<h3>Explained</h3>", 1)[0]
    return re.findall(r'<input type="hidden" name="rule" value="([A-Z0-9]+)">', open_part)


@pytest.mark.slow
def test_the_officers_journey_explain_correct_sign_off(served: Served, tmp_path: Path) -> None:
    """Somerset: both years in, three queries; explain them beside each query (one too short
    first), correct the return, the explanations carry forward, the approver signs off and
    the receipt names the corrected file's SHA-256."""
    officer = served.client("sub.s")
    submission_path(upload(officer, SOMERSET_BEFORE))
    first = submission_path(upload(officer, SOMERSET_NOW))
    page = officer.get(first)
    assert open_queries(page) == SOMERSET_QUERIES
    assert "Accepted, 3 queries to explain" in said(page)
    pk = first.rsplit("/", 1)[1]

    short = officer.post(
        "/council/explanations", {"submission": pk, "rule": "P001", "scope": "", "text": "Grew."}
    )
    assert short.status_code == 400
    assert "at least 20 characters" in said(short)
    assert ">Grew.</textarea>" in short.text  # what was typed is kept
    assert open_queries(officer.get(first)) == SOMERSET_QUERIES  # nothing recorded

    scopes = dict(re.findall(r'name="rule" value="([A-Z0-9]+)">\s*<input type="hidden" '
                             r'name="scope" value="([^"]*)">', page.text))  # fmt: skip
    recorded = officer.post(
        "/council/explanations",
        {"submission": pk, "rule": "P001", "scope": scopes["P001"], "text": EXPLANATION.format(1)},
    )
    assert recorded.status_code == 303
    assert recorded.headers["Location"] == f"{first}?recorded=P001#queries"
    after = officer.get(f"{first}?recorded=P001")
    assert "Your explanation of P001 is recorded" in said(after)
    assert open_queries(after) == ["C007", "P003"]
    assert EXPLANATION.format(1) in said(after) and "Explained by sub.s" in said(after)
    home = said(officer.get("/council/"))
    assert "2 queries to explain" in home

    approver = served.client("app.s")
    sha_first = hashlib.sha256(SOMERSET_NOW.read_bytes()).hexdigest()
    early = approver.post("/council/signoff/2013-14", {"sha256": sha_first})
    assert early.status_code == 409 and "2 queries still to explain" in said(early)
    for n, rule in enumerate(["C007", "P003"], start=2):
        done = officer.post(
            "/council/explanations",
            {"submission": pk, "rule": rule, "scope": scopes[rule], "text": EXPLANATION.format(n)},
        )
        assert done.status_code == 303

    corrected = edited(SOMERSET_NOW, tmp_path / "E10000027-2013-14-v2.xlsx",
                       submitted_on=datetime(2014, 7, 1))  # fmt: skip
    second = submission_path(upload(officer, corrected))
    assert second != first
    carried = officer.get(second)
    assert "This is the current return for 2013-14" in said(carried)
    assert open_queries(carried) == []  # every explanation carried forward
    assert EXPLANATION.format(1) in said(carried)
    assert "Not the current return" in said(officer.get(first))
    assert "Ready for sign-off by an approver" in said(approver.get("/council/"))

    stale = approver.post("/council/signoff/2013-14", {"sha256": sha_first})
    assert stale.status_code == 409 and "newer return" in said(stale)
    sha_second = hashlib.sha256(corrected.read_bytes()).hexdigest()
    signed = approver.post("/council/signoff/2013-14", {"sha256": sha_second})
    assert signed.status_code == 303
    assert signed.headers["Location"] == "/council/receipts/2013-14"
    receipt = approver.get("/council/receipts/2013-14")
    assert receipt.status_code == 200
    text = said(receipt)
    assert sha_second in text and "Signed off by app.s" in text
    assert "still the current return" in text
    assert "@media print" in receipt.text
    again = approver.post("/council/signoff/2013-14", {"sha256": sha_second})
    assert again.status_code == 409 and "signed off already" in said(again)

    # the receipt as text is what the national team verifies against the file and the ledger
    as_text = officer.get("/council/receipts/2013-14?format=text")
    assert as_text.headers["Content-Type"].startswith("text/plain")
    receipt_file = tmp_path / "receipt.txt"
    receipt_file.write_bytes(as_text.content)
    verified = returns("collect", "verify-receipt", served.folder, receipt_file, corrected)
    assert verified.returncode == 0, verified.stderr
    assert "Receipt verified" in verified.stdout and "still the current return" in verified.stdout
    home = said(officer.get("/council/"))
    assert "Signed off by app.s" in home and "the national team reviews it next" in home
    national = served.client("reviewer").get(f"/council/receipts/2013-14?council={SOMERSET}")
    assert national.status_code == 200 and sha_second in said(national)
    assert f"?council={SOMERSET}&amp;format=text" in national.text  # links keep the council


def test_a_return_with_errors_gets_its_findings_and_marked_copy(
    served: Served, hartlepool: str
) -> None:
    import openpyxl

    client = served.client("sub.a")
    path = submission_path(upload(client, FIXTURES / "invalid" / "B001.xlsx"))
    page = client.get(path)
    text = said(page)
    assert "Rejected, 1 error to fix" in text and "B001" in text
    assert "Not the current return" in text  # the valid return stays current
    assert f'href="{hartlepool}"' in page.text
    annotated = client.get(path + "/annotated")
    book = openpyxl.load_workbook(io.BytesIO(annotated.content))
    assert book["Budgets"]["A28"].comment is not None  # the finding is on its cell
    home = said(client.get("/council/"))
    assert "not used: errors" in home


def test_a_file_that_names_no_council(served: Served) -> None:
    """From a council's person it is refused, with the findings that say why; from the
    national team it is recorded, and no council's person can open it."""
    damaged = b"PK\x03\x04 this is not a workbook"
    refused = served.client("sub.a").post(
        "/council/upload", files={"file": ("broken.xlsx", damaged, XLSX)}
    )
    assert refused.status_code == 422
    text = said(refused)
    assert "the file's council and period could not be read" in text
    assert "Errors in the file" in text
    admin = served.client("admin")
    path = submission_path(
        admin.post("/council/upload", files={"file": ("broken.xlsx", damaged, XLSX)})
    )
    page = admin.get(path)
    assert page.status_code == 200
    assert "names no council and period" in said(page)
    assert 'name="text"' not in page.text  # nothing to explain for no council
    assert served.client("sub.a").get(path).status_code == 403


def test_a_return_for_a_period_not_collected_is_said_to_be_never_used(served: Served) -> None:
    client = served.client("sub.a")
    path = submission_path(upload(client, NATIONAL / "E06000001-2014-15.xlsx"))
    page = client.get(path)
    assert "Never used: 2014-15 is not a period of this collection" in said(page)
    assert "This is the current return" not in said(page)
    assert 'name="text"' not in page.text  # nothing to explain outside the collection
