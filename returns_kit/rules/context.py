"""What every rule sees of one return: its typed tables, where they came from, and its council."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from returns_kit.periods import Period
from returns_kit.reference import Council, Reference
from returns_kit.thresholds import Thresholds
from returns_kit.workbook.tables import ROW, Table


@dataclass
class Sheet:
    """A sheet's table as located, and its typed values (failing cells null)."""

    table: Table
    typed: pl.DataFrame

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
