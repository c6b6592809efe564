"""Explanations, decisions, sign-offs and reopenings in the ledger, on SQLite and PostgreSQL.

Small synthetic returns of one council (tests/test_ledger_support.small_returns): its
2013-14 return raises P001 (a personal budget rate up 15.7 points), and copies of it come as
the council would send it again.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from .test_ledger_support import BACKENDS, SMALL_COUNCIL, backend, collect, small_returns

COUNCIL, PERIOD = SMALL_COUNCIL, "2013-14"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return backend(request)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_KIT_NOW", "2014-06-20T10:00:00Z")
    monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return small_returns(tmp_path_factory.mktemp("returns"))


def _row(folder: Path, url: str | None) -> dict[str, str]:
    result = collect("status", folder, "--period", PERIOD, "--format", "csv", url=url)
    assert result.exit_code == 0, result.output
    rows = {r["council_code"]: r for r in csv.DictReader(io.StringIO(result.output))}
    return rows[COUNCIL]


def _start(tmp_path: Path, url: str | None, returns: dict[str, Path]) -> Path:
    folder = tmp_path / "pb"
    result = collect(
        "init", folder, "--name", "review", "--periods", f"2012-13,{PERIOD}",
        "--councils", COUNCIL, "--close", "2014-07-31", url=url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert collect("submit", folder, returns["before"], returns["first"], url=url).exit_code == 0
    return folder


def _explain(folder: Path, url: str | None, rule: str, text: str) -> None:
    result = collect(
        "explain", folder, "--council", COUNCIL, "--period", PERIOD, "--rule", rule,
        "--text", text, "--by", "Somerset performance team", url=url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _review(folder: Path, url: str | None, rule: str, outcome: str) -> None:
    result = collect(
        "review", folder, "--council", COUNCIL, "--period", PERIOD, "--rule", rule,
        f"--{outcome}", "--reason", f"{rule} looked at", "--by", "National team", url=url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_explanations_carry_to_resubmissions_and_count_from_either_source(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _start(tmp_path, database_url, returns)
    row = _row(folder, database_url)
    assert (row["status"], row["queries"], row["unexplained"]) == (
        "valid with queries to explain", "1", "1",
    )  # fmt: skip
    # The workbook's Explanations sheet answers P001, like `collect explain` would.
    assert collect("submit", folder, returns["explained"], url=database_url).exit_code == 0
    assert _row(folder, database_url)["status"] == "valid and explained"
    # Sent again with no Explanations sheet: the explanation still stands (council, period).
    assert collect("submit", folder, returns["plain"], url=database_url).exit_code == 0
    row = _row(folder, database_url)
    assert row["current_name"] == "again.xlsx"
    assert (row["status"], row["unexplained"]) == ("valid and explained", "0")
    # Withdrawn: the query is unexplained again; explained to the collection: answered.
    result = collect(
        "explain", folder, "--council", COUNCIL, "--period", PERIOD, "--rule", "P001",
        "--withdraw", url=database_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _row(folder, database_url)["status"] == "valid with queries to explain"
    _explain(folder, database_url, "P001", "The review of home care moved 300 people.")
    assert _row(folder, database_url)["status"] == "valid and explained"


def test_a_decision_holds_until_the_evidence_changes(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _start(tmp_path, database_url, returns)
    _explain(folder, database_url, "P001", "The review of home care moved 300 people.")
    _review(folder, database_url, "P001", "accept")
    signed = collect(
        "signoff", folder, "--council", COUNCIL, "--period", PERIOD, "--by", "A. Approver",
        url=database_url,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    row = _row(folder, database_url)
    assert (row["status"], row["undecided"], row["signed_off_by"]) == (
        "accepted", "0", "A. Approver",
    )  # fmt: skip
    # The same figures sent again: the decision is carried, but a resubmission needs a new
    # sign-off.
    assert collect("submit", folder, returns["plain"], url=database_url).exit_code == 0
    row = _row(folder, database_url)
    assert (row["status"], row["undecided"], row["signed_off_by"]) == (
        "valid and explained", "0", "",
    )  # fmt: skip
    # 30 more people with a council-managed budget: P001's evidence changed, so its decision
    # is reopened (the explanation still stands).
    assert collect("submit", folder, returns["changed"], url=database_url).exit_code == 0
    row = _row(folder, database_url)
    assert row["undecided"] == "1" and "1 decision(s) reopened" in row["note"]
    assert row["status"] == "valid and explained"
    _review(folder, database_url, "P001", "return")
    assert _row(folder, database_url)["status"] == "returned"


def test_review_needs_the_finding_in_the_current_return(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _start(tmp_path, database_url, returns)
    result = collect(
        "review", folder, "--council", COUNCIL, "--period", PERIOD, "--rule", "S005",
        "--accept", "--reason", "x", "--by", "NT", url=database_url,
    )  # fmt: skip
    assert result.exit_code == 2 and "has no S005 finding" in result.output
    short = collect(
        "explain", folder, "--council", COUNCIL, "--period", PERIOD, "--rule", "P001",
        "--text", "too short", url=database_url,
    )  # fmt: skip
    assert short.exit_code == 2 and "at least 20 characters" in short.output
    not_query = collect(
        "explain", folder, "--council", COUNCIL, "--period", PERIOD, "--rule", "B003",
        "--text", "x" * 30, url=database_url,
    )  # fmt: skip
    assert not_query.exit_code == 2 and "is not a query (error)" in not_query.output


def test_receipts_verify_against_the_file_and_the_ledger(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _start(tmp_path, database_url, returns)
    signed = collect(
        "signoff", folder, "--council", COUNCIL, "--period", PERIOD, "--by", "A. Approver",
        url=database_url,
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    receipt = tmp_path / "receipt.txt"
    receipt.write_text(signed.output)
    assert f"submission sha256: {_row(folder, database_url)['current_sha256']}" in signed.output
    ok = collect("verify-receipt", folder, receipt, returns["first"], url=database_url)
    assert ok.exit_code == 0 and "it is still the current return" in ok.output
    wrong_file = collect("verify-receipt", folder, receipt, returns["before"], url=database_url)
    assert wrong_file.exit_code == 1 and "is not the file this receipt is for" in wrong_file.output
    forged = tmp_path / "forged.txt"
    forged.write_text(signed.output.replace("A. Approver", "Someone Else"))
    assert (
        collect("verify-receipt", folder, forged, returns["first"], url=database_url).exit_code == 1
    )
    assert collect("submit", folder, returns["plain"], url=database_url).exit_code == 0
    later = collect("verify-receipt", folder, receipt, returns["first"], url=database_url)
    assert later.exit_code == 0 and "a later return has since replaced it" in later.output


def test_the_hard_close_refuses_unless_the_council_was_reopened(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    folder = _start(tmp_path, database_url, returns)
    monkeypatch.setenv("RETURNS_KIT_NOW", "2014-08-01T09:00:00Z")
    refused = collect("submit", folder, returns["plain"], url=database_url)
    assert refused.exit_code == 1
    assert "REFUSED. Not recorded as a submission: the collection closed on 2014-07-31" in (
        refused.output
    )
    assert _row(folder, database_url)["current_name"] == returns["first"].name
    log = collect("log", folder, "--format", "json", url=database_url).output
    assert '"kind": "refused"' in log
    reopened = collect(
        "reopen", folder, "--council", COUNCIL, "--period", PERIOD, "--by", "National team",
        "--reason", "late correction agreed", url=database_url,
    )  # fmt: skip
    assert reopened.exit_code == 0, reopened.output
    accepted = collect("submit", folder, returns["plain"], url=database_url)
    assert accepted.exit_code == 0, accepted.output
    assert _row(folder, database_url)["current_name"] == "again.xlsx"
    assert collect("log", folder, "--verify", url=database_url).exit_code == 0


def test_a_return_with_no_query_is_accepted_as_a_whole(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder, url = _start(tmp_path, database_url, returns), database_url
    where = ["--council", COUNCIL, "--period", "2012-13"]
    signed = collect("signoff", folder, *where, "--by", "A. Approver", url=url)
    assert signed.exit_code == 0, signed.output

    def status() -> str:
        result = collect("status", folder, "--period", "2012-13", "--format", "csv", url=url)
        return {r["council_code"]: r for r in csv.DictReader(io.StringIO(result.output))}[COUNCIL][
            "status"
        ]

    assert status() == "signed off"  # no query, so nothing accepted yet
    decided = collect(
        "review", folder, *where, "--accept", "--reason", "fine", "--by", "NT", url=url
    )
    assert decided.exit_code == 0 and "the return for" in decided.output
    assert status() == "accepted"
    returned = collect(
        "review", folder, *where, "--return", "--reason", "wrong year", "--by", "NT", url=url
    )
    assert returned.exit_code == 0
    assert status() == "returned"


def test_files_given_together_compare_with_the_previous_period_whatever_their_order(
    tmp_path: Path, returns: dict[str, Path]
) -> None:
    folder = tmp_path / "pb"
    result = collect(
        "init", folder, "--name", "order", "--periods", f"2012-13,{PERIOD}", "--councils", COUNCIL
    )
    assert result.exit_code == 0, result.output
    submitted = collect("submit", folder, returns["first"], returns["before"])
    assert submitted.exit_code == 0, submitted.output
    # 2012-13 is recorded first, so 2013-14 is compared with it: P001, not "not received".
    assert submitted.output.splitlines()[0].startswith(returns["before"].name)
    row = _row(folder, None)
    assert (row["queries"], row["unexplained"]) == ("1", "1")


def test_a_return_sent_before_the_previous_periods_is_judged_again_when_that_comes(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder, url = tmp_path / "pb", database_url
    result = collect(
        "init", folder, "--name", "late", "--periods", f"2012-13,{PERIOD}", "--councils", COUNCIL,
        url=url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert collect("submit", folder, returns["first"], url=url).exit_code == 0
    row = _row(folder, url)
    assert (row["status"], row["queries"]) == ("valid and explained", "0")  # nothing to compare
    assert collect("submit", folder, returns["before"], url=url).exit_code == 0
    row = _row(folder, url)
    assert (row["status"], row["queries"], row["unexplained"]) == (
        "valid with queries to explain", "1", "1",
    )  # fmt: skip
    log = collect("log", folder, "--format", "json", url=url).output
    assert '"kind": "judgement"' in log
    # The judged finding is the one the national team decides.
    _review(folder, url, "P001", "accept")
    assert _row(folder, url)["undecided"] == "0"
    assert collect("log", folder, "--verify", url=url).exit_code == 0
