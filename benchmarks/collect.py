"""Time a collection: 334 submissions into the ledger, then `collect status`, then
`aggregate --collection` against `aggregate` over the same current files.

A report, not a test: it prints wall time and peak memory per step, and asserts nothing.

    python benchmarks/collect.py                          # SQLite
    python benchmarks/collect.py --postgres URL           # and PostgreSQL (a server URL; a
                                                          # new database is made and dropped)

The collection is the shipped national example's 2012-13 and 2013-14: 152 councils x 2
periods, 304 returns, every council submitting once; 30 of them send a 2013-14 return a
second time: 20 a later resubmission (submitted_on a month on), 10 a first version with an
error (B003: people_total disagrees) followed by the correct one. 334 files:

  submit-1  `collect submit` of the 304 first files (the 10 with errors among them)
  submit-2  `collect submit` of the 30 that follow (20 resubmissions, 10 corrections)
  status    `collect status` (text), then --format csv
  aggregate `aggregate --collection DIR` (the ledger's cache, filled as files arrived) and
            with --no-cache; against `aggregate FOLDER --no-cache` over copies of the same
            304 current returns

Each step runs in a fresh process; peak memory is the largest process's maximum RSS and CPU
time the process's own with its children's, both without the validation workers (a fork
server starts and reaps them, out of sight of rusage). Edited returns are made once, under
benchmarks/.cache/collect/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache" / "collect"
NATIONAL = REPO / "fixtures" / "national"
PERIODS = ("2012-13", "2013-14")
#: councils whose returns carry a large Clients sheet: left out of the resubmitters, whose
#: files are edited with openpyxl
LARGE = ("E10000027", "E08000035")

sys.path.insert(0, str(REPO))


def _edit(source: Path, target: Path, submitted_on: datetime, cells: dict[str, int]) -> None:
    import openpyxl

    book = openpyxl.load_workbook(source)
    for row in book["About"].iter_rows(min_row=2):
        if row[0].value == "submitted_on":
            row[1].value = submitted_on
    for cell, value in cells.items():
        book["Budgets"][cell] = value
    book.save(target)


def ensure_files() -> tuple[list[Path], list[Path], list[Path]]:
    """(first batch, second batch, the current returns), made once."""
    firsts = sorted(p for p in NATIONAL.glob("*.xlsx") if p.stem[-7:] in PERIODS)
    resubmitters = [p for p in firsts if p.stem.endswith("2013-14") and p.stem[:9] not in LARGE][
        :30
    ]
    later, broken = resubmitters[:20], resubmitters[20:]
    CACHE.mkdir(parents=True, exist_ok=True)
    second: list[Path] = []
    errored: dict[Path, Path] = {}
    for path in later:
        target = CACHE / f"{path.stem}-resubmitted.xlsx"
        if not target.exists():
            _edit(path, target, datetime(2014, 7, 15), {})
        second.append(target)
    for path in broken:
        target = CACHE / f"{path.stem}-with-error.xlsx"
        if not target.exists():
            _edit(path, target, datetime(2014, 6, 1), {"C2": 999_999})
        errored[path] = target
        second.append(path)  # the correction: the shipped return
    first = [errored.get(path, path) for path in firsts]
    current = [p for p in firsts if p not in later] + second[:20]
    return first, second, current


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds of every process, peak MiB of the largest process, exit
    status) of ``command`` in a fresh process tree. On a shared machine the CPU time is the
    steadier figure: the wall time also counts waiting for the cores. Both the CPU time and
    the peak leave out the validation workers, which a fork server starts and reaps."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    seconds, cpu, kib, code = done.stdout.split()
    return float(seconds), float(cpu), int(kib) / 1024, int(code)


def new_postgres_database(server: str) -> tuple[str, str]:
    import psycopg

    name = f"bench_collect_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}")), name


def drop_postgres_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench(backend: str, url: str | None, work: Path) -> list[tuple[str, float, float, float, int]]:
    first, second, current = ensure_files()
    folder = work / f"collection-{backend}"
    returns = [sys.executable, "-m", "returns_kit"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(work / "xdg")}
    env.pop("RETURNS_DATABASE_URL", None)
    if url:
        env["RETURNS_DATABASE_URL"] = url
    rows = []

    def step(label: str, *args: str) -> None:
        rows.append((label, *run([*returns, *args], env)))

    step("init", "collect", "init", str(folder), "--name", f"bench {backend}",
         "--periods", ",".join(PERIODS))  # fmt: skip
    step(f"submit-1 ({len(first)} files)", "collect", "submit", str(folder), *map(str, first))
    step(f"submit-2 ({len(second)} files)", "collect", "submit", str(folder), *map(str, second))
    step("status", "collect", "status", str(folder))
    step("status --format csv", "collect", "status", str(folder), "--format", "csv")
    step("aggregate --collection", "aggregate", "--collection", str(folder),
         "--out", str(work / f"out-{backend}"), "--no-report", "--quiet")  # fmt: skip
    step("aggregate --collection --no-cache", "aggregate", "--collection", str(folder),
         "--out", str(work / f"out-{backend}-cold"), "--no-report", "--quiet",
         "--no-cache")  # fmt: skip
    plain = work / "current"
    if not plain.exists():
        plain.mkdir()
        for path in current:
            shutil.copy(path, plain / path.name)
    step(f"aggregate FOLDER --no-cache ({len(current)} files)", "aggregate", str(plain),
         "--out", str(work / f"plain-{backend}"), "--no-report", "--quiet",
         "--no-cache")  # fmt: skip
    # The same with a warm cache, as aggregate --collection has (its cache was filled by
    # submit): the like-for-like comparison.
    warm = ["aggregate", str(plain), "--out", str(work / f"plain-{backend}"), "--no-report",
            "--quiet", "--cache-dir", str(work / f"cache-{backend}")]  # fmt: skip
    run([*returns, *warm], env)
    step("aggregate FOLDER, warm cache", *warm)
    step("collect log --verify", "collect", "log", str(folder), "--verify")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("RETURNS_KIT_TEST_POSTGRES_URL"),
        help="a PostgreSQL server database to make a scratch database in "
        "(default: $RETURNS_KIT_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--sqlite-only", action="store_true")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        work = Path(tmp)
        results = {"SQLite": bench("sqlite", None, work)}
        if options.postgres and not options.sqlite_only:
            url, name = new_postgres_database(options.postgres)
            try:
                results["PostgreSQL"] = bench("postgresql", url, work)
            finally:
                drop_postgres_database(options.postgres, name)
    for backend, rows in results.items():
        print(f"\n{backend}")
        print(f"  {'step':<44} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9} {'exit':>5}")
        for label, seconds, cpu, mib, code in rows:
            print(f"  {label:<44} {seconds:>7.2f} {cpu:>7.2f} {mib:>9.0f} {code:>5}")


if __name__ == "__main__":
    main()
