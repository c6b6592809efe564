"""Every limit of docs/limits.md at its edge: a return exactly at a limit is checked as usual,
and one unit over is refused with F003 and nothing else.

Every limit is a field of :class:`Limits`: a small override puts a real return at the edge
(``validate_return(path, limits=...)``), so no test needs a 50 MB file. The row limit is also
tested at its real value (1,048,576) through an .ods whose rows repeat and an .xlsx that names
a row beyond it.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from returns_kit.config import Limits
from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding
from returns_kit.validate import validate_return
from returns_kit.workbook.container import inspect_container
from returns_kit.workbook.reader import RawSheet, WorkbookReader
from tools.synth import generate_return, write_ods, write_xlsx

EXPLANATION = ("S005", "HOME_CARE/BLOCK_CONTRACT", "The block contract's rate was set in 2012.")


def _return(folder: Path, name: str = "return.xlsx") -> Path:
    ret = generate_return("E06000001", "2015-16", seed=3, people=40, with_clients=True)
    path = folder / name
    write_xlsx(ret, path)
    return path


def _found(path: Path, limits: Limits | None = None) -> list[tuple[str, str | None]]:
    return [(f.rule, f.sheet) for f in validate_return(path, limits=limits).report.findings]


def _refusal(path: Path, limits: Limits) -> Finding:
    report = validate_return(path, limits=limits).report
    assert [(f.rule, f.sheet) for f in report.findings][:1] == [("F003", None)]
    assert len(report.findings) == 1
    return report.findings[0]


def test_a_valid_return_passes_under_the_default_limits(tmp_path: Path) -> None:
    assert _found(_return(tmp_path)) == []


def test_file_size_at_its_edge(tmp_path: Path) -> None:
    path = _return(tmp_path)
    size = path.stat().st_size
    assert _found(path, Limits(max_file_bytes=size)) == []
    refused = _refusal(path, Limits(max_file_bytes=size - 1))
    # Both sizes are rounded to 0.1 KB in the message, so at the edge they read alike; its
    # params tell them apart, to the byte.
    assert refused.message.startswith("The file is ")
    assert " limit for a return." in refused.message
    assert refused.params == {"file_bytes": size, "max_file_bytes": size - 1}


@pytest.mark.parametrize(
    ("size", "limit", "shown"),
    [
        (62_914_683, 52_428_800, "60 MB, over the 50 MB"),
        (5 * 1024**3, 52_428_800, "5 GB, over the 50 MB"),
        (1536, 1023, "1.5 KB, over the 1,023 bytes"),
        (1024, 1000, "1 KB, over the 1,000 bytes"),
    ],
)
def test_a_size_is_shown_in_the_largest_binary_unit_it_reaches(
    size: int, limit: int, shown: str
) -> None:
    # The params hold bytes; the message rounds them to one place in KB, MB or GB.
    refused = finding("F003", {"file_bytes": size, "max_file_bytes": limit}, variant="file_size")
    assert refused.message.startswith(f"The file is {shown} limit for a return. Remove sheets")


def test_uncompressed_size_at_its_edge(tmp_path: Path) -> None:
    path = _return(tmp_path)
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    assert _found(path, Limits(max_uncompressed_bytes=total)) == []
    refused = _refusal(path, Limits(max_uncompressed_bytes=total - 1))
    assert "once opened" in refused.message and "limit" in refused.message
    assert refused.params == {"declared_bytes": total, "max_uncompressed_bytes": total - 1}


def test_members_at_their_edge(tmp_path: Path) -> None:
    path = _return(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = len(archive.infolist())
    assert _found(path, Limits(max_members=members)) == []
    refused = _refusal(path, Limits(max_members=members - 1))
    assert f"more than {members - 1:,} internal parts" in refused.message
    assert refused.params == {"max_members": members - 1}


def _with_notes(path: Path, cells: dict[str, int]) -> Path:
    """The return at ``path`` plus a "Notes" sheet (not part of the return) holding ``cells``."""
    book = openpyxl.load_workbook(path)
    notes = book.create_sheet("Notes")
    for ref, value in cells.items():
        notes[ref] = value
    out = path.with_name("with-notes.xlsx")
    book.save(out)
    return out


def test_sheet_cells_at_their_edge(tmp_path: Path) -> None:
    # A1 to B1000000: 2 columns by 1,000,000 rows, 2,000,000 cells. The sheet is not part of
    # the return, so at the limit it is only noted as ignored (and never read).
    path = _with_notes(_return(tmp_path), {"A1": 1, "B1000000": 2})
    assert _found(path, Limits(max_sheet_cells=2_000_000)) == [("F006", "Notes")]
    refused = _refusal(path, Limits(max_sheet_cells=1_999_999))
    assert 'Sheet "Notes" spans 1,000,000 rows by 2 columns, 2,000,000 cells' in refused.message
    assert "over the limit of 1,999,999" in refused.message
    assert refused.params == {
        "sheet_name": "Notes",
        "row_count": 1_000_000,
        "column_count": 2,
        "cell_count": 2_000_000,
        "max_sheet_cells": 1_999_999,
    }


def _sheet(tmp_path: Path, cells: dict[str, int], name: str = "extent.xlsx") -> Path:
    book = openpyxl.Workbook()
    for ref, value in cells.items():
        book.active[ref] = value
    path = tmp_path / name
    book.save(path)
    return path


def test_sheet_cells_at_the_default_limit(tmp_path: Path) -> None:
    # 20 columns (A to T) by 1,000,000 rows is exactly 20,000,000 cells; a row more is over.
    assert Limits().max_sheet_cells == 20_000_000
    at_limit = inspect_container(_sheet(tmp_path, {"A1": 1, "T1000000": 2}, "at.xlsx"))
    assert (at_limit.kind, at_limit.findings) == ("xlsx", [])
    over = inspect_container(_sheet(tmp_path, {"A1": 1, "T1000001": 2}, "over.xlsx"))
    assert over.kind is None and [f.rule for f in over.findings] == ["F003"]
    assert "20,000,020 cells" in over.findings[0].message


def test_a_sheet_over_the_cell_limit_without_far_references_is_refused(tmp_path: Path) -> None:
    # Single-letter columns and six-digit rows, yet 26 by 999,999 is 25,999,974 cells.
    result = inspect_container(_sheet(tmp_path, {"A1": 1, "Z999999": 2}))
    assert [f.rule for f in result.findings] == ["F003"]
    assert "25,999,974 cells" in result.findings[0].message


def test_a_lowered_cell_limit_applies_to_small_sheets(tmp_path: Path) -> None:
    # A1 to J100 is 1,000 cells: nothing about it is far, only the limit is low.
    path = _sheet(tmp_path, {"A1": 1, "J100": 2})
    assert inspect_container(path, Limits(max_sheet_cells=1000)).findings == []
    over = inspect_container(path, Limits(max_sheet_cells=999))
    assert [f.rule for f in over.findings] == ["F003"]
    assert "100 rows by 10 columns, 1,000 cells" in over.findings[0].message


# --- rows in a sheet --------------------------------------------------------------------------


def test_rows_at_their_edge(tmp_path: Path) -> None:
    ret = generate_return("E06000001", "2015-16", seed=3, people=40)
    path = tmp_path / "return.xlsx"
    write_xlsx(ret, path)
    tallest = max(len(grid) for grid in ret.sheets.values())
    assert _found(path, Limits(max_rows=tallest)) == []
    report = validate_return(path, limits=Limits(max_rows=tallest - 1)).report
    over = sorted(name for name, grid in ret.sheets.items() if len(grid) == tallest)
    assert sorted((f.rule, f.sheet) for f in report.findings) == [("F003", s) for s in over]
    assert (
        f"has {tallest:,} rows, more than the limit of {tallest - 1:,}"
        in report.findings[0].message
    )
    assert report.findings[0].params == {
        "sheet_name": over[0],
        "row_count": tallest,
        "max_rows": tallest - 1,
    }


_EXPLANATION_ROW = re.compile(
    r"<table:table-row>(?:(?!</table:table-row>).)*S005.*?</table:table-row>"
)


def _ods_with_rows(tmp_path: Path, rows: int) -> Path:
    """A return whose Explanations sheet has ``rows`` rows in all: the header, one explanation
    repeated (table:number-rows-repeated) and a last, different one."""
    ret = generate_return("E06000001", "2015-16", seed=3, people=40, explanations=[EXPLANATION])
    source = tmp_path / "source.ods"
    write_ods(ret, source)
    with zipfile.ZipFile(source) as archive:
        content = archive.read("content.xml").decode()
        row = _EXPLANATION_ROW.findall(content)[-1]
        repeated = row.replace(
            "<table:table-row>", f'<table:table-row table:number-rows-repeated="{rows - 2}">'
        )
        # calamine stops a repeat at the last row a sheet may have, but not a distinct row.
        content = content.replace(row, repeated + row.replace("S005", "P001"))
        path = tmp_path / f"rows-{rows}.ods"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for info in archive.infolist():
                data = content.encode() if info.filename == "content.xml" else archive.read(info)
                out.writestr(info, data)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.slow
def test_ods_rows_at_the_real_limit(tmp_path: Path) -> None:
    max_rows = Limits().max_rows
    assert max_rows == 1_048_576
    reader = WorkbookReader.open(_ods_with_rows(tmp_path, max_rows))
    assert isinstance(reader, WorkbookReader)
    sheet = reader.read("Explanations")
    assert isinstance(sheet, RawSheet) and sheet.frame.height == max_rows
    report = validate_return(_ods_with_rows(tmp_path, max_rows + 1)).report
    assert [(f.rule, f.sheet) for f in report.findings] == [("F003", "Explanations")]
    assert "has 1,048,577 rows, more than the limit of 1,048,576" in report.findings[0].message


def test_xlsx_row_beyond_the_last_is_refused(tmp_path: Path) -> None:
    at_limit = _sheet(tmp_path, {"A1": 1, "A1048576": 2})
    assert inspect_container(at_limit).findings == []
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(at_limit) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[part] = (
        members[part].replace(b'"1048576"', b'"1048577"').replace(b'r="A1048576"', b'r="A1048577"')
    )
    over = tmp_path / "over.xlsx"
    with zipfile.ZipFile(over, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = inspect_container(over)
    assert result.kind is None and [f.rule for f in result.findings] == ["F003"]
    assert "1,048,577 rows" in result.findings[0].message
