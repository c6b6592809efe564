"""HSCIC's published council activity counts, 2009-10 to 2013-14 (package data).

People receiving services at 31 March, by council (GSS code) and England: direct payments by
age and client group, home care, day care and meals. Provenance, licence, the meaning of each
measure and the caveats are in docs/hscic-activity.md; tools/hscic.py regenerates the table.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

import polars as pl

ENGLAND = "E92000001"

SCHEMA: dict[str, type[pl.DataType]] = {
    "council_code": pl.Utf8,
    "cassr_code": pl.Utf8,
    "council": pl.Utf8,
    "period": pl.Utf8,
    "measure": pl.Utf8,
    "people": pl.Int64,
    "marker": pl.Utf8,
}


@cache
def _text() -> bytes:
    return resources.files("returns_kit").joinpath("data/hscic_activity.csv").read_bytes()


def load_activity() -> pl.DataFrame:
    """The tidy table: one row per council (or England, code E92000001), period and measure.

    ``people`` is null where HSCIC published no count; ``marker`` then holds its symbol
    (``..`` not available, ``-`` more than 0 and at most 5). Counts are rounded to 5.
    """
    return pl.read_csv(io.BytesIO(_text()), schema=SCHEMA)
