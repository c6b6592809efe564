"""Statistical disclosure control for published tables: hide small counts so they stay hidden.

With ``--publish``, every count from ``low`` to ``high`` in a breakdown is a
primary cell and is suppressed, together with secondary cells chosen so that no
suppressed cell can be worked back from the tables' additive relations, each an
:class:`Equation` ``total == sum(parts)`` (a row's people_total and its six
budget types, an ALL margin and its codes, a region and its councils).

The attacker modelled by :func:`recoverable` knows every published value and
every equation and solves the linear system exactly (Gaussian elimination in
integers, one connected group of suppressed cells at a time). :func:`protect`
first adds secondary cells until no equation has exactly one suppressed member,
preferring cells that close a loop of suppressed cells over ones that open new
equations, then small positive parts, then zeros, then totals; then, while the
attacker still recovers a cell, it suppresses one more cell beside it; last, it
publishes again every secondary cell whose publication would expose nothing.

>>> row = Equation("all", ("a", "b", "c"))
>>> sorted(protect({"all": 20, "a": 3, "b": 9, "c": 8}, [row]))
['a', 'c']

Known limit: counts are never negative, so an attacker can still bound a
suppressed cell (between 0 and the smallest total it is part of, or exactly 0
when the other suppressed members of an equation must make up the whole
total). Only exact recovery is defended against, not such interval (linear
programming) attacks.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any, Generic, TypeVar

Cell = TypeVar("Cell", bound=Hashable)

#: column of a row that holds its constant; cell numbers start at 0, so never a pivot
_RHS = -1
#: a sparse row of the linear system, scaled to integers: cell number (or _RHS) -> coefficient
_Row = dict[int, int]
#: a cell's row of a null-space basis as coprime integers, the first one positive
_Direction = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Equation(Generic[Cell]):
    """One additive relation of the published tables: ``total == sum(parts)``."""

    total: Cell
    parts: tuple[Cell, ...]


def primary_cells(values: Mapping[Cell, int], low: int = 1, high: int = 4) -> set[Cell]:
    """The cells whose count lies from ``low`` to ``high``: suppressed for their own sake.

    >>> sorted(primary_cells({"a": 0, "b": 1, "c": 4, "d": 5}))
    ['b', 'c']
    """
    return {key for key, value in values.items() if low <= value <= high}


def protect(
    values: Mapping[Cell, int],
    equations: Sequence[Equation[Cell]],
    *,
    low: int = 1,
    high: int = 4,
) -> set[Cell]:
    """Every cell to suppress: the primary cells (low..high) and the secondary cells needed so that
    no suppressed cell can be worked back from the equations.

    The result does not depend on the order of ``values`` or ``equations``. Raises
    ValueError when an equation names a cell without a value, or when the equations
    alone pin a cell down so that no suppression can hide it.
    """
    tables = _Tables(values, equations)
    primary = {tables.ids[key] for key in primary_cells(values, low, high)}
    state = _Suppression(tables, primary)
    state.close()
    while exposed := state.exposed():
        _cover(state, exposed)
        state.close()
    state.prune()
    return {tables.keys[cell] for cell in state.cells}


def recover(
    values: Mapping[Cell, int], equations: Sequence[Equation[Cell]], suppressed: set[Cell]
) -> dict[Cell, Fraction]:
    """The suppressed cells an attacker can work out exactly, with the value worked out.

    Raises ValueError when the values do not satisfy the equations.

    >>> recover({"t": 7, "a": 3, "b": 4}, [Equation("t", ("a", "b"))], {"a"})
    {'a': Fraction(3, 1)}
    """
    tables = _Tables(values, equations)
    unknowns = {tables.ids[key] for key in suppressed if key in tables.ids}
    found: dict[Cell, Fraction] = {}
    for component in _components(tables, unknowns):
        pivots = _reduce(_rows(tables, component, constants=True))
        for pivot, row in pivots.items():
            if row.keys() <= {pivot, _RHS}:
                found[tables.keys[pivot]] = Fraction(row.get(_RHS, 0), row[pivot])
    return found


def recoverable(
    values: Mapping[Cell, int], equations: Sequence[Equation[Cell]], suppressed: set[Cell]
) -> set[Cell]:
    """The suppressed cells an attacker who knows every published value and every equation can
    still work out exactly (the attacker's view of the tables)."""
    return set(recover(values, equations, suppressed))


class _Tables(Generic[Cell]):
    """The cells numbered in ``repr`` order, and the equations as signed rows over those numbers."""

    def __init__(self, values: Mapping[Cell, int], equations: Sequence[Equation[Cell]]) -> None:
        cells = set(values)
        for equation in equations:
            cells.add(equation.total)
            cells.update(equation.parts)
        missing = cells - values.keys()
        if missing:
            example = min(map(repr, missing))
            raise ValueError(
                f"{len(missing)} cell(s) in the equations have no value, e.g. {example}"
            )
        # Numbering by repr makes every tie-break, and so the result, independent of input order.
        self.keys = sorted(cells, key=repr)
        self.ids = {key: number for number, key in enumerate(self.keys)}
        self.values = [values[key] for key in self.keys]
        canonical = sorted({self._canonical(equation) for equation in equations})
        self.totals = [total for total, _ in canonical]
        self.coefficients = [_coefficients(total, parts) for total, parts in canonical]
        self.members = [sorted(row) for row in self.coefficients]
        self.cell_equations: list[list[int]] = [[] for _ in self.keys]
        for number, members in enumerate(self.members):
            for cell in members:
                self.cell_equations[cell].append(number)

    def _canonical(self, equation: Equation[Cell]) -> tuple[int, tuple[int, ...]]:
        return self.ids[equation.total], tuple(sorted(self.ids[part] for part in equation.parts))

    def preference(self, cell: int, equation: int) -> tuple[bool, bool, int, int]:
        """Sort key for secondary cells: small positive parts first, then zeros, then the total."""
        value = self.values[cell]
        return cell == self.totals[equation], value <= 0, value, cell


def _coefficients(total: int, parts: tuple[int, ...]) -> dict[int, int]:
    # A cell that is both the total and a part cancels out, so it is not a member.
    row = Counter({total: 1})
    row.subtract(parts)
    return {cell: coefficient for cell, coefficient in row.items() if coefficient}


class _Suppression:
    """The growing set of suppressed cells, with the number suppressed in each equation."""

    def __init__(self, tables: _Tables[Any], primary: set[int]) -> None:
        self.tables = tables
        self.primary = primary
        self.cells: set[int] = set()
        #: cells the equations alone determine: hiding them hides nothing
        self.fixed: set[int] = set()
        self.counts = [0] * len(tables.members)
        self.pending: list[int] = []
        self.solved: dict[frozenset[int], dict[int, _Direction]] = {}
        for cell in sorted(primary):
            self.add(cell)

    def add(self, cell: int) -> None:
        self.cells.add(cell)
        for equation in self.tables.cell_equations[cell]:
            self.counts[equation] += 1
            if self.counts[equation] == 1:
                heapq.heappush(self.pending, equation)

    def remove(self, cell: int) -> None:
        self.cells.discard(cell)
        for equation in self.tables.cell_equations[cell]:
            self.counts[equation] -= 1
            if self.counts[equation] == 1:
                heapq.heappush(self.pending, equation)

    def best(self, equations: Iterable[int]) -> int | None:
        """The preferred published member of ``equations`` to suppress next, if any."""
        options = [
            (self.exposure(cell), self.tables.preference(cell, equation), cell)
            for equation in equations
            for cell in self.tables.members[equation]
            if cell not in self.cells and cell not in self.fixed
        ]
        return min(options)[-1] if options else None

    def exposure(self, cell: int) -> int:
        """Equations that suppressing ``cell`` would leave with one suppressed member, net of
        those it would mend: choosing cells that close loops stops suppression spreading."""
        change = 0
        for equation in self.tables.cell_equations[cell]:
            if self.counts[equation] == 0:
                change += 1
            elif self.counts[equation] == 1:
                change -= 1
        return change

    def close(self) -> None:
        """Suppress more cells until no equation has exactly one suppressed member."""
        while self.pending:
            equation = heapq.heappop(self.pending)
            if self.counts[equation] == 1:
                cell = self.best([equation])
                # None: a one-member equation; exposed() reports its cell next.
                if cell is not None:
                    self.add(cell)

    def solve(self, component: frozenset[int]) -> dict[int, _Direction]:
        # Most components are untouched from one round to the next, so keep their solutions.
        if component not in self.solved:
            pivots = _reduce(_rows(self.tables, component, constants=False))
            self.solved[component] = _directions(pivots, component)
        return self.solved[component]

    def exposed(self) -> list[tuple[int, frozenset[int]]]:
        """The suppressed cells the linear attack recovers, each with its component."""
        return [
            (cell, component)
            for component in _components(self.tables, self.cells)
            for cell, direction in sorted(self.solve(component).items())
            if not direction
        ]

    def prune(self) -> None:
        """Publish again, one at a time, the secondary cells whose publication exposes nothing."""
        queue = _components(self.tables, self.cells)
        while queue:
            component = queue.pop()
            spare = _spare(self.solve(component), component - self.primary)
            if spare:
                cell = max(spare, key=lambda number: (self.tables.values[number], number))
                self.remove(cell)
                queue.extend(_components(self.tables, component - {cell}))


def _cover(state: _Suppression, exposed: list[tuple[int, frozenset[int]]]) -> None:
    """Suppress one more cell in an equation of each exposed cell."""
    tables = state.tables
    # An exposed cell sharing an equation with a cell just added waits for the next round:
    # that cell may already hide it, and guessing again would over-suppress.
    touched: set[int] = set()
    stuck: list[int] = []
    for cell, component in exposed:
        if not touched.isdisjoint(tables.cell_equations[cell]):
            continue
        choice = state.best(tables.cell_equations[cell])
        if choice is None:
            nearby = {
                equation for member in component for equation in tables.cell_equations[member]
            }
            choice = state.best(sorted(nearby))
        if choice is not None:
            state.add(choice)
            touched.update(tables.cell_equations[choice])
        else:
            stuck.append(cell)
    # A cell with nothing left to suppress around it may have been hidden by a cell another
    # exposed cell added this round: exposure is worked out again in the next round. Only
    # when a round adds nothing is a stuck cell truly determined by what is hidden.
    if touched:
        return
    for cell in stuck:
        if cell in state.primary:
            raise ValueError(
                f"the equations alone determine {tables.keys[cell]!r}: no suppression can hide it"
            )
        # Every equation around it is hidden and still it is determined (so it is 0 in
        # consistent tables): publishing it tells the attacker nothing new.
        state.fixed.add(cell)
        state.remove(cell)


def _spare(directions: dict[int, _Direction], candidates: Iterable[int]) -> list[int]:
    """The candidates whose publication would expose no other cell of the component.

    Publishing cell c fixes exactly the cells whose null-space row is parallel to c's,
    so c can be spared when no other cell shares its direction.
    """
    shared = Counter(directions.values())
    return [cell for cell in candidates if shared[directions[cell]] == 1]


def _components(tables: _Tables[Any], cells: set[int] | frozenset[int]) -> list[frozenset[int]]:
    """The suppressed cells grouped by the equations linking them, each group solvable alone."""
    parent = {cell: cell for cell in cells}

    def root(cell: int) -> int:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    seen: set[int] = set()
    for cell in cells:
        for equation in tables.cell_equations[cell]:
            if equation not in seen:
                seen.add(equation)
                first = root(cell)
                for member in tables.members[equation]:
                    if member in cells:
                        parent[root(member)] = first
    groups: dict[int, set[int]] = {}
    for cell in cells:
        groups.setdefault(root(cell), set()).add(cell)
    return sorted((frozenset(group) for group in groups.values()), key=min)


def _rows(tables: _Tables[Any], unknowns: frozenset[int], *, constants: bool) -> list[_Row]:
    """The equations touching ``unknowns``, with every published cell moved to the constant."""
    touching = sorted({equation for cell in unknowns for equation in tables.cell_equations[cell]})
    rows = []
    for equation in touching:
        row: _Row = {}
        constant = 0
        for cell, coefficient in tables.coefficients[equation].items():
            if cell in unknowns:
                row[cell] = coefficient
            else:
                constant -= coefficient * tables.values[cell]
        if constants and constant:
            row[_RHS] = constant
        rows.append(row)
    return rows


def _reduce(rows: Iterable[_Row]) -> dict[int, _Row]:
    """The reduced row echelon form of ``rows``: pivot cell -> its row, zero at every other pivot.

    Rows are kept as integer multiples of the rational rows (fraction-free elimination),
    which is exact and many times faster than Fraction arithmetic. Raises ValueError for
    a row that reduces to ``0 == constant``.
    """
    pivots: dict[int, _Row] = {}
    for original in rows:
        row = _eliminate(original, pivots)
        columns = [cell for cell in row if cell != _RHS]
        if columns:
            pivots[min(columns)] = row
        elif row:
            raise ValueError("the values do not satisfy the equations")
    # Back substitution, last pivot first: each later pivot row is already reduced.
    for pivot in sorted(pivots, reverse=True):
        row = pivots[pivot]
        for column in sorted(cell for cell in row if cell != pivot and cell in pivots):
            _combine(row, pivots[column], column)
        _make_primitive(row)
    return pivots


def _eliminate(original: _Row, pivots: dict[int, _Row]) -> _Row:
    """``original`` less multiples of the pivot rows, so that it is zero in every pivot column."""
    row = dict(original)
    # A pivot row only has columns after its pivot, so clearing columns in ascending order
    # never brings back one already cleared.
    queue = [cell for cell in row if cell in pivots]
    heapq.heapify(queue)
    while queue:
        column = heapq.heappop(queue)
        if column in row:
            for gained in _combine(row, pivots[column], column):
                if gained in pivots:
                    heapq.heappush(queue, gained)
    _make_primitive(row)
    return row


def _combine(target: _Row, row: _Row, column: int) -> list[int]:
    """Clear ``column`` of ``target`` in place with an integer combination of ``target`` and
    ``row``; return the columns that ``target`` gained."""
    common = gcd(target[column], row[column])
    scale, factor = row[column] // common, target.pop(column) // common
    if scale != 1:
        for cell in target:
            target[cell] *= scale
    gained = []
    for cell, coefficient in row.items():
        if cell == column:
            continue
        updated = target.get(cell, 0) - factor * coefficient
        if updated:
            if cell not in target:
                gained.append(cell)
            target[cell] = updated
        else:
            target.pop(cell, None)
    return gained


def _make_primitive(row: _Row) -> None:
    # Dividing out the common factor keeps the integers from growing row after row.
    common = gcd(*row.values())
    if common > 1:
        for cell in row:
            row[cell] //= common


def _directions(pivots: dict[int, _Row], unknowns: frozenset[int]) -> dict[int, _Direction]:
    """Each unknown's row of a null-space basis, scaled; empty when the unknown is determined.

    A free unknown's row is its own unit vector; a pivot's row is its free entries, scaled
    to coprime integers with the first one positive so that parallel rows compare equal.
    """
    directions: dict[int, _Direction] = {cell: ((cell, 1),) for cell in unknowns}
    for pivot, row in pivots.items():
        entries = sorted((cell, value) for cell, value in row.items() if cell not in (pivot, _RHS))
        common = gcd(*(value for _, value in entries)) if entries else 1
        if entries and entries[0][1] < 0:
            common = -common
        directions[pivot] = tuple((cell, value // common) for cell, value in entries)
    return directions
