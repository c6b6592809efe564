"""Nothing lost, nothing torn: the ledger under kills, concurrent writers and schema upgrades,
on SQLite and PostgreSQL.

* `collect submit` killed (SIGKILL, which no handler catches) at chosen points, from inside,
  leaves the ledger as it was before the command or as it is after it, never between; the log
  still verifies, and the same submission run again lands.
* Two `collect submit` commands on one collection at once, each slowed inside its transaction
  so that they overlap, both land, one after the other, with an unbroken log chain.
* A ledger made at the first migration, with data in it, is upgraded without losing a row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_ledger_support import BACKENDS, backend, collect, copy_national

#: Runs the CLI with one step of `collect submit` made fatal or slow, chosen by LEDGER_HOOK.
HOOK = textwrap.dedent(
    """
    import os, signal, sys, time

    from returns_kit import cli
    from returns_kit.ledger import audit, service, store

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    point = os.environ["LEDGER_HOOK"]
    if point == "after-store":  # every file stored, nothing recorded yet
        original_store, calls = store.store, []
        def stored(*a, **k):
            done = original_store(*a, **k)
            calls.append(1)
            if len(calls) == int(os.environ["FILES"]):
                die()
            return done
        store.store = stored
    elif point.startswith("entry-"):  # inside the transaction, at the Nth log entry
        wanted, calls = int(point.split("-")[1]), []
        append = audit.append
        def counted(*a, **k):
            calls.append(1)
            if len(calls) == wanted:
                die()
            return append(*a, **k)
        audit.append = counted
    elif point == "after-commit":  # committed, the output not yet printed
        service.SubmitResult.exit_code = property(die)
    elif point == "slow":  # each record waits, so two commands' transactions overlap
        record = service._record
        def slowly(*a, **k):
            time.sleep(float(os.environ.get("SLOW", "0.3")))
            return record(*a, **k)
        service._record = slowly
    sys.exit(cli.main(sys.argv[1:]))
    """
)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return backend(request)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_KIT_NOW", "2014-06-20T10:00:00Z")
    monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)


def _start(
    tmp_path: Path, folder: Path, url: str | None, files: list[Path], point: str, **env: str
) -> subprocess.Popen[str]:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    command = [sys.executable, str(hook), "collect", "submit", str(folder), *map(str, files)]
    if url is not None:
        command += ["--database-url", url]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "LEDGER_HOOK": point, **env}
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _init(folder: Path, url: str | None) -> None:
    result = collect(
        "init", folder, "--name", "durable", "--periods", "2013-14",
        "--councils", "E06000001,E06000002,E06000003,E06000004", url=url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _state(folder: Path, url: str | None) -> tuple[list[tuple[str, str]], list[str]]:
    """(each council's status and current return, every log entry's kind) as the ledger says."""
    status = collect("status", folder, "--format", "json", url=url)
    assert status.exit_code == 0, status.output
    councils = [(c["status"], c["current_name"]) for c in json.loads(status.output)["councils"]]
    log = collect("log", folder, "--format", "json", url=url).output.splitlines()
    return councils, [json.loads(line)["kind"] for line in log]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("point", ["after-store", "entry-1", "entry-4", "after-commit"])
def test_a_killed_submit_leaves_the_ledger_before_or_after(
    tmp_path: Path, database_url: str | None, point: str
) -> None:
    folder = tmp_path / "pb"
    _init(folder, database_url)
    files = copy_national(tmp_path / "in", "E06000001-2013-14", "E06000002-2013-14")
    before = _state(folder, database_url)
    process = _start(tmp_path, folder, database_url, files, point, FILES=str(len(files)))
    _, errors = process.communicate(timeout=180)
    assert process.returncode == -signal.SIGKILL, errors
    after_kill = _state(folder, database_url)
    verified = collect("log", folder, "--verify", url=database_url)
    assert verified.exit_code == 0, verified.output
    # Every file was stored (flushed, renamed) before the transaction that would name it; a
    # stored file with no row is harmless, and reused when the same bytes come again.
    assert len(list((folder / "files").rglob("*.xlsx"))) == len(files)
    rerun = collect("submit", folder, *files, url=database_url)
    assert rerun.exit_code == 0, rerun.output
    done = _state(folder, database_url)
    if point == "after-commit":
        assert after_kill[0] == done[0]  # the killed command had landed whole
        assert "one submission, now listed under this name too" in rerun.output
    else:
        assert after_kill == before  # nothing of the killed command
        assert "Now the current return." in rerun.output
    assert [c[0] for c in done[0]].count("valid and explained") == 2
    assert collect("log", folder, "--verify", url=database_url).exit_code == 0


def test_two_submits_at_once_both_land_in_order(tmp_path: Path, database_url: str | None) -> None:
    folder = tmp_path / "pb"
    _init(folder, database_url)
    first = copy_national(tmp_path / "a", "E06000001-2013-14", "E06000002-2013-14")
    second = copy_national(tmp_path / "b", "E06000003-2013-14", "E06000004-2013-14")
    processes = [
        _start(tmp_path, folder, database_url, files, "slow", SLOW="0.5")
        for files in (first, second)
    ]
    for process in processes:
        out, errors = process.communicate(timeout=180)
        assert process.returncode == 0, errors + out
    councils, kinds = _state(folder, database_url)
    assert [status for status, _ in councils] == ["valid and explained"] * 4
    assert kinds == ["init"] + ["submission", "validation"] * 4
    log = [
        json.loads(line)
        for line in collect("log", folder, "--format", "json", url=database_url).output.splitlines()
    ]
    assert [entry["seq"] for entry in log] == list(range(1, 10))
    # One command's entries, then the other's: never interleaved.
    names = [entry["payload"]["name"] for entry in log if entry["kind"] == "submission"]
    batches = {tuple(sorted(names[:2])), tuple(sorted(names[2:]))}
    assert batches == {
        tuple(sorted(p.name for p in first)),
        tuple(sorted(p.name for p in second)),
    }
    assert collect("log", folder, "--verify", url=database_url).exit_code == 0


def test_an_upgrade_from_the_first_migration_keeps_every_row(
    tmp_path: Path, database_url: str | None
) -> None:
    folder = tmp_path / "pb"
    _init(folder, database_url)
    files = copy_national(tmp_path / "in", "E06000001-2013-14", "E06000002-2013-14")
    assert collect("submit", folder, *files, url=database_url).exit_code == 0
    explained = collect(
        "explain", folder, "--council", "E06000001", "--period", "2013-14", "--rule", "S005",
        "--text", "An explanation given before the upgrade.", url=database_url,
    )  # fmt: skip
    assert explained.exit_code == 0
    before = _state(folder, database_url)
    # Take the schema back to the first migration (the data stays), then open the ledger as
    # any command does: it is brought up to date.
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "ledger", "0001", verbosity=0)

    def counts() -> dict[str, int]:
        found = {}
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                if table.startswith("ledger_"):
                    cursor.execute(f"select count(*) from {table}")
                    found[table] = cursor.fetchone()[0]
        return found

    def columns() -> list[str]:
        with connection.cursor() as cursor:
            described = connection.introspection.get_table_description(cursor, "ledger_collection")
        return [column.name for column in described]

    tables = counts()
    assert "settings" not in columns()
    assert tables["ledger_submission"] == 2 and tables["ledger_auditentry"] == 6
    assert _state(folder, database_url) == before
    # Every row kept; the tables later migrations add (judgements, the service's people,
    # tokens, sign-in failures and builds) start empty.
    upgraded = counts()
    assert "settings" in columns() and {t: upgraded[t] for t in tables} == tables
    added = {"ledger_judgement", "ledger_person", "ledger_apitoken", "ledger_loginfailure",
             "ledger_build"}  # fmt: skip
    assert set(upgraded) - set(tables) == added
    assert all(upgraded[table] == 0 for table in added)
    from returns_kit.ledger.models import Collection

    (collection,) = Collection.objects.all()
    assert collection.settings["name"] == "durable"  # filled from the log's init entry
    assert collect("log", folder, "--verify", url=database_url).exit_code == 0


def test_the_models_and_the_migrations_agree(tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    _init(folder, None)
    from django.core.management import call_command

    call_command("makemigrations", "ledger", "--check", "--dry-run", verbosity=0)


def test_a_stored_file_is_never_overwritten(tmp_path: Path) -> None:
    from returns_kit.ledger import store

    relative = store.store(tmp_path, b"first", ".xlsx")
    assert store.store(tmp_path, b"first", ".xlsx") == relative
    target = tmp_path / relative
    target.chmod(0o644)
    target.write_bytes(b"damaged")
    with pytest.raises(OSError, match="the file store is damaged"):
        store.store(tmp_path, b"first", ".xlsx")
    assert target.read_bytes() == b"damaged"
