"""A whole collection year through the CLI, on SQLite and PostgreSQL; on SQLite its transcript
is docs/collections.md's worked example, which must be current.

Three councils, two periods: a return with errors and its correction, a query explained on
the workbook, returned by the national team, explained again with `collect explain`, carried
to a resubmission, a changed figure that reopens the decision, sign-offs and receipts, the
hard close and a reopening, the release, and the log verified; then one byte of the log is
changed and `log --verify` names that entry.

To rewrite the worked example after a deliberate change of output:
``RETURNS_KIT_WRITE_DOCS=1 python -m pytest tests/test_ledger_year.py -k sqlite``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from returns_kit.cli import cli

from .conftest import FIXTURES, ROOT
from .test_ledger_support import BACKENDS, NATIONAL, backend, edited, small_returns

DOC = ROOT / "docs" / "collections.md"
START, END = "<!-- worked example: start -->", "<!-- worked example: end -->"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    url = backend(request)
    if url is None:
        monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)
    else:  # every command, aggregate --collection too, finds the ledger through the environment
        monkeypatch.setenv("RETURNS_DATABASE_URL", url)
    return url


class Year:
    """Runs `returns` commands at chosen moments and keeps a console transcript of them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.lines: list[str] = []
        self.day = ""

    def on(self, moment: str) -> None:
        self.monkeypatch.setenv("RETURNS_KIT_NOW", moment)
        day = moment[:10]
        if day != self.day:
            self.lines += ["", f"# {day}"] if self.lines else [f"# {day}"]
            self.day = day

    def run(self, *args: str, code: int = 0, show: bool = True, tee: str | None = None) -> str:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        if tee is not None:
            Path(tee).write_text(result.output)
        if show:
            command = "$ returns " + " ".join(_quote(a) for a in args)
            self.lines.append(command + (f" | tee {tee}" if tee else ""))
            self.lines += result.output.rstrip("\n").splitlines()
            if code:
                self.lines.append(f"$ echo $?\n{code}")
        return str(result.output)

    def transcript(self) -> str:
        return "\n".join(self.lines) + "\n"


def _quote(word: str) -> str:
    return f'"{word}"' if re.search(r"[\s,]", word) else word


def _status(year: Year, period: str = "2013-14") -> dict[str, dict[str, str]]:
    text = year.run("collect", "status", "pb", "--period", period, "--format", "csv", show=False)
    return {row["council_code"]: row for row in csv.DictReader(io.StringIO(text))}


def _chase(year: Year) -> list[tuple[str, str, str]]:
    text = year.run("collect", "status", "pb", "--chase", show=False)
    rows = csv.DictReader(io.StringIO(text))
    return [(row["period"], row["council_code"], row["status"]) for row in rows]


def _inbox(folder: Path) -> None:
    """The files the councils send, under the names they send them."""
    inbox = folder / "inbox"
    made = small_returns(folder / "made")
    names = {
        "before": "stockton-2012-13.xlsx",
        "first": "stockton-2013-14.xlsx",
        "explained": "stockton-2013-14-v2.xlsx",
        "plain": "stockton-2013-14-v3.xlsx",
        "changed": "stockton-2013-14-v4.xlsx",
    }
    inbox.mkdir()
    for key, name in names.items():
        shutil.copy(made[key], inbox / name)
    shutil.rmtree(folder / "made")
    for code, name in (("E06000001", "hartlepool"), ("E06000002", "middlesbrough")):
        for period in ("2012-13", "2013-14"):
            shutil.copy(NATIONAL / f"{code}-{period}.xlsx", inbox / f"{name}-{period}.xlsx")
    shutil.copy(FIXTURES / "invalid" / "B003.xlsx", inbox / "hartlepool-2013-14-draft.xlsx")
    edited(
        NATIONAL / "E06000002-2013-14.xlsx",
        inbox / "middlesbrough-2013-14-late.xlsx",
        submitted_on=datetime(2014, 8, 4),
    )


