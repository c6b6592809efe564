"""tables.xlsx, written by returns_kit's own writer, reads back exactly in other programs."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import fastexcel
import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returns_kit.aggregate.xlsx import write_tables

from .conftest import libreoffice_convert

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


@settings(max_examples=40, deadline=None)
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
