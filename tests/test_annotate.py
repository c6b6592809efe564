"""The annotated copy: findings marked on the council's own workbook, which stays untouched."""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter

from returns_kit.annotate import (
    AUTHOR,
    FILLS,
    FINDINGS_SHEET_ALTERNATIVE,
    HEADER,
    AnnotateError,
    annotate,
)
from returns_kit.findings import Finding, Severity
from returns_kit.report import FileReport
from returns_kit.rules.catalogue import RULES
from returns_kit.validate import validate_file
from returns_kit.wording import place

from .conftest import FIXTURES, libreoffice_convert, pictures_folder

SCREENSHOTS = pictures_folder("annotate")

#: Fixtures with cell findings, sheet-level findings (B002, F006) and none (hartlepool).
#: Westminster's 4,418 clients take openpyxl seconds to open and save, three times over:
#: it runs with the slow tests, and C003 keeps a Clients sheet in the default run.
CASES = [
    "invalid/B003.xlsx",
    "invalid/V001.xlsx",
    "invalid/C003.xlsx",
    "invalid/F007.xlsx",
    "invalid/S005.xlsx",
    "invalid/B002.xlsx",
    "invalid/F006.xlsx",
    pytest.param("valid/westminster-2014-15-clients.xlsx", marks=pytest.mark.slow),
    "valid/hartlepool-2013-14.xlsx",
]


@dataclass
class Annotated:
    source: Path
    report: FileReport
    out: Path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Annotated]:
    """Each case validated and annotated once: the copy is read by several tests."""
    done: dict[str, Annotated] = {}

    def make(name: str) -> Annotated:
        if name not in done:
            source = FIXTURES / name
            before = _digest(source)
            report = validate_file(source)
            out = tmp_path_factory.mktemp("annotated") / f"{source.stem}-annotated.xlsx"
            annotate(source, report, out)
            assert _digest(source) == before, "the source was modified"
            done[name] = Annotated(source, report, out)
        return done[name]

    return make


def _sheet(workbook: Any, name: str | None) -> Any:
    assert name is not None
    matches = [ws for ws in workbook.worksheets if ws.title.strip().casefold() == name.casefold()]
    return matches[0]


def _worst(findings: list[Finding]) -> Severity:
    return min((f.severity for f in findings), key=lambda severity: severity.rank)


@pytest.mark.parametrize("name", CASES)
def test_findings_sheet_lists_the_report(name: str, annotated: Callable[[str], Annotated]) -> None:
    case = annotated(name)
    workbook = openpyxl.load_workbook(case.out)
    source = openpyxl.load_workbook(case.source)
    assert workbook.sheetnames == ["Findings", *source.sheetnames]
    listing = workbook.worksheets[0]
    assert workbook.active is listing
    assert [ws.title for ws in workbook.worksheets if ws.sheet_view.tabSelected] == ["Findings"]
    rows = list(listing.iter_rows(values_only=True))
    assert rows[0] == HEADER
    assert all(cell.font.bold for cell in listing[1])
    assert listing.freeze_panes == "A2"
    assert [[row[1], row[3], row[4]] for row in rows[1:]] == [
        [f.rule, place(f), f.cell] for f in case.report.findings
    ]
    for row, item in zip(rows[1:], case.report.findings, strict=True):
        explained = {None: None, True: "yes", False: "no"}[item.explained]
        assert row == (
            item.severity.value,
            item.rule,
            RULES[item.rule].name,
            place(item),
            item.cell,
            item.message,
            item.scope,
            explained,
        )


@pytest.mark.parametrize("name", CASES)
def test_finding_cells_are_marked_and_linked(
    name: str, annotated: Callable[[str], Annotated]
) -> None:
    case = annotated(name)
    workbook = openpyxl.load_workbook(case.out)
    listing = workbook.worksheets[0]
    for row, item in enumerate(case.report.findings, start=2):
        link = listing.cell(row, 5).hyperlink
        if item.cell is None:
            assert link is None
            continue
        ws = _sheet(workbook, item.sheet)
        cell = ws[item.cell]
        on_cell = [f for f in case.report.findings if f.sheet == item.sheet and f.cell == item.cell]
        assert cell.fill.fill_type == "solid"
        assert cell.fill.fgColor.rgb[-6:] == FILLS[_worst(on_cell)]
        assert cell.comment is not None and cell.comment.author == AUTHOR
        assert f"{item.rule} {RULES[item.rule].name}: {item.message}" in cell.comment.text
        # An internal link to the cell (a location), not an external target.
        assert link is not None and link.target is None
        assert link.location == f"'{ws.title}'!{item.cell}"
        assert listing.cell(row, 5).style == "Hyperlink"


