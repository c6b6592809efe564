"""The collection ledger through the CLI: init, submit, status, log, on SQLite and PostgreSQL.

Real files (copies of the shipped national and invalid fixtures), a real database, the
`returns collect` commands as a national team runs them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT
from .test_ledger_support import (
    EVERY_BACKEND,
    NATIONAL,
    backend,
    collect,
    copy_national,
    edited,
    init,
    sqlite_rows,
)

NOW = "2014-06-01T09:00:00Z"


@pytest.fixture(params=EVERY_BACKEND)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return backend(request)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_KIT_NOW", NOW)
    monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)


def _status(folder: Path, url: str | None, *args: str) -> dict[tuple[str, str], dict[str, str]]:
    result = collect("status", folder, "--format", "csv", *args, url=url)
    assert result.exit_code == 0, result.output
    return {(r["council_code"], r["period"]): r for r in csv.DictReader(io.StringIO(result.output))}


def test_init_writes_the_settings_and_an_empty_ledger(
    tmp_path: Path, database_url: str | None
) -> None:
    folder = tmp_path / "pb"
    init(folder, database_url)
    text = (folder / "collection.toml").read_text()
    assert 'periods = ["2012-13", "2013-14"]' in text and "close = 2014-07-31" in text
    assert (folder / "ledger.sqlite3").exists() == (database_url is None)
    again = collect("init", folder, "--name", "x", "--periods", "2013-14", url=database_url)
    assert again.exit_code == 2 and "already a collection" in again.output
    rows = _status(folder, database_url)
    assert len(rows) == 152 * 2
    assert {row["status"] for row in rows.values()} == {"not received"}
    assert rows[("E06000001", "2013-14")]["days_to_deadline"] == "29"
    verified = collect("log", folder, "--verify", url=database_url)
    assert verified.exit_code == 0 and "1 entries are intact" in verified.output


def test_submit_records_each_file_and_says_what_became_current(
    tmp_path: Path, database_url: str | None
) -> None:
    folder = tmp_path / "pb"
    init(folder, database_url)
    inbox = tmp_path / "inbox"
    earlier, first = copy_national(inbox, "E06000001-2012-13", "E06000001-2013-14")
    broken = inbox / "hartlepool-broken.xlsx"
    shutil.copy(FIXTURES / "invalid" / "B003.xlsx", broken)  # Hartlepool 2013-14, one error
    result = collect("submit", folder, earlier, first, "--by", "Hartlepool", url=database_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("E06000001-2012-13.xlsx — Hartlepool (E06000001), 2012-13: valid")
    assert lines[1].endswith("Now the current return.")
    # A file with errors is recorded, exit 1, and never displaces the valid current return.
    result = collect("submit", folder, broken, url=database_url)
    assert result.exit_code == 1
    assert "NOT VALID, 1 error" in result.output and "stays current" in result.output
    row = _status(folder, database_url)[("E06000001", "2013-14")]
    assert row["status"] == "valid and explained" and row["submissions"] == "2"
    assert row["current_name"] == "E06000001-2013-14.xlsx"
    assert "latest submission has errors" in row["note"]
    # Stored once by content, read-only, before any row names it.
    stored = sorted(p.name for p in (folder / "files").rglob("*.xlsx"))
    assert len(stored) == 3 and all(len(name) == 64 + 5 for name in stored)
    assert collect("log", folder, "--verify", url=database_url).exit_code == 0


def test_same_bytes_twice_are_one_submission_under_both_names(
    tmp_path: Path, database_url: str | None
) -> None:
    folder = tmp_path / "pb"
    init(folder, database_url)
    (original,) = copy_national(tmp_path / "in", "E06000002-2013-14")
    copy = tmp_path / "in" / "old" / "E06000002-2013-14 (copy).xlsx"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    result = collect("submit", folder, original, copy, url=database_url)
    assert result.exit_code == 0, result.output
    assert "one submission, now listed under this name too" in result.output
    row = _status(folder, database_url)[("E06000002", "2013-14")]
    assert row["submissions"] == "1" and row["status"] == "valid and explained"


def test_a_later_submitted_on_supersedes_and_an_earlier_one_does_not(
    tmp_path: Path, database_url: str | None
) -> None:
    folder = tmp_path / "pb"
    init(folder, database_url)
    (first,) = copy_national(tmp_path / "in", "E06000003-2013-14")
    later = edited(first, tmp_path / "in" / "later.xlsx", submitted_on=datetime(2014, 7, 1))
    stale = edited(first, tmp_path / "in" / "stale.xlsx", submitted_on=datetime(2014, 5, 1))
    assert collect("submit", folder, first, url=database_url).exit_code == 0
    result = collect("submit", folder, later, stale, url=database_url)
    assert result.exit_code == 0, result.output
    assert "Now the current return; supersedes" in result.output.splitlines()[0]
    assert "Recorded as superseded" in result.output.splitlines()[1]
    row = _status(folder, database_url)[("E06000003", "2013-14")]
    assert row["current_name"] == "later.xlsx" and row["submissions"] == "3"


def test_status_formats_and_the_chase_list(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    init(folder, None, "--councils", "E06000001,E06000002,E06000003")
    broken = tmp_path / "B003.xlsx"
    shutil.copy(FIXTURES / "invalid" / "B003.xlsx", broken)  # Hartlepool 2013-14
    files = copy_national(tmp_path / "in", "E06000002-2013-14")
    assert collect("submit", folder, broken, *files).exit_code == 1
    chase = collect("status", folder, "--period", "2013-14", "--chase")
    rows = list(csv.DictReader(io.StringIO(chase.output)))
    assert [(r["council_code"], r["status"]) for r in rows] == [
        ("E06000001", "received with errors"),
        ("E06000003", "not received"),
    ]
    document = json.loads(collect("status", folder, "--format", "json").output)
    assert document["periods"] == ["2012-13", "2013-14"] and len(document["councils"]) == 6
    text = collect("status", folder, "--period", "2013-14").output
    assert "2013-14: 3 councils: 1 not received, 1 received with errors, 1 valid and explained" in (
        text
    )
    assert "Chase list: 2" in text


def test_usage_problems_are_one_line(tmp_path: Path) -> None:
    result = collect("status", tmp_path)
    assert result.exit_code == 2 and "is not a collection" in result.output
    bad = collect("init", tmp_path / "x", "--name", "x", "--periods", "2013-14,13-14")
    assert bad.exit_code == 2 and "not a period" in bad.output
    url = collect("status", tmp_path, "--database-url", "mysql://x/y")
    assert url.exit_code == 2


def test_log_verify_names_the_first_changed_entry(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    init(folder)
    files = copy_national(tmp_path / "in", "E06000001-2013-14", "E06000002-2013-14")
    assert collect("submit", folder, *files).exit_code == 0
    assert collect("log", folder, "--verify").exit_code == 0
    ((payload,),) = sqlite_rows(folder, "select payload from ledger_auditentry where seq = 4")
    changed = payload.replace('"E06000002-2013-14.xlsx"', '"E06000002-2013-15.xlsx"')
    assert changed != payload
    import sqlite3

    with sqlite3.connect(folder / "ledger.sqlite3") as connection:
        connection.execute("update ledger_auditentry set payload = ? where seq = 4", (changed,))
    result = collect("log", folder, "--verify")
    assert result.exit_code == 1
    assert "broken at entry 4: its content does not match its hash" in result.output


def test_validate_and_aggregate_never_import_django(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from returns_kit.cli import main
        main(["validate", {str(NATIONAL / "E06000001-2013-14.xlsx")!r}])
        main(["aggregate", {str(NATIONAL / "E06000001-2013-14.xlsx")!r}, "--out",
              {str(tmp_path / "out")!r}, "--no-report", "--no-cache"])
        assert (sys.modules.get("django") is None), "django was imported"
        print("no django")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("no django")


def test_a_file_outside_the_collection_is_recorded_and_never_used(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    init(folder, None, "--councils", "E06000001")
    files = copy_national(tmp_path / "in", "E06000001-2011-12", "E06000002-2013-14")
    result = collect("submit", folder, *files)
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert first.endswith("2011-12 is not a period of this collection: it is never used.")
    assert second.endswith("This council is not expected in this collection.")
    rows = _status(folder, None)
    assert ("E06000001", "2011-12") not in rows
    assert rows[("E06000002", "2013-14")]["note"] == "not expected in this collection"
    assert rows[("E06000001", "2013-14")]["status"] == "not received"


def test_a_command_without_the_ledgers_database_is_refused(
    tmp_path: Path, database_url: str | None
) -> None:
    """Run without the URL, a PostgreSQL collection's command must not start an empty SQLite
    ledger (or the other way round): the collection says where its ledger is."""
    folder = tmp_path / "pb"
    init(folder, database_url)
    other = "postgresql://nobody@/nothing" if database_url is None else None
    result = collect("status", folder, url=other)
    assert result.exit_code == 2
    expected = "is in sqlite" if database_url is None else "is in postgresql: give --database-url"
    assert expected in result.output
    assert not (folder / "ledger.sqlite3").exists() or database_url is None


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("delete from ledger_auditentry where seq = 3", "broken at entry 3: entry 3 is missing"),
        ("delete from ledger_auditentry where seq = 5", "the chain head records entry 5"),
        (
            "update ledger_auditentry set kind = 'decision' where seq = 2",
            "broken at entry 2: its content does not match its hash",
        ),
    ],
)
def test_log_verify_finds_removed_and_relabelled_entries(
    tmp_path: Path, statement: str, named: str
) -> None:
    folder = tmp_path / "pb"
    init(folder)
    files = copy_national(tmp_path / "in", "E06000001-2013-14", "E06000002-2013-14")
    assert collect("submit", folder, *files).exit_code == 0
    import sqlite3

    with sqlite3.connect(folder / "ledger.sqlite3") as connection:
        connection.execute(statement)
    result = collect("log", folder, "--verify")
    assert result.exit_code == 1 and named in result.output


def test_names_as_typed_cannot_move_the_terminals_cursor(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    init(folder)
    hostile = tmp_path / "in" / "E06000001\x1b[2J-2013-14.xlsx"
    hostile.parent.mkdir()
    shutil.copy(NATIONAL / "E06000001-2013-14.xlsx", hostile)
    result = collect("submit", folder, hostile, "--by", "Jo\x1b]0;pwned\x07")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "E06000001\\x1b[2J-2013-14.xlsx" in result.output
    signed = collect(
        "signoff", folder, "--council", "E06000001", "--period", "2013-14", "--by", "A\x1bB"
    )
    assert "signed off by: A\\x1bB" in signed.output
    for args in (["status", folder], ["log", folder]):
        shown = collect(*args).output
        assert "\x1b" not in shown and "\x07" not in shown


def test_a_receipt_that_is_not_one_is_a_usage_problem(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    init(folder)
    (file,) = copy_national(tmp_path / "in", "E06000001-2013-14")
    binary, text = tmp_path / "binary.txt", tmp_path / "text.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    text.write_text("collection: test pb\n")
    for receipt, why in ((binary, "is not text"), (text, "not a sign-off receipt")):
        result = collect("verify-receipt", folder, receipt, file)
        assert result.exit_code == 2 and why in result.output
