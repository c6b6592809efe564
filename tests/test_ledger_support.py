"""Shared helpers for the ledger tests: the two database backends, the CLI, and returns edited
as a council would edit them (a later submitted_on, a changed figure, an Explanations sheet).

PostgreSQL: ``RETURNS_KIT_TEST_POSTGRES_URL`` names a server database the tests may connect
to (``.ci/postgres.sh`` starts one); each test gets a database of its own, created and dropped
here. Without it the PostgreSQL cases skip, unless ``RETURNS_KIT_REQUIRE_POSTGRES=1`` (CI),
when they fail.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner, Result

from returns_kit.cli import cli

from .conftest import FIXTURES, ROOT

NATIONAL = FIXTURES / "national"
POSTGRES_VARIABLE = "RETURNS_KIT_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "RETURNS_KIT_REQUIRE_POSTGRES"


def postgres_server() -> str | None:
    url = os.environ.get(POSTGRES_VARIABLE)
    if url:
        return url
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{REQUIRE_VARIABLE}=1 but {POSTGRES_VARIABLE} is not set")
    pytest.skip(f"no PostgreSQL: set {POSTGRES_VARIABLE} (.ci/postgres.sh starts one)")
    return None


def _admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


#: The ledger's own operations (tests/test_ledger.py): both backends in every run.
EVERY_BACKEND = ["sqlite", "postgresql"]
#: Everything built on the ledger (durability, review, aggregate, the API, the service's
#: pages, the long scenarios): SQLite in the default run, and PostgreSQL as well in the slow
#: pass that .ci/run runs after it. Each costs seconds more on the server, and the default
#: run is kept for a developer's loop (under 90 s on 2 cores is the aim).
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]


def new_postgres_database(request: pytest.FixtureRequest) -> str:
    """A new, empty PostgreSQL database for one test, dropped when the test ends."""
    server = postgres_server()
    assert server is not None
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    try:
        with _admin(server) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except Exception as problem:  # a server that is named but down is a failure, not a skip
        pytest.fail(f"cannot create a database on {POSTGRES_VARIABLE}: {problem}")

    def drop() -> None:
        from django.conf import settings
        from django.db import connections

        if settings.configured:  # a test that used the database only from other processes
            connections.close_all()
        with _admin(server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    request.addfinalizer(drop)
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def backend(request: pytest.FixtureRequest) -> str | None:
    """For a fixture parametrised over BACKENDS: None (SQLite in the collection folder) or a
    fresh PostgreSQL database's URL."""
    return None if request.param == "sqlite" else new_postgres_database(request)


def collect(*args: Any, url: str | None = None, stdin: str | None = None) -> Result:
    """`returns collect ARGS` in process, reading ``stdin``; the database URL (if any) goes
    after the folder."""
    words = ["collect", *map(str, args)]
    if url is not None:
        words += ["--database-url", url]
    return CliRunner().invoke(cli, words, input=stdin, catch_exceptions=False)


