"""What every rule sees of one return: its typed tables, where they came from, and its council."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from returns_kit.compile import UNREADABLE
from returns_kit.config import Thresholds
from returns_kit.periods import Period
from returns_kit.reference import Council, Reference
from returns_kit.workbook.tables import ROW, Table


@dataclass
class Sheet:
    """A sheet's table as located, and its typed values (failing cells null)."""

    table: Table
    typed: pl.DataFrame
    #: what rules derive from the sheet once and share (such as each Clients row's client)
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.table.spec.name

    def has(self, *names: str) -> bool:
        return all(name in self.typed.columns for name in names)

    def cell(self, name: str, row: int) -> str:
        """The A1 cell of field ``name`` in sheet row ``row`` of a table sheet."""
        return f"{self.table.letters[name]}{row}"

    def at(self, name: str, row: int) -> dict[str, Any]:
        """Where a finding about field ``name`` in sheet row ``row`` is: keyword arguments."""
        return {"sheet": self.name, "cell": self.cell(name, row), "row": row, "column": name}

    def about_cell(self, name: str) -> tuple[int, str] | None:
        if name not in self.table.field_cells:
            return None
        row, letter = self.table.field_cells[name]
        return row, f"{letter}{row}"

    def complete(self, *names: str) -> pl.DataFrame:
        """Rows in which every named field has a valid value."""
        return self.typed.filter(pl.all_horizontal(pl.col(n).is_not_null() for n in names))

    def unreadable(self, name: str) -> pl.Series:
        """Whether each row's cell of ``name`` holds a formula with no saved value or a
        spreadsheet error (V005): such a cell reads as blank, but nobody left it blank.

        Rules take a value that cannot be read (V001-V005 at its cell) as unknown, not as
        zero, blank or absent, and conclude nothing that depends on it, so that one mistake
        is reported once, at its cell. A required field's null is always such a value.
        """
        if UNREADABLE not in self.typed.columns:
            return pl.repeat(False, self.typed.height, eager=True)
        return self.typed.select(
            pl.col(UNREADABLE).list.contains(name).fill_null(False)
        ).to_series()

    def blank(self, name: str) -> pl.Series:
        """Whether each row's cell of ``name`` was left blank (all of them when the sheet has
        no such column)."""
        if name not in self.table.frame.columns:
            return pl.repeat(True, self.typed.height, eager=True)
        text = pl.col(name).str.strip_chars().str.len_chars().fill_null(0) == 0
        return self.table.frame.select(text).to_series() & ~self.unreadable(name)


@dataclass
class ReturnContext:
    reference: Reference
    thresholds: Thresholds
    sheets: dict[str, Sheet] = field(default_factory=dict)
    #: About's valid values by field
    about: dict[str, Any] = field(default_factory=dict)
    period: Period | None = None
    council: Council | None = None

    def sheet(self, name: str) -> Sheet | None:
        return self.sheets.get(name)

    @property
    def snapshot(self) -> date | None:
        return self.period.snapshot if self.period else None


__all__ = ["ROW", "ReturnContext", "Sheet"]
