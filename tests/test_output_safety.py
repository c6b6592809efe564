"""Hostile text in a return (file names, sheet names, cell text) is inert in every output.

The returns come from ``tests/hostile_returns.py``, which says which text a council controls
and where it travels. Each test first checks that the hostile text did reach the output it
examines, so that none passes for want of anything to neutralise.

* ``returns aggregate``: no text cell of any CSV can start a formula (those that would start
  with ``=``, ``+``, ``-``, ``@``, tab or carriage return begin with ``'``), and every text
  cell of tables.xlsx is a string cell, never a formula.
* ``returns validate``: ``--format json`` is valid JSON that keeps the text exactly;
  ``--format junit`` is well-formed XML with the text escaped; ``--format github`` keeps one
  workflow command a line with ``%``, carriage return and line feed escaped; ``--annotate``
  writes a copy in which no cell is a formula.

The HTML outputs are tested with the same returns elsewhere.
"""

from __future__ import annotations

import contextlib
import csv
import html
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner

from returns_kit.cli import cli

from .hostile_returns import FORMULA_STARTS, SCRIPT, Hostile, write_hostile_returns


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Hostile]]:
    folder = tmp_path_factory.mktemp("hostile")
    return folder, write_hostile_returns(folder)


@pytest.fixture(scope="module")
def aggregated(hostile: tuple[Path, list[Hostile]]) -> Path:
    folder, returns = hostile
    # Named one by one from inside the folder, so that each path in the tables is the file
    # name itself and starts with its hostile characters.
    with contextlib.chdir(folder):
        names = [item.file_name for item in returns]
        result = CliRunner().invoke(
            cli, ["aggregate", "--out", "out", "--no-report", "--no-cache", "--", *names]
        )
    assert result.exit_code == 1, result.output  # one return has errors, so is excluded
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return folder / "out"


def _csv_cells(path: Path) -> Iterator[tuple[str, str]]:
    """(column, cell) of every text column of a table's CSV, heading included."""
    text_columns = {
        name
        for name, dtype in pl.read_parquet_schema(path.with_suffix(".parquet")).items()
        if dtype == pl.String
    }
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for name in rows[0]:
        yield "(heading)", name
    for row in rows[1:]:
        for name, cell in zip(rows[0], row, strict=True):
            if name in text_columns:
                yield name, cell


def test_the_hostile_text_reaches_the_tables(
    aggregated: Path, hostile: tuple[Path, list[Hostile]]
) -> None:
    manifest = pl.read_parquet(aggregated / "manifest.parquet")
    assert {item.file_name for item in hostile[1]} <= set(manifest["path"])
    findings = pl.read_parquet(aggregated / "findings.parquet")
    sheets = set(findings["sheet"].drop_nulls())
    assert {name for item in hostile[1] for name in item.extra_sheets} <= sheets
    assert findings["message"].str.contains(SCRIPT, literal=True).any()


def test_no_csv_cell_can_be_a_formula(aggregated: Path) -> None:
    tables = sorted(aggregated.glob("*.csv"))
    assert {path.stem for path in tables} >= {"manifest", "findings", "councils"}
    neutralised = 0
    for path in tables:
        for column, cell in _csv_cells(path):
            assert not cell.startswith(FORMULA_STARTS), (path.name, column, cell)
            if cell[:1] == "'" and cell[1:].startswith(FORMULA_STARTS):
                neutralised += 1
    assert neutralised >= 12  # six file names twice over, and the sheet names


def test_csv_keeps_the_text_after_the_quote(aggregated: Path) -> None:
    findings = {
        cell for column, cell in _csv_cells(aggregated / "findings.csv") if column == "sheet"
    }
    assert {"'=1+2", "'\t=1+2", "'\r=1+2", SCRIPT, "line one\nline two"} <= findings


def _texts_with_no_formula(book: openpyxl.Workbook) -> set[str]:
    """Every text in the workbook, asserting on the way that no cell is a formula and every
    text is a plain string cell."""
    texts = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate)
                    texts.add(cell.value)
    return texts


def test_tables_xlsx_text_is_never_a_formula(aggregated: Path) -> None:
    book = openpyxl.load_workbook(aggregated / "tables.xlsx")  # formulas, not their results
    texts = _texts_with_no_formula(book)
    # The hostile text is there as it was written, as plain strings.
    assert {"=1+2", "+SUM(1,2)", "-2+3", "@SUM(A1)", SCRIPT} <= texts
    assert "=1+2 E06000001.xlsx" in texts
    with zipfile.ZipFile(aggregated / "tables.xlsx") as archive:
        for name in archive.namelist():
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name


# --- returns validate ------------------------------------------------------------------------


def _validate(paths: list[Path], *options: str) -> str:
    result = CliRunner().invoke(cli, ["validate", *options, "--", *map(str, paths)])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def _paths(hostile: tuple[Path, list[Hostile]]) -> list[Path]:
    folder, returns = hostile
    return [folder / item.file_name for item in returns]


def test_json_is_valid_and_keeps_the_text(hostile: tuple[Path, list[Hostile]]) -> None:
    document = json.loads(_validate(_paths(hostile), "--format", "json"))
    files = {item["path"] for item in document["files"]}
    assert {str(path) for path in _paths(hostile)} == files
    sheets = {f["sheet"] for item in document["files"] for f in item["findings"]}
    assert {name for item in hostile[1] for name in item.extra_sheets} <= sheets
    messages = {f["message"] for item in document["files"] for f in item["findings"]}
    assert (
        f'council_name "{SCRIPT}" differs from the reference name "Middlesbrough" for E06000002.'
        in messages
    )


