"""The shipped HSCIC activity table (returns_kit/data/hscic_activity.csv) and its tool."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from returns_kit.hscic import ENGLAND, load_activity
from returns_kit.reference import load_reference

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "hscic.py"


def _source() -> Path | None:
    """The published HSCIC files (a folder holding raw/ and cassr-to-gss.json), named by
    RETURNS_KIT_HSCIC_SOURCE when a developer has them; the shipped table is checked without
    them by the tests above."""
    named = os.environ.get("RETURNS_KIT_HSCIC_SOURCE")
    if named and (Path(named) / "raw").is_dir():
        return Path(named)
    return None


needs_source = pytest.mark.skipif(
    _source() is None, reason="RETURNS_KIT_HSCIC_SOURCE names no folder of the published files"
)


def _people(council: str, measure: str) -> list[int | None]:
    frame = load_activity().filter(
        (pl.col("council_code") == council) & (pl.col("measure") == measure)
    )
    return frame.sort("period")["people"].to_list()


# Check values copied from the tidy extract people-receiving-services-31-march-2011-12-to-
# 2013-14.csv (published figures for 2011-12, 2012-13, 2013-14), not from our parser.
BURY, SOMERSET, ISLINGTON = "E08000002", "E10000027", "E09000019"
EXTRACT = [
    (BURY, "dp_all", [1030, 1195, 480]),
    (BURY, "home_care", [405, 255, 1105]),
    (BURY, "dp_65_plus", [675, 750, 105]),
    (SOMERSET, "dp_65_plus", [255, 870, 335]),
    (SOMERSET, "home_care", [4105, 3830, 3790]),
    (SOMERSET, "dp_18_64", [595, 765, 725]),
    (ENGLAND, "dp_all", [108105, 115930, 122380]),
    (ENGLAND, "dp_18_64", [65805, 72360, 78280]),
    (ENGLAND, "dp_18_64_ld", [24025, 27755, 31225]),
    (ENGLAND, "dp_65_plus", [42050, 43265, 43880]),
    (ENGLAND, "home_care", [298920, 282285, 281180]),
    (ENGLAND, "day_care", [118680, 106220, 98990]),
    (ENGLAND, "meals", [38800, 32160, 25195]),
]


@pytest.mark.parametrize(("council", "measure", "expected"), EXTRACT)
def test_shipped_table_agrees_with_the_published_extract(
    council: str, measure: str, expected: list[int]
) -> None:
    assert _people(council, measure)[-3:] == expected


def test_islington_2012_13_is_not_available_not_zero() -> None:
    frame = load_activity().filter(
        (pl.col("council_code") == ISLINGTON) & (pl.col("period") == "2012-13")
    )
    assert frame.height == 9
    assert frame["people"].null_count() == 9
    assert set(frame["marker"]) == {".."}


def test_every_period_has_152_councils_and_england_once_per_measure() -> None:
    frame = load_activity()
    assert frame.select("council_code", "period", "measure").is_duplicated().sum() == 0
    counts = frame.group_by("period").agg(pl.col("council_code").n_unique().alias("n"))
    assert dict(counts.iter_rows()) == {
        "2009-10": 153,
        "2010-11": 153,
        "2011-12": 153,
        "2012-13": 153,
        "2013-14": 153,
    }
    # 2009-10 has no 65+ direct payment total (only 65-74, 75-84 and 85+ from two pages)
    assert frame.filter(pl.col("period") == "2009-10")["measure"].n_unique() == 8
    assert frame.filter(pl.col("period") != "2009-10")["measure"].n_unique() == 9


def test_every_council_code_is_in_the_reference_list() -> None:
    known = {council.gss_code for council in load_reference().councils.values()}
    codes = set(load_activity()["council_code"]) - {ENGLAND}
    assert len(codes) == 152
    assert codes <= known


def test_a_blank_count_always_carries_the_published_symbol() -> None:
    frame = load_activity()
    assert frame.filter(pl.col("people").is_null() != pl.col("marker").is_not_null()).height == 0
    assert set(frame["marker"].drop_nulls()) == {"..", "-"}
    assert (frame["people"].drop_nulls() % 5 == 0).all()  # rounded to 5 as published


@needs_source
def test_the_tool_regenerates_the_shipped_table_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "hscic_activity.csv"
    result = subprocess.run(
        [sys.executable, str(TOOL), str(_source()), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (ROOT / "returns_kit/data/hscic_activity.csv").read_bytes()


@needs_source
def test_the_tool_stops_on_a_relabelled_column_and_keeps_the_old_table(tmp_path: Path) -> None:
    source = _source()
    assert source is not None
    folder = tmp_path / "src"
    (folder / "raw").mkdir(parents=True)
    (folder / "cassr-to-gss.json").write_bytes((source / "cassr-to-gss.json").read_bytes())
    for path in (source / "raw").glob("activity-*.csv"):
        data = path.read_bytes()
        if path.name == "activity-2012-13.csv":
            data = data.replace(b"Total all ages, Home care", b"Total all ages, Home help")
        (folder / "raw" / path.name).write_bytes(data)
    out = tmp_path / "table.csv"
    out.write_text("old\n")
    result = subprocess.run(
        [sys.executable, str(TOOL), str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == "hscic: 2012-13: no column for home_care\n"
    assert out.read_text() == "old\n"


def test_the_shipped_table_is_plain_csv_with_the_documented_columns() -> None:
    with (ROOT / "returns_kit/data/hscic_activity.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == [
        "council_code",
        "cassr_code",
        "council",
        "period",
        "measure",
        "people",
        "marker",
    ]
