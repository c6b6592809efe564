"""Narrow loosely typed values (a synthetic cell, a polars scalar) for arithmetic in tests.

A synthetic grid's cell may be a number, text, a date, a formula or blank, and polars'
``Series.min()`` may be any Python literal: a test that does arithmetic on one says which it
expects, and fails (rather than computes nonsense) when it is something else.
"""

from __future__ import annotations

from tools.synth.model import Cell, Grid


def number(value: object) -> float:
    """``value`` when it is a number (not a bool); the test fails otherwise."""
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return value


def whole(value: object) -> int:
    """``value`` when it is a whole number (not a bool); the test fails otherwise."""
    assert isinstance(value, int) and not isinstance(value, bool), value
    return value


def bump(grid: Grid, row: int, column: int, by: int = 1) -> None:
    """Add ``by`` to the whole number at ``grid[row][column]``."""
    cell: Cell = grid[row][column]
    grid[row][column] = whole(cell) + by


def integer(value: object) -> int:
    """``int(value)`` of a number or text; the test fails on a date, a formula or a blank."""
    assert isinstance(value, int | float | str), value
    return int(value)


def real(value: object) -> float:
    """``float(value)`` of a number or text; the test fails on a date, a formula or a blank."""
    assert isinstance(value, int | float | str), value
    return float(value)
