"""Plain data for a synthetic return: sheet grids of raw cell values."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True)
class Formula:
    """A formula cell, written without a cached value (as if never recalculated)."""

    text: str


#: A raw cell value as a spreadsheet program would hold it; None is a blank cell.
Cell: TypeAlias = int | float | str | datetime.date | Formula | None
Grid: TypeAlias = list[list[Cell]]


@dataclass
class SyntheticReturn:
    """One council's return for one period, as the cells of each sheet."""

    council_code: str
    period: str
    # sheet name -> grid of raw cell values, row 0 is the header row; dict order = sheet order.
    sheets: dict[str, Grid] = field(default_factory=dict)
