"""Shared test helpers: paths to the shipped fixtures and a CLI runner."""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def pictures_folder(kind: str) -> Path:
    """Where the tests keep pictures for people to look at: test-output/<kind>, or under
    $RETURNS_KIT_TEST_OUTPUT."""
    return Path(os.environ.get("RETURNS_KIT_TEST_OUTPUT", ROOT / "test-output")) / kind


def expected_findings() -> dict[str, list[list[str | None]]]:
    """fixtures/expected.json: per fixture, the [rule, sheet, cell] findings planted in it."""
    expected: dict[str, list[list[str | None]]] = json.loads(
        (FIXTURES / "expected.json").read_text("utf-8")
    )
    return expected


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def libreoffice_convert(source: Path, fmt: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    """Convert ``source`` to ``fmt`` with headless LibreOffice, in a profile of its own so that
    parallel or repeated runs never share state."""
    return subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{outdir}/lo-profile",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


NATIONAL = FIXTURES / "national"
#: False when tests/test_ci_harness.py runs a copy of this file in a folder of its own: the
#: hooks below that set up the repository's run then leave it alone.
IN_THE_REPOSITORY = (ROOT / "returns_kit").is_dir()

#: Property tests (hypothesis) and fuzz runs try a quarter of their examples in the default
#: run; the slow pass of .ci/run sets RETURNS_KIT_HYPOTHESIS=full and runs them again,
#: picked by their ``full_examples`` mark, with every example.
FULL_EXAMPLES = os.environ.get("RETURNS_KIT_HYPOTHESIS") == "full"


def examples(full: int) -> int:
    """How many examples a property test or fuzz run tries: ``full`` in the slow pass, a
    quarter of it (at least 10) in the default run."""
    return full if FULL_EXAMPLES else max(10, full // 4)


@pytest.fixture(scope="session")
def national_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """README's main job, once a session: aggregate the national example (with report.html).

    Once for the whole session, not once per pytest-xdist worker: the first worker to need
    it runs it under a lock in the folder the workers share, and the others read its
    outputs (the longest fixture of the suite, otherwise run on both cores).
    """
    import fcntl

    import polars as pl

    from returns_kit.cli import main

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "national-run"
    with open(shared / "national-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = root / "code.json"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # a worker that died halfway
            root.mkdir()
            args = ["aggregate", str(NATIONAL), "--out", str(root / "out")]
            code = main([*args, "--cache-dir", str(root / "c"), "--quiet"])
            done.write_text(json.dumps(code))
        code = json.loads(done.read_text())
    out = root / "out"
    tables = {p.stem: pl.read_csv(p, infer_schema_length=None) for p in out.glob("*.csv")}
    return {"code": code, "out": out, "root": root, "tables": tables}


def pytest_configure(config: pytest.Config) -> None:
    """Bytecode is kept for the run, even where PYTHONDONTWRITEBYTECODE is set (as on some
    shared machines and CI runners): otherwise each worker rewrites every test module's
    asserts again (about 3 s) and each of the run's few hundred `returns` processes compiles
    returns_kit again (about 0.1 s each). The __pycache__ folders are git-ignored."""
    if not IN_THE_REPOSITORY:
        return
    sys.dont_write_bytecode = False  # read by pytest's assertion rewriting as each module loads
    for package in ("returns_kit", "tools"):
        compileall.compile_dir(ROOT / package, quiet=2)


@pytest.fixture(scope="session", autouse=True)
def ledgers_from_a_template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """New SQLite ledgers made in this process are copies of one migrated once per worker
    (tests/ledger_template.py says why and when a ledger is still migrated for real)."""
    if not IN_THE_REPOSITORY:
        yield
        return
    from returns_kit.ledger import db
    from tests.ledger_template import migrate_from

    template = tmp_path_factory.getbasetemp() / "ledger-template.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db, "migrate", migrate_from(template, db.migrate))
        yield


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reads the national example's run (README's main job: 608 returns
    aggregated with report.html, about 20 s) is in the slow pass. The default run checks the
    aggregate on the fixtures' smaller sets."""
    for item in items:
        if "national_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under RETURNS_KIT_REQUIRE_COMPONENTS=1 (set by .ci/run) a test that skips because a real
    component (LibreOffice, Chromium, PostgreSQL, an optional extra) is missing fails instead:
    CI must exercise them all, and a quiet skip would pass a run that tested nothing of them."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or os.environ.get("RETURNS_KIT_REQUIRE_COMPONENTS") != "1":
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    if any(word in reason.lower() for word in _COMPONENT_WORDS):
        report.outcome = "failed"
        report.longrepr = f"required component missing in CI: {reason}"


#: Words in a skip reason that mean a component is missing rather than a test not applying.
_COMPONENT_WORDS = ("not installed", "not found", "could not import", "no module named")
