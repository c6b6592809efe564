"""tables.xlsx, written by returns_kit's own writer, reads back exactly in other programs."""

from __future__ import annotations

import math
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from returns_kit.aggregate.write import write_workbook
from returns_kit.aggregate.xlsx import MAX_WIDTH, write_tables

from .conftest import examples, libreoffice_convert

TABLE = pl.DataFrame(
    {
        "name": ["Somerset", '=HYPERLINK("x")', "A & B <c>", None, "tab\there", "\x01ctl"],
        "count": [1, None, 3, 4, 5, 6],
        "pb_rate": [0.5, 0.25, None, 1.0, 0.0, math.inf],
        "included": [True, False, None, True, True, False],
    }
)


def test_openpyxl_reads_back_every_value(tmp_path: Path) -> None:
    path = tmp_path / "tables.xlsx"
    write_tables({"councils": TABLE, "empty": TABLE.clear()}, path, lambda c: c == "pb_rate")
    book = openpyxl.load_workbook(path)
    sheet = book["councils"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(TABLE.columns)
    assert [r[0] for r in rows[1:]] == [
        "Somerset",
        '=HYPERLINK("x")',
        "A & B <c>",
        None,
        "tab\there",
        "ctl",
    ]
    assert sheet["A3"].data_type == "s"  # text that looks like a formula stays text
    assert [r[1] for r in rows[1:]] == [1, None, 3, 4, 5, 6]
    assert [r[2] for r in rows[1:]] == [0.5, 0.25, None, 1.0, 0.0, None]  # no infinity in xlsx
    assert [r[3] for r in rows[1:]] == [True, False, None, True, True, False]
    assert sheet["C2"].number_format == "0.0%" and sheet["B2"].number_format == "General"
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert list(book["empty"].iter_rows(values_only=True)) == [tuple(TABLE.columns)]


@pytest.mark.full_examples
@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(max_size=20),
            st.integers(-(10**12), 10**12),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=30,
    )
)
def test_calamine_reads_back_generated_tables(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int, float]]
) -> None:
    frame = pl.DataFrame(
        rows, schema={"text": pl.String, "whole": pl.Int64, "real": pl.Float64}, orient="row"
    )
    path = tmp_path_factory.mktemp("x") / "t.xlsx"
    write_tables({"t": frame}, path)
    sheet = fastexcel.read_excel(str(path)).load_sheet(
        "t", header_row=None, skip_rows=1, dtypes={0: "string", 1: "int", 2: "float"}
    )
    back = sheet.to_polars()
    clean = frame["text"].str.replace_all(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "")
    assert back[:, 0].fill_null("").to_list() == clean.to_list()
    assert back[:, 1].to_list() == frame["whole"].to_list()
    assert back[:, 2].to_list() == frame["real"].to_list()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_it_without_error(tmp_path: Path) -> None:
    path = tmp_path / "tables.xlsx"
    write_tables({"councils": TABLE}, path, lambda c: c == "pb_rate")
    done = libreoffice_convert(path, "csv", tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "tables.csv").read_text()
    assert "Somerset" in text and "A & B <c>" in text


FLAGS = pl.DataFrame(
    {
        "period": ["2014-15", "2014-15", "2013-14", "2013-14", "2013-14"],
        "council_code": ["E06000001", "E06000002", "E08000035", "E10000027", "E10000027"],
        "rule": ["P005", "P005", "P001", "P002", "P001"],
        "severity": ["info", "info", "query", "query", "query"],
        "choice_rate_change": [None, -0.0204, 0.145853, 0.00159, 0.0],
        "pb_rate_after": [0.5, 0.25, 0.572169, 0.330001, 0.33],
        "message": [
            "A note.",
            "A note.",
            "The personal budget rate rose from 41.5% in 2012-13 to 57.2% (+15.7 points). "
            "Explain what changed for these people.",
            "Suspected relabelling.",
            "Rose.",
        ],
    }
)


def test_tables_xlsx_shows_changes_in_points_and_queries_first(tmp_path: Path) -> None:
    """The choice-rate change is in points ("+14.6 pts"), not "14.6%"; queries come before
    the P005 notes; each column is as wide as its values."""
    path = tmp_path / "tables.xlsx"
    write_workbook({"flags": FLAGS, "findings": FLAGS}, path)
    book = openpyxl.load_workbook(path)
    for name in ("flags", "findings"):
        sheet = book[name]
        rows = list(sheet.iter_rows(values_only=True))
        assert [(r[2], r[1]) for r in rows[1:]] == [
            ("P001", "E08000035"),
            ("P001", "E10000027"),
            ("P002", "E10000027"),
            ("P005", "E06000001"),
            ("P005", "E06000002"),
        ]
        change = rows[0].index("choice_rate_change") + 1
        assert [sheet.cell(row, change).value for row in range(2, 7)] == [
            14.5853,
            0.0,
            0.159,
            None,
            -2.04,
        ]
        assert sheet.cell(2, change).number_format == '+0.0" pts";-0.0" pts";0.0" pts"'
        after = rows[0].index("pb_rate_after") + 1
        assert sheet.cell(2, after).number_format == "0.0%"
        widths = {
            heading: sheet.column_dimensions[get_column_letter(i)].width
            for i, heading in enumerate(rows[0], start=1)
        }
        # The longest message, up to the widest column (longer text runs on past the edge).
        assert widths["message"] == MAX_WIDTH < len(FLAGS["message"][2])
        assert widths["period"] >= len("2014-15") and widths["rule"] >= len("rule")
        assert widths["council_code"] >= len("council_code")
        assert widths["choice_rate_change"] >= len("choice_rate_change")
    # LibreOffice shows the change as points.
    if shutil.which("soffice") is not None and shutil.which("pdftotext") is not None:
        done = libreoffice_convert(path, "pdf", tmp_path)
        assert done.returncode == 0, done.stderr
        shown = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "tables.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "+14.6 pts" in shown and "-2.0 pts" in shown and "14.6%" not in shown


def test_every_style_names_its_font(tmp_path: Path) -> None:
    """A style that names no font is shown by LibreOffice in a serif default."""
    path = tmp_path / "tables.xlsx"
    write_tables({"councils": TABLE}, path, lambda c: c == "pb_rate")
    styles = zipfile.ZipFile(path).read("xl/styles.xml").decode()
    fonts = re.findall(r"<font>.*?</font>", styles)
    assert fonts and all('<name val="Arial"/>' in font for font in fonts)
    book = openpyxl.load_workbook(path)
    assert {book["councils"].cell(row, 1).font.name for row in (1, 2)} == {"Arial"}


def test_tables_xlsx_follows_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "tables.xlsx"
    previous = os.umask(0o027)
    try:
        write_tables({"councils": TABLE}, path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["tables.xlsx"]
