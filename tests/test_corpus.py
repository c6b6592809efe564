"""The corpus of real-world oddities: every file gives exactly the findings expected of it.

Committed files live in tests/data/oddities/ with expected.json, both made by
tests/make_corpus.py; hostile files are built here from its ``HOSTILE`` list. Each is
checked through the library and the command line: exact findings, nothing on stderr, no
traceback, and for hostile files a bound on memory. No timings: benchmarks/hostile.py
reports how fast hostile files are refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from returns_kit.cli import main
from returns_kit.rules.catalogue import RULES
from returns_kit.validate import validate_return

from .make_corpus import (
    CASES,
    DATA,
    HOSTILE,
    MAX_COMMITTED_BYTES,
    ODDITIES,
    Hostile,
    base,
    render_readme,
    valid_xlsx,
)

EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (ODDITIES / "expected.json").read_text(encoding="utf-8")
)
_MIB = 1024 * 1024
#: Python allocations while refusing a hostile file that never reaches the reader.
IN_PROCESS_PEAK = 16 * _MIB
#: Growth of a fresh process's peak memory while validating a file that reaches the reader.
CHILD_PEAK_GROWTH = 200 * _MIB


def rows(findings: list[Any]) -> list[list[str | None]]:
    return sorted(([f.rule, f.sheet, f.cell] for f in findings), key=str)


def expected_rows(items: list[list[str | None]]) -> list[list[str | None]]:
    return sorted(items, key=str)


def check_cli(path: Path, want: list[list[str | None]], capfd: pytest.CaptureFixture[str]) -> None:
    """`returns validate PATH --format json`: the same findings, the right exit code, and
    nothing at all on stderr (no traceback, nothing printed by native code)."""
    capfd.readouterr()
    code = main(["validate", str(path), "--format", "json"])
    out, err = capfd.readouterr()
    assert err == ""
    files = json.loads(out)["files"]
    assert len(files) == 1
    found = [[f["rule"], f["sheet"], f["cell"]] for f in files[0]["findings"]]
    assert sorted(found, key=str) == expected_rows(want)
    errors = any(RULES[str(rule)].severity.value == "error" for rule, _, _ in want)
    assert code == (1 if errors else 0)


# --- the corpus accounts for itself ----------------------------------------------------------


def test_expected_json_accounts_for_every_file_and_no_more() -> None:
    on_disk = {path.name for path in ODDITIES.iterdir()} - {"expected.json"}
    assert on_disk == set(EXPECTED)


def test_expected_json_and_readme_are_what_the_generator_writes() -> None:
    assert [item.name for item in CASES] == list(EXPECTED)
    for item in CASES:
        assert (EXPECTED[item.name]["oddity"], EXPECTED[item.name]["why"]) == (
            item.oddity,
            item.why,
        )
    assert (DATA / "README.md").read_text(encoding="utf-8") == render_readme(EXPECTED)


def test_committed_files_are_small() -> None:
    for name in EXPECTED:
        assert (ODDITIES / name).stat().st_size <= MAX_COMMITTED_BYTES, name


def test_hostile_files_are_not_committed() -> None:
    assert not {case.name for case in HOSTILE} & set(EXPECTED)


# --- committed oddities -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_oddity(name: str, capfd: pytest.CaptureFixture[str]) -> None:
    path = ODDITIES / name
    want = EXPECTED[name]["findings"]
    report = validate_return(path).report
    assert rows(report.findings) == expected_rows(want)
    for item in report.findings:
        assert "internal error" not in item.message
    check_cli(path, want, capfd)


# --- hostile files, built here --------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    # Validate once first, so imports and the reference list are not counted against
    # the first hostile file.
    validate_return(valid_xlsx(folder))
    return folder


def _by_kind(*, reaches_reader: bool) -> list[Any]:
    return [
        pytest.param(case, id=case.name)
        for case in HOSTILE
        if case.reaches_reader == reaches_reader and not case.usage_error
    ]


@pytest.mark.slow
@pytest.mark.parametrize("case", _by_kind(reaches_reader=False))
def test_hostile_file_refused_in_little_memory(
    case: Hostile, hostile_folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = case.build(hostile_folder)
    tracemalloc.start()
    try:
        report = validate_return(path).report
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows(report.findings) == expected_rows(case.expected)
    assert peak < IN_PROCESS_PEAK, f"{peak / _MIB:.0f} MiB"
    check_cli(path, case.expected, capfd)


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from returns_kit.validate import validate_return
    validate_return(sys.argv[2])  # imports and reference list first, outside the measure
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = validate_return(sys.argv[1]).report
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = [[f.rule, f.sheet, f.cell] for f in report.findings]
    print(json.dumps({"findings": found, "grown": after - before}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("case", _by_kind(reaches_reader=True))
def test_hostile_grid_in_a_child_process(case: Hostile, hostile_folder: Path) -> None:
    """Run where calamine would abort the whole process if the checks before it let the
    file through: a failure here is then a failed test, not a dead test run."""
    path = case.build(hostile_folder)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(valid_xlsx(hostile_folder))],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    assert done.stderr == ""
    result = json.loads(done.stdout)
    assert sorted(result["findings"], key=str) == expected_rows(case.expected)
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    grown = result["grown"] * (1 if sys.platform == "darwin" else 1024)
    assert grown < CHILD_PEAK_GROWTH, f"{grown / _MIB:.0f} MiB"


def test_a_folder_given_as_a_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (case,) = [case for case in HOSTILE if case.usage_error]
    folder = case.build(tmp_path)
    assert rows(validate_return(folder).report.findings) == expected_rows(case.expected)
    capfd.readouterr()
    code = main(["validate", str(folder), "--format", "json"])
    out, err = capfd.readouterr()
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "folder" in err and "Traceback" not in err


# --- defects the corpus found ----------------------------------------------------------------


def test_blank_rows_under_the_header_are_not_in_the_middle(tmp_path: Path) -> None:
    """merged-header-over-two-rows.xlsx: a blank row between the header and the first data
    row is ignored; one between data rows is still F008."""
    ret = base()
    grid = ret.sheets["Services"]
    width = len(grid[0])
    grid.insert(1, [None] * width)
    grid.insert(1, [" "] * width)  # white space only is blank too
    grid.insert(5, [None] * width)  # sheet row 6, between data rows
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, sheet in ret.sheets.items():
        ws = book.create_sheet(name)
        for row in sheet:
            ws.append(row)
    path = tmp_path / "blank-rows.xlsx"
    book.save(path)
    assert rows(validate_return(path).report.findings) == [["F008", "Services", "A6"]]