def collect_process(
    *args: Any, url: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    words = [sys.executable, "-m", "returns_kit", "collect", *map(str, args)]
    if url is not None:
        words += ["--database-url", url]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(words, capture_output=True, text=True, env=environment, timeout=300)


def init(folder: Path, url: str | None = None, *extra: str) -> None:
    result = collect(
        "init",
        folder,
        "--name",
        f"test {folder.name}",
        "--periods",
        "2012-13,2013-14",
        "--soft-deadline",
        "2014-06-30",
        "--close",
        "2014-07-31",
        *extra,
        url=url,
    )
    assert result.exit_code == 0, result.output


def copy_national(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in names:
        target = folder / f"{name}.xlsx"
        shutil.copy(NATIONAL / f"{name}.xlsx", target)
        copies.append(target)
    return copies


def edited(
    source: Path,
    target: Path,
    *,
    submitted_on: datetime | None = None,
    cells: dict[tuple[str, str], Any] | None = None,
    explanations: list[tuple[str, str | None, str]] | None = None,
) -> Path:
    """A copy of ``source`` as a council would send it again: About's submitted_on, some cells,
    and an Explanations sheet (rule, scope, explanation)."""
    import openpyxl

    book = openpyxl.load_workbook(source)
    about = book["About"]
    if submitted_on is not None:
        for row in about.iter_rows(min_row=2):
            if row[0].value == "submitted_on":
                row[1].value = submitted_on
    for (sheet, cell), value in (cells or {}).items():
        book[sheet][cell] = value
    if explanations:
        sheet = book.create_sheet("Explanations")
        sheet.append(["rule", "scope", "explanation"])
        for rule, scope, text in explanations:
            sheet.append([rule, scope, text])
    target.parent.mkdir(parents=True, exist_ok=True)
    _save(book, target)
    return target


def _save(book: Any, target: Path) -> None:
    """Save byte for byte the same every time (fixed document times and zip member times), so
    a return's SHA-256, and docs/collections.md's worked example, do not change from run to
    run."""
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    from tools.synth.write import FIXED_TIME
    from tools.synth.zips import FixedTimeZipFile

    book.properties.created = book.properties.modified = FIXED_TIME
    with FixedTimeZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).save()


def sqlite_rows(folder: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "ledger.sqlite3") as connection:
        return connection.execute(query).fetchall()


SMALL_COUNCIL = "E06000004"  # Stockton-on-Tees


def shifted(source: Path, target: Path, people: int, **changes: Any) -> Path:
    """A copy of ``source`` with ``people`` moved from no personal budget to council-managed
    budgets (negative: the other way), row by row, keeping every people_total; ``changes``
    as for :func:`edited`."""
    import openpyxl

    book = openpyxl.load_workbook(source)
    sheet = book["Budgets"]
    head = [cell.value for cell in sheet[1]]
    managed, none = head.index("council_managed"), head.index("no_personal_budget")
    source_column, target_column = (none, managed) if people > 0 else (managed, none)
    left = abs(people)
    for row in sheet.iter_rows(min_row=2):
        move = min(left, row[source_column].value or 0)
        row[source_column].value -= move
        row[target_column].value += move
        left -= move
    assert left == 0, "not enough people to move"
    _save(book, target)
    return edited(target, target, **changes) if changes else target


def small_returns(folder: Path) -> dict[str, Path]:
    """Small synthetic returns of one council (quick to write and check) for a collection of
    2012-13 and 2013-14, its 2013-14 raising one query (P001, a personal budget rate up 15.7
    points), as the council sends them:

    before: 2012-13; first: 2013-14; explained: first again (later) with P001 explained on
    its Explanations sheet; plain: first again (later still) with no Explanations sheet;
    changed: 30 more people with a council-managed budget (P001's evidence changes);
    broken: a copy whose people_total disagrees with its budgets (error B003).
    """
    from tools.synth import generate_return, write_xlsx

    folder.mkdir(parents=True, exist_ok=True)
    code = SMALL_COUNCIL
    base = folder / "base-2012-13.xlsx"
    write_xlsx(generate_return(code, "2012-13", seed=1, people=1500), base)
    first = folder / f"{code}-2013-14.xlsx"
    write_xlsx(generate_return(code, "2013-14", seed=1, people=1500), first)
    before = shifted(base, folder / f"{code}-2012-13.xlsx", -300)
    base.unlink()
    text = "We moved 300 people to council-managed budgets after a review of home care."
    return {
        "before": before,
        "first": first,
        "explained": edited(
            first,
            folder / "explained.xlsx",
            submitted_on=datetime(2014, 6, 20),
            explanations=[("P001", None, text)],
        ),
        "plain": edited(first, folder / "again.xlsx", submitted_on=datetime(2014, 6, 25)),
        "changed": shifted(first, folder / "changed.xlsx", 30, submitted_on=datetime(2014, 6, 30)),
        "broken": edited(
            first,
            folder / "broken.xlsx",
            submitted_on=datetime(2014, 7, 5),
            cells={("Budgets", "C2"): 999999},
        ),  # fmt: skip
    }