@pytest.mark.slow  # a whole year of a collection, step by step
def test_a_collection_year(
    tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _inbox(tmp_path)
    year = Year(monkeypatch)

    year.on("2014-05-01T09:00:00Z")
    if database_url is None:
        year.run(
            "collect", "init", "pb", "--name", "PB monitoring 2013-14",
            "--periods", "2012-13,2013-14", "--councils", "E06000001,E06000002,E06000004",
            "--soft-deadline", "2014-06-30", "--close", "2014-07-31",
        )  # fmt: skip
    else:
        year.run(
            "collect", "init", "pb", "--name", "PB monitoring 2013-14",
            "--periods", "2012-13,2013-14", "--councils", "E06000001,E06000002,E06000004",
            "--soft-deadline", "2014-06-30", "--close", "2014-07-31", "--database-url",
            database_url, show=False,
        )  # fmt: skip
    assert len(_chase(year)) == 6

    # Hartlepool sends both years, the 2013-14 draft with an error; then the correction.
    year.on("2014-06-02T10:15:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/hartlepool-2012-13.xlsx",
        "inbox/hartlepool-2013-14-draft.xlsx", "--by", "Hartlepool performance team", code=1,
    )  # fmt: skip
    assert _status(year)["E06000001"]["status"] == "received with errors"
    assert ("2013-14", "E06000001", "received with errors") in _chase(year)
    year.on("2014-06-03T11:00:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/hartlepool-2013-14.xlsx",
        "--by", "Hartlepool performance team",
    )  # fmt: skip
    assert _status(year)["E06000001"]["status"] == "valid and explained"

    # Stockton sends both years; 2013-14 raises P001, then comes again with it explained on
    # the workbook's Explanations sheet.
    year.on("2014-06-05T14:30:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/stockton-2012-13.xlsx", "inbox/stockton-2013-14.xlsx",
        "--by", "Stockton performance team",
    )  # fmt: skip
    row = _status(year)["E06000004"]
    assert (row["status"], row["queries"], row["unexplained"]) == (
        "valid with queries to explain", "1", "1",
    )  # fmt: skip
    year.run("collect", "status", "pb", "--period", "2013-14")
    year.run("collect", "status", "pb", "--chase")
    assert _chase(year) == [("2012-13", "E06000002", "not received"),
                            ("2013-14", "E06000002", "not received")]  # fmt: skip
    year.on("2014-06-20T09:00:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/stockton-2013-14-v2.xlsx",
        "--by", "Stockton performance team",
    )  # fmt: skip
    assert _status(year)["E06000004"]["status"] == "valid and explained"

    # Middlesbrough sends both years.
    year.on("2014-06-25T16:00:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/middlesbrough-2012-13.xlsx",
        "inbox/middlesbrough-2013-14.xlsx", "--by", "Middlesbrough performance team",
    )  # fmt: skip
    assert _chase(year) == []

    # The national team returns Stockton's P001: the explanation does not say enough.
    year.on("2014-06-26T10:00:00Z")
    stockton = ["--council", "E06000004", "--period", "2013-14"]
    year.run(
        "collect", "review", "pb", *stockton, "--rule", "P001", "--return",
        "--reason", "Say how many people were reviewed and what changed for them.",
        "--by", "National team",
    )  # fmt: skip
    assert _status(year)["E06000004"]["status"] == "returned"
    # Stockton explains more, to the collection, and sends the return again without the
    # Explanations sheet: the explanation is the council's for the period, not the file's.
    year.on("2014-06-27T09:30:00Z")
    year.run(
        "collect", "explain", "pb", *stockton, "--rule", "P001", "--by", "Stockton",
        "--text", "300 people in home care were reviewed in 2013; each now has a "
        "council-managed budget with an allocation they were told of.",
    )  # fmt: skip
    year.run(
        "collect", "submit", "pb", "inbox/stockton-2013-14-v3.xlsx",
        "--by", "Stockton performance team",
    )  # fmt: skip
    row = _status(year)["E06000004"]
    assert (row["current_name"], row["unexplained"], row["status"]) == (
        "stockton-2013-14-v3.xlsx", "0", "returned",
    )  # fmt: skip
    year.run(
        "collect", "review", "pb", *stockton, "--rule", "P001", "--accept",
        "--reason", "The review explains the rise.", "--by", "National team",
    )  # fmt: skip
    # A changed figure (30 more people with a council-managed budget) reopens the decision.
    year.on("2014-06-30T12:00:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/stockton-2013-14-v4.xlsx",
        "--by", "Stockton performance team",
    )  # fmt: skip
    row = _status(year)["E06000004"]
    assert row["undecided"] == "1" and "1 decision(s) reopened" in row["note"]
    year.run(
        "collect", "review", "pb", *stockton, "--rule", "P001", "--accept",
        "--reason", "30 more reviewed in March; the same explanation.", "--by", "National team",
    )  # fmt: skip

    # Sign-offs, with receipts that anyone holding the file can check.
    year.on("2014-07-01T09:00:00Z")
    year.run(
        "collect", "signoff", "pb", *stockton, "--by", "J. Smith, Director of Adult Services",
        tee="stockton-receipt.txt",
    )  # fmt: skip
    year.run(
        "collect", "verify-receipt", "pb", "stockton-receipt.txt", "inbox/stockton-2013-14-v4.xlsx"
    )
    year.run(
        "collect", "verify-receipt", "pb", "stockton-receipt.txt", "inbox/stockton-2013-14.xlsx",
        code=1,
    )  # fmt: skip
    for code in ("E06000001", "E06000002"):
        for period in ("2012-13", "2013-14"):
            year.run(
                "collect", "signoff", "pb", "--council", code, "--period", period,
                "--by", "Director of Adult Services", show=False,
            )  # fmt: skip
    year.run(
        "collect", "signoff", "pb", "--council", "E06000004", "--period", "2012-13",
        "--by", "J. Smith, Director of Adult Services", show=False,
    )  # fmt: skip
    statuses = {code: row["status"] for code, row in _status(year).items()}
    assert statuses == {"E06000001": "signed off", "E06000002": "signed off",
                        "E06000004": "accepted"}  # fmt: skip

    # After the hard close a correction is refused, until the national team reopens the council.
    year.on("2014-08-05T09:00:00Z")
    year.run(
        "collect", "submit", "pb", "inbox/middlesbrough-2013-14-late.xlsx",
        "--by", "Middlesbrough performance team", code=1,
    )  # fmt: skip
    assert _status(year)["E06000002"]["current_name"] == "middlesbrough-2013-14.xlsx"
    year.run(
        "collect", "reopen", "pb", "--council", "E06000002", "--period", "2013-14",
        "--by", "National team", "--reason", "Late correction agreed by phone on 4 August.",
    )  # fmt: skip
    year.run(
        "collect", "submit", "pb", "inbox/middlesbrough-2013-14-late.xlsx",
        "--by", "Middlesbrough performance team",
    )  # fmt: skip
    row = _status(year)["E06000002"]
    assert (row["current_name"], row["status"]) == (
        "middlesbrough-2013-14-late.xlsx", "valid and explained",
    )  # fmt: skip
    year.run("collect", "status", "pb")

    # The release: the current returns' tables, recorded in the ledger; the log verified.
    year.on("2014-08-06T09:00:00Z")
    year.run("aggregate", "--collection", "pb", "--out", "tables", "--no-report")
    year.run("collect", "log", "pb", "--verify")

    # One byte of one entry changed: --verify names it.
    _tamper(seq=7)
    broken = year.run("collect", "log", "pb", "--verify", code=1, show=False)
    assert "broken at entry 7" in broken

    if database_url is None:
        _check_doc(year.transcript())


def _tamper(seq: int) -> None:
    """Change one byte of the log entry ``seq``'s payload, directly in the database (the one
    the commands above used, SQLite or PostgreSQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select payload from ledger_auditentry where seq = %s", [seq])
        (payload,) = cursor.fetchone()
        changed = payload.replace("Hartlepool", "Hartlepoo1", 1)
        if changed == payload:
            changed = payload.replace('"', "'", 1)
        cursor.execute("update ledger_auditentry set payload = %s where seq = %s", [changed, seq])


def _check_doc(transcript: str) -> None:
    text = DOC.read_text("utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    written = f"{before}{START}\n\n```console\n{transcript}```\n\n{END}{after}"
    if os.environ.get("RETURNS_KIT_WRITE_DOCS"):
        DOC.write_text(written, "utf-8")
    assert written == text, (
        "docs/collections.md's worked example is not current: rerun with RETURNS_KIT_WRITE_DOCS=1"
    )