@pytest.mark.parametrize("name", CASES)
def test_the_council_workbook_is_otherwise_unchanged(
    name: str, annotated: Callable[[str], Annotated]
) -> None:
    case = annotated(name)
    source = openpyxl.load_workbook(case.source)
    copy = openpyxl.load_workbook(case.out)
    marked = {(f.sheet.casefold(), f.cell) for f in case.report.findings if f.sheet and f.cell}
    for original in source.worksheets:
        written = copy[original.title]
        assert written.merged_cells.ranges == original.merged_cells.ranges
        rows = max(original.max_row, written.max_row)
        columns = max(original.max_column, written.max_column)
        for row in range(1, rows + 1):
            for column in range(1, columns + 1):
                before, after = original.cell(row, column), written.cell(row, column)
                where = f"{original.title}!{before.coordinate}"
                assert after.value == before.value, where
                assert after.data_type == before.data_type, where
                assert after.number_format == before.number_format, where
                if (original.title.strip().casefold(), before.coordinate) not in marked:
                    # Style proxies compare by identity: compare what they hold.
                    assert repr(after.fill) == repr(before.fill), where
                    assert after.comment == before.comment, where


def test_comment_boxes_fit_their_text(annotated: Callable[[str], Annotated]) -> None:
    case = annotated("invalid/S005.xlsx")
    with zipfile.ZipFile(case.out) as archive:
        vml = [n for n in archive.namelist() if n.endswith(".vml")]
        assert len(vml) == 1
        drawing = archive.read(vml[0]).decode()
    (width, height), *_ = re.findall(r"width:(\d+)px;height:(\d+)px", drawing)
    # openpyxl's default box is 144 x 79 pixels: too small for a message of this length.
    message = case.report.findings[0].message
    assert len(message) > 100
    assert int(width) > 144
    assert (int(width) // 7) * (int(height) // 15) > len(message)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_copy(tmp_path: Path, annotated: Callable[[str], Annotated]) -> None:
    case = annotated("invalid/C003.xlsx")
    result = libreoffice_convert(case.out, "ods", tmp_path)
    assert result.returncode == 0, result.stderr
    converted = tmp_path / f"{case.out.stem}.ods"
    assert converted.is_file()
    with zipfile.ZipFile(converted) as archive:
        content = html.unescape(archive.read("content.xml").decode())
    # The links stay inside the document, and the comments came through.
    assert "xlink:href=\"#'Budgets'.D2\"" in content
    assert "xlink:href=\"#'Budgets'.H2\"" in content
    assert content.count("<office:annotation") == 2
    assert "C003 clients-budgets-differ: dp_self_managed is 0" in content


def test_findings_sheet_reads_message_after_the_link_wrapped(
    annotated: Callable[[str], Annotated],
) -> None:
    """The message follows the link to its cell, wrapped in a column wide enough to read,
    each row as tall as its message's lines, every cell in a named font."""
    case = annotated("invalid/C003.xlsx")
    listing = openpyxl.load_workbook(case.out).worksheets[0]
    heading = [cell.value for cell in listing[1]]
    assert heading.index("message") == heading.index("cell") + 1
    message = get_column_letter(heading.index("message") + 1)
    assert listing.column_dimensions[message].width >= 60
    for row in listing.iter_rows(min_row=2):
        cell = row[heading.index("message")]
        assert cell.alignment.wrap_text
        lines = len(cell.value) // 110 + 1  # at most about 110 characters a line
        assert listing.row_dimensions[cell.row].height >= lines * 12
    for row in listing.iter_rows():
        for cell in row:
            if cell.value is not None:
                assert cell.font.name == "Arial", cell.coordinate
    assert listing.sheet_properties.pageSetUpPr.fitToPage
    assert listing.page_setup.orientation == "landscape"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_the_copy_follows_the_umask(
    umask: int, tmp_path: Path, annotated: Callable[[str], Annotated]
) -> None:
    """Like --html and any file a program makes: 0o666 less the umask, not private 0o600."""
    case = annotated("invalid/C003.xlsx")
    out = tmp_path / "copy.xlsx"
    previous = os.umask(umask)
    try:
        annotate(case.source, case.report, out)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_findings_sheet_printed_by_libreoffice(
    tmp_path: Path, annotated: Callable[[str], Annotated]
) -> None:
    """The copy printed by LibreOffice: every word of every message is on the first pages.
    Screenshots go to test-output/annotate/ for people to look at."""
    case = annotated("invalid/C003.xlsx")
    result = libreoffice_convert(case.out, "pdf", tmp_path)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / f"{case.out.stem}.pdf"
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    printed = set(text.split())
    for item in case.report.findings:
        assert set(item.message.split()) <= printed, item.message
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("annotated-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "80", "-l", "3", "-png", str(pdf), str(SCREENSHOTS / "annotated")],
        check=True,
    )


# --- refusals ---------------------------------------------------------------------------------


def test_refuses_an_ods(tmp_path: Path) -> None:
    source = FIXTURES / "valid/somerset-2023-24.ods"
    with pytest.raises(AnnotateError, match=r"Save it as \.xlsx first"):
        annotate(source, validate_file(source), tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("name", ["invalid/F001.xlsx", "invalid/F002.xlsm", "invalid/F003.xlsx"])
def test_refuses_an_unreadable_file(tmp_path: Path, name: str) -> None:
    source = FIXTURES / name
    with pytest.raises(AnnotateError, match="nothing to annotate"):
        annotate(source, validate_file(source), tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_refuses_an_unreadable_file_whatever_the_report_says(tmp_path: Path) -> None:
    source = FIXTURES / "invalid/F001.xlsx"
    with pytest.raises(AnnotateError, match="F001"):
        annotate(source, FileReport(str(source)), tmp_path / "out.xlsx")


def test_refuses_to_write_over_the_source(tmp_path: Path) -> None:
    source = tmp_path / "return.xlsx"
    shutil.copyfile(FIXTURES / "invalid/B003.xlsx", source)
    before = _digest(source)
    report = validate_file(source)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.xlsx").hardlink_to(source)
    for out in (source, tmp_path / "sub" / ".." / "return.xlsx", tmp_path / "link.xlsx"):
        with pytest.raises(AnnotateError, match="is the workbook being checked"):
            annotate(source, report, out)
    assert _digest(source) == before


@pytest.mark.parametrize(
    ("out", "message"),
    [("out.ods", "name it .xlsx"), ("missing/out.xlsx", "does not exist"), ("dir.xlsx", "folder")],
)
def test_refuses_a_bad_out(tmp_path: Path, out: str, message: str) -> None:
    (tmp_path / "dir.xlsx").mkdir()
    source = FIXTURES / "invalid/B003.xlsx"
    with pytest.raises(AnnotateError, match=message):
        annotate(source, validate_file(source), tmp_path / out)


# --- the workbook as the council wrote it --------------------------------------------------------


ORIGINAL = ["About", "Budgets", "Services"]


def _copy(tmp_path: Path, edit: Callable[[Any], None], name: str = "return.xlsx") -> Path:
    workbook = openpyxl.load_workbook(FIXTURES / "valid/hartlepool-2013-14.xlsx")
    edit(workbook)
    path = tmp_path / name
    workbook.save(path)
    return path


def test_a_sheet_named_differently_gets_the_marks(tmp_path: Path) -> None:
    def edit(workbook: Any) -> None:
        workbook["Budgets"].title = " BUDGETS "
        workbook[" BUDGETS "]["C2"] = "twelve"

    source = _copy(tmp_path, edit)
    report = validate_file(source)
    assert [[f.rule, f.sheet, f.cell] for f in report.findings if f.cell == "C2"] == [
        ["V001", "Budgets", "C2"]
    ]
    annotate(source, report, tmp_path / "out.xlsx")
    copy = openpyxl.load_workbook(tmp_path / "out.xlsx")
    cell = copy[" BUDGETS "]["C2"]
    assert cell.value == "twelve"
    assert cell.fill.fgColor.rgb[-6:] == FILLS[Severity.ERROR]
    assert cell.comment is not None and "V001" in cell.comment.text
    row = next(r for r, f in enumerate(report.findings, start=2) if f.rule == "V001")
    assert copy["Findings"].cell(row, 5).hyperlink.location == "' BUDGETS '!C2"


def test_a_workbook_with_its_own_findings_sheet(tmp_path: Path) -> None:
    def edit(workbook: Any) -> None:
        workbook.create_sheet("findings")["A1"] = "the council's own notes"

    source = _copy(tmp_path, edit)
    report = validate_file(source)
    assert [[f.rule, f.sheet] for f in report.findings] == [["F006", "findings"]]
    annotate(source, report, tmp_path / "out.xlsx")
    copy = openpyxl.load_workbook(tmp_path / "out.xlsx")
    assert copy.sheetnames == [
        FINDINGS_SHEET_ALTERNATIVE,
        "About",
        "Budgets",
        "Services",
        "findings",
    ]
    assert copy["findings"]["A1"].value == "the council's own notes"
    assert copy.active.title == FINDINGS_SHEET_ALTERNATIVE
    assert [c.value for c in copy.active[2]][1:5] == ["F006", "ignored-sheet", "findings", None]


def _synthetic(source: Path, *findings: Finding) -> FileReport:
    return FileReport(str(source), list(findings))


def test_text_is_never_a_formula(tmp_path: Path) -> None:
    source = FIXTURES / "invalid/B003.xlsx"
    message = '=HYPERLINK("http://example.org","click")'
    report = _synthetic(
        source,
        Finding("B003", Severity.ERROR, message, sheet="Budgets", cell="C2"),
        Finding("F006", Severity.INFO, "Sheet \x01 odd", sheet="=1+1"),
    )
    annotate(source, report, tmp_path / "out.xlsx")
    listing = openpyxl.load_workbook(tmp_path / "out.xlsx")["Findings"]
    assert listing["F2"].value == message and listing["F2"].data_type == "s"
    assert listing["D3"].value == "=1+1" and listing["D3"].data_type == "s"
    assert listing["F3"].value == "Sheet \N{REPLACEMENT CHARACTER} odd"
    with zipfile.ZipFile(tmp_path / "out.xlsx") as archive:
        first = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in first and "<f " not in first


def test_several_findings_on_one_cell_share_a_comment(tmp_path: Path) -> None:
    def edit(workbook: Any) -> None:
        workbook["Budgets"]["C2"].comment = Comment("Checked with finance.", "Officer")

    source = _copy(tmp_path, edit)
    report = _synthetic(
        source,
        Finding("A003", Severity.WARNING, "First.", sheet="Budgets", cell="C2"),
        Finding("B003", Severity.ERROR, "Second.", sheet="Budgets", cell="C2"),
    )
    annotate(source, report, tmp_path / "out.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "out.xlsx")["Budgets"]["C2"]
    assert cell.fill.fgColor.rgb[-6:] == FILLS[Severity.ERROR]
    text = cell.comment.text
    assert text.index("A003 council-name-differs: First.") < text.index("B003 budgets-sum: Second.")
    assert "Checked with finance." in text


def test_a_merged_cell_is_marked_at_its_top_left(tmp_path: Path) -> None:
    source = _copy(tmp_path, lambda workbook: workbook["About"].merge_cells("B2:C2"))
    report = _synthetic(source, Finding("A001", Severity.ERROR, "Bad.", sheet="About", cell="C2"))
    annotate(source, report, tmp_path / "out.xlsx")
    about = openpyxl.load_workbook(tmp_path / "out.xlsx")["About"]
    assert about["B2"].comment is not None and "A001" in about["B2"].comment.text


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = FIXTURES / "invalid/B003.xlsx"
    report = validate_file(source)
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous copy")

    def broken_save(self: Any, filename: str | Path) -> None:
        Path(filename).write_bytes(b"PK half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(AnnotateError, match="could not be written"):
        annotate(source, report, out)
    assert out.read_bytes() == b"previous copy"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]