def test_junit_is_well_formed_with_the_text_escaped(hostile: tuple[Path, list[Hostile]]) -> None:
    output = _validate(_paths(hostile), "--format", "junit")
    assert SCRIPT not in output and "<b>bold</b>" not in output
    root = ElementTree.fromstring(output)
    suites = {suite.get("name") for suite in root.iter("testsuite")}
    assert {str(path) for path in _paths(hostile)} == suites
    text = "\n".join(
        [
            *(element.text or "" for element in root.iter()),
            *(v for e in root.iter() for v in e.attrib.values()),
        ]
    )
    assert SCRIPT in text and "\"quoted\", 'single' & <b>bold</b>" in text
    assert 'people_total "=1+2" is not a whole number' in text


def test_junit_is_well_formed_when_a_cell_holds_control_characters(tmp_path: Path) -> None:
    from tools.synth import generate_return, write_xlsx

    ret = generate_return("E06000001", "2015-16", seed=1, people=20)
    ret.sheets["Budgets"][1][2] = "MARKER"
    source = tmp_path / "source.xlsx"
    write_xlsx(ret, source)
    path = tmp_path / "controls.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info).replace(b"MARKER", b"a_x0001_b_x000B_c"))
    junit = ElementTree.fromstring(_validate([path], "--format", "junit"))
    messages = " ".join(failure.get("message", "") for failure in junit.iter("failure"))
    assert '"a\\x01b\\x0bc"' in messages  # shown, not dropped: the officer can find it
    assert "\x01" not in _validate([path], "--format", "text")


_COMMAND = re.compile(r"^::(error|warning|notice) file=([^,:]*),title=([^,:]*)::(.*)$")


def _unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def test_github_commands_escape_the_text(hostile: tuple[Path, list[Hostile]]) -> None:
    output = _validate(_paths(hostile), "--format", "github")
    assert "\r" not in output
    lines = output.strip("\n").split("\n")
    messages, files = [], set()
    for line in lines:
        match = _COMMAND.match(line)
        assert match, line
        assert not re.search(r"%(?!25|0D|0A|3A|2C)", line), line
        files.add(_unescape(match[2]))
        messages.append(_unescape(match[4]))
    clean = {"\tE06000005.xlsx", '\r"a,b:c%0A" E06000006.xlsx'}  # no findings, no commands
    assert files == {str(hostile[0] / item.file_name) for item in hostile[1]} - {
        str(hostile[0] / name) for name in clean
    }
    assert 'Sheet "line one\nline two" is not part of the return' in "\n".join(messages)
    assert 'Sheet "\r=1+2" is not part' in "\n".join(messages)
    assert "100%25 %250A::error::injected" in output  # the % of the text escaped too


@pytest.mark.parametrize("name", ["@SUM(A1) E06000004.xlsx", "=1+2 E06000001.xlsx"])
def test_annotated_copy_holds_no_formula(
    hostile: tuple[Path, list[Hostile]], tmp_path: Path, name: str
) -> None:
    source = hostile[0] / name
    out = tmp_path / "checked.xlsx"
    _validate([source], "--annotate", str(out))
    book = openpyxl.load_workbook(out)
    _texts_with_no_formula(book)
    findings = book.worksheets[0]
    assert findings.title == "Findings"
    listed = {cell.value for row in findings.iter_rows(min_row=2) for cell in row}
    if name.startswith("@"):
        assert book["Budgets"]["C2"].value == "=1+2" and book["Budgets"]["C2"].data_type == "s"
        assert 'people_total "=1+2" is not a whole number (such as 1234 or 1,234).' in listed
    else:
        assert {"=1+2", "+SUM(1,2)", "-2+3", "@SUM(A1)"} <= listed  # the sheet column


# --- HTML: the aggregate's report.html and validate --html -----------------------------------


def _assert_inert_html(page: str) -> None:
    """Every hostile text is escaped: no element, script or fetch came from a workbook."""
    from tests.test_report_html import fetches_nothing

    fetches_nothing(page)
    assert SCRIPT not in page


def test_report_html_escapes_hostile_file_names(hostile: tuple[Path, list[Hostile]]) -> None:
    folder, returns = hostile
    with contextlib.chdir(folder):
        names = [item.file_name for item in returns]
        result = CliRunner().invoke(
            cli, ["aggregate", "--out", "html-out", "--no-cache", "--", *names]
        )
    assert result.exit_code == 1, result.output
    page = (folder / "html-out" / "report.html").read_text("utf-8")
    _assert_inert_html(page)
    # The excluded return is listed by its (hostile) file name, escaped as text.
    excluded = [item for item in returns if item.has_error]
    assert excluded
    for item in excluded:
        assert (
            html.escape(item.file_name, quote=True) in page
            or html.escape(item.file_name, quote=False) in page
        )


def test_validate_html_escapes_every_hostile_return(
    hostile: tuple[Path, list[Hostile]], tmp_path: Path
) -> None:
    folder, returns = hostile
    for number, item in enumerate(returns):
        out = tmp_path / f"page-{number}.html"
        result = CliRunner().invoke(
            cli, ["validate", str(folder / item.file_name), "--html", str(out)]
        )
        assert result.exit_code in (0, 1), result.output
        page = out.read_text("utf-8")
        _assert_inert_html(page)
        for sheet in item.extra_sheets:
            # Hostile sheet names reach the page (F006) only as escaped text.
            assert sheet not in page or html.escape(sheet) == sheet
