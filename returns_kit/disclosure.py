"""Statistical disclosure control for published tables: hide small counts so they stay hidden.

With ``--publish``, every count from ``low`` to ``high`` in a breakdown is a
primary cell and is suppressed, together with secondary cells, so that from
everything published and the tables' additive relations (each an
:class:`Equation` ``total == sum(parts)``: a row's people_total and its six
budget types, an ALL margin and its codes, a region and its councils) the
highest value an attacker can derive for a primary cell, knowing that counts
are 0 or more, is ``high + 1`` or more.

The attacker of :func:`protection` solves, for each primary cell p, the linear
program ``maximise x_p subject to every equation, published cells at their
values, x >= 0`` (SciPy's HiGHS), one connected group of suppressed cells at a
time. :func:`protection` first adds secondary cells until no equation has
exactly one suppressed member (preferring cells that close a loop of suppressed
cells); then, while the attacker's maximum for a primary cell is below
``high + 1``, it suppresses one more published cell in the cell's equations (one
whose value alone covers the shortfall, opening fewest new equations, smallest
first) and solves again, like GaussSuppression's FixRiskyIntervals; last, it
publishes again the secondary cells that are not needed: in small groups each one
whose publication leaves every primary safe, everywhere those the equations
determine exactly (the attacker knows them already). A primary cell whose maximum
is at least ``high + 1`` cannot be worked back exactly either, as its true value
is at most ``high``. :func:`recoverable` is the exact (Gaussian elimination)
attacker, kept as an independent check.

>>> row = Equation("all", ("a", "b", "c"))
>>> sorted(protect({"all": 20, "a": 3, "b": 9, "c": 8}, [row]))
['a', 'c']
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any, Generic, TypeVar

Cell = TypeVar("Cell", bound=Hashable)

#: column of a row that holds its constant; cell numbers start at 0, so never a pivot
_RHS = -1
#: a sparse row of the linear system, scaled to integers: cell number (or _RHS) -> coefficient
_Row = dict[int, int]
#: secondary cells are published again one at a time (each try re-solves the attacker's
#: LPs) only in components of at most this many suppressed cells, to bound the cost
PRUNE_LIMIT = 60


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
    """Every cell to suppress: the primary cells (low..high) and the secondary cells needed so
    that the attacker's LP finds, for each primary cell, a value of ``high + 1`` or more
    consistent with everything published (see :func:`protection`).

    The result does not depend on the order of ``values`` or ``equations``. Raises
    ValueError when an equation names a cell without a value, or when the values do not
    satisfy the equations.
    """
    return protection(values, equations, low=low, high=high).suppressed


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
        #: cells never to choose as secondary: the attacker knows them anyway
        self.fixed: set[int] = set()
        self.counts = [0] * len(tables.members)
        self.pending: list[int] = []
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
                # None: a one-member equation; the attacker's LP judges its cell next.
                if cell is not None:
                    self.add(cell)

    def lift(self, equations: Iterable[int], gap: float) -> int | None:
        """The published member of ``equations`` to suppress beside a risky primary: one
        whose value alone covers ``gap`` first, then fewest new equations opened, then the
        usual preference."""
        options = [
            (
                self.tables.values[cell] < gap,
                self.exposure(cell),
                self.tables.preference(cell, equation),
                cell,
            )
            for equation in equations
            for cell in self.tables.members[equation]
            if cell not in self.cells and cell not in self.fixed
        ]
        return min(options)[-1] if options else None


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


def protection(
    values: Mapping[Cell, int],
    equations: Sequence[Equation[Cell]],
    *,
    derived: Sequence[Equation[Cell]] = (),
    low: int = 1,
    high: int = 4,
    keep: Iterable[Cell] = (),
    known: Iterable[Cell] = (),
    also_primary: Iterable[Cell] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Protection[Cell]:
    """The cells to suppress so that the attacker's LP cannot bring any primary cell below
    ``high + 1``, with each primary's bound.

    ``derived``: cells no table shows but a rate gives away (a rate's numerator), each
    defined as the sum of its parts. One is suppressed whenever a part is (so a published
    one tells nothing the parts do not), then published again where the equations
    determine it; one from ``low`` to ``high`` always has a part in that range, so the
    attacker's maximum for it is that part's, ``high + 1`` or more (checked by LP).
    ``keep``: cells suppressed whatever their value (an earlier release's suppressions).
    ``known``: cells the attacker knows anyway (published in an earlier release with the
    same value), so never chosen as secondary cells. ``also_primary``: cells to protect
    like primary cells whatever their value here (an earlier release's primary cells,
    whose values this run may not know). ``progress(done, total)`` is called
    as primary cells are settled. Raises ValueError when the values do not satisfy the
    equations, or when a primary cell cannot be hidden (only possible with ``known``).
    """
    totals = {equation.total for equation in derived}
    base = {key: value for key, value in values.items() if key not in totals}
    tables = _Tables(base, equations)
    primary = {tables.ids[key] for key in primary_cells(base, low, high)}
    primary |= {tables.ids[key] for key in also_primary if key in tables.ids}
    kept = {tables.ids[key] for key in keep if key in tables.ids} - primary
    fixed = {tables.ids[key] for key in known if key in tables.ids} - primary - kept
    state, bounds, attacker = _protect(
        tables, primary, kept, fixed, high + 1, progress, determined=not derived
    )
    keys = tables.keys
    found = Protection(
        primary={keys[cell] for cell in primary},
        secondary={keys[cell] for cell in state.cells - primary - kept},
        kept={keys[cell] for cell in kept},
        bounds={keys[cell]: bounds[cell] for cell in primary},
        linear_programs=attacker.solved,
    )
    if derived:
        _add_derived(found, values, equations, derived, set(keep), low, high)
    return found


def _protect(
    tables: _Tables[Any],
    primary: set[int],
    kept: set[int],
    fixed: set[int],
    target: int,
    progress: Callable[[int, int], None] | None,
    *,
    determined: bool = True,
) -> tuple[_Suppression, dict[int, Bound], _Attacker]:
    state = _Suppression(tables, primary)
    for cell in sorted(kept):
        state.add(cell)
    state.fixed |= fixed
    state.close()
    _cover_locally(state, primary, target)
    attacker = _Attacker(tables, target)
    bounds: dict[int, Bound] = {}
    while True:
        # Hiding one more cell only widens what the attacker must allow, so a primary once
        # safe stays safe while cells are added: only the risky ones are checked again.
        risky: dict[int, tuple[float, frozenset[int]]] = {}
        for component in _components(tables, state.cells):
            waiting = [cell for cell in component if cell in primary and cell not in bounds]
            if waiting:
                safe, found = attacker.check(component, waiting)
                bounds.update(safe)
                risky.update((cell, (upper, component)) for cell, upper in found.items())
        if progress is not None:
            progress(len(bounds), len(primary))
        if not risky:
            break
        stuck = _widen(state, risky, target)
        for cell in stuck:
            # judged risky by a joint LP: its own LP decides before giving up
            safe, found = attacker.check(risky[cell][1], [cell], exact=True)
            bounds.update(safe)
            if found:
                raise ValueError(
                    f"no suppression can hide {tables.keys[cell]!r}: every cell around it "
                    "is published already"
                )
        state.close()
    _prune(state, attacker, primary | kept, bounds)
    if determined:  # else done once on the whole system, with the derived cells
        _publish_determined(state, primary | kept)
    return state, bounds, attacker


def _add_derived(
    found: Protection[Cell],
    values: Mapping[Cell, int],
    equations: Sequence[Equation[Cell]],
    derived: Sequence[Equation[Cell]],
    keep: set[Cell],
    low: int,
    high: int,
) -> None:
    """Suppress each derived cell with a suppressed part, check the derived primaries'
    bounds on the whole system, and publish again what the equations determine."""
    tables = _Tables(values, [*equations, *derived])
    hidden = found.suppressed
    derived_primary = primary_cells({e.total: values[e.total] for e in derived}, low, high)
    state = _Suppression(tables, set())
    for cell in sorted(tables.ids[key] for key in hidden):
        state.add(cell)
    for equation in derived:
        if equation.total in keep or not hidden.isdisjoint(equation.parts):
            state.add(tables.ids[equation.total])
    attacker = _Attacker(tables, high + 1)
    wanted = {tables.ids[key] for key in derived_primary}
    for component in _components(tables, state.cells):
        waiting = sorted(component & wanted)
        if waiting:
            safe, risky = attacker.check(component, waiting, exact=True)
            if risky:  # a derived count of 1 to 4 always has a part of 1 to 4 hidden
                raise RuntimeError(f"{tables.keys[min(risky)]!r} is not protected")
            found.bounds.update({tables.keys[cell]: bound for cell, bound in safe.items()})
    protected = {tables.ids[key] for key in (*found.primary, *derived_primary, *found.kept)}
    _publish_determined(state, protected)
    kept_derived = {e.total for e in derived if e.total in keep} - derived_primary
    found.primary |= derived_primary
    found.kept |= kept_derived
    found.secondary = {tables.keys[cell] for cell in state.cells} - found.primary - found.kept
    found.linear_programs += attacker.solved


def _cover_locally(state: _Suppression, primary: set[int], target: int) -> None:
    """Without any LP: while one equation alone caps a primary cell below ``target`` (its
    other suppressed members all on its side, so at most what the published members leave),
    suppress one more published member of that equation. Most risky primaries are found so,
    and the LPs that follow are left the few that need the whole system."""
    tables = state.tables
    queue = sorted(primary)
    while queue:
        again: set[int] = set()
        for cell in queue:
            for equation, cap in _caps(state, cell):
                if cap >= target:
                    continue
                choice = state.lift([equation], target - cap)
                if choice is not None:
                    state.add(choice)
                    # cells sharing an equation with the new one may have lost or gained a cap
                    again.update(
                        member
                        for e in tables.cell_equations[choice]
                        for member in tables.members[e]
                        if member in primary
                    )
        state.close()
        queue = sorted(again)


def _caps(state: _Suppression, cell: int) -> Iterator[tuple[int, float]]:
    """The equations that alone bound ``cell`` from above, each with the bound."""
    tables = state.tables
    for equation in tables.cell_equations[cell]:
        row = tables.coefficients[equation]
        sign = row[cell]
        constant = 0
        for member, coefficient in row.items():
            if member == cell:
                continue
            if member in state.cells:
                if (coefficient > 0) != (sign > 0):
                    break  # a suppressed member on the other side: no cap from this equation
            else:
                constant -= coefficient * tables.values[member]
        else:
            yield equation, constant / sign


def _widen(
    state: _Suppression, risky: dict[int, tuple[float, frozenset[int]]], target: int
) -> list[int]:
    """Suppress one more cell beside each risky primary: in its own equations if it can,
    a published cell whose value alone could lift it to the target, the one opening fewest
    new equations, then the smallest; else a cell in an equation of its component. Returns
    the risky cells with nothing left to suppress around them, when nothing was added."""
    tables = state.tables
    touched: set[int] = set()
    stuck = []
    for cell, (upper, component) in sorted(risky.items(), key=lambda item: (item[1][0], item[0])):
        if not touched.isdisjoint(tables.cell_equations[cell]):
            continue  # a cell just added beside it may be enough: checked next round
        gap = target - upper
        choice = state.lift(tables.cell_equations[cell], gap)
        if choice is None:
            nearby = {e for member in component for e in tables.cell_equations[member]}
            choice = state.lift(sorted(nearby), gap)
        if choice is None:
            stuck.append(cell)
            continue
        state.add(choice)
        touched.update(tables.cell_equations[choice])
    return [] if touched else stuck


def _prune(
    state: _Suppression, attacker: _Attacker, protected: set[int], bounds: dict[int, Bound]
) -> None:
    """Publish again, largest first, each secondary cell of a component of at most
    :data:`PRUNE_LIMIT` cells whose publication leaves every primary safe."""
    tables = state.tables
    for component in _components(tables, state.cells):
        if len(component) > PRUNE_LIMIT:
            continue
        spare = sorted(component - protected, key=lambda c: (-tables.values[c], c))
        for cell in spare:
            state.remove(cell)
            # One equation alone capping a primary below the target settles it without LPs.
            beside = {
                member
                for equation in tables.cell_equations[cell]
                for member in tables.members[equation]
                if member in bounds
            }
            if any(cap < attacker.target for p in beside for _, cap in _caps(state, p)):
                state.add(cell)
                continue
            checked: dict[int, Bound] = {}
            for part in _components(tables, component & state.cells):
                primaries = [member for member in part if member in bounds]
                if primaries:
                    safe, risky = attacker.check(part, primaries)
                    if risky:
                        break
                    checked.update(safe)
            else:
                bounds.update(checked)
                component = component - {cell}
                continue
            state.add(cell)


def _publish_determined(state: _Suppression, protected: set[int]) -> None:
    """Publish again the secondary cells the equations determine exactly: the attacker
    knows them already, so publishing them tells nothing."""
    tables = state.tables
    for component in _components(tables, state.cells):
        pivots = _reduce(_rows(tables, component, constants=True))
        for pivot, row in pivots.items():
            if row.keys() <= {pivot, _RHS} and pivot not in protected:
                state.remove(pivot)


# --- the attacker's linear programs -----------------------------------------------------

#: slack for floating-point LP solutions of integer systems
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Bound:
    """What the attacker's LP reached for a primary cell: ``upper`` is the highest value
    found feasible (``exact`` when it is the LP's optimum, else a witness: a solution of
    every published equation, all cells >= 0, in which the cell takes that value)."""

    upper: float
    exact: bool


@dataclass
class Protection(Generic[Cell]):
    """The cells to suppress, why, and what the attacker can derive for each primary."""

    primary: set[Cell]
    secondary: set[Cell]
    #: suppressed because an earlier release of the period suppressed them
    kept: set[Cell]
    bounds: dict[Cell, Bound]
    #: how many LPs the attacker solved, for the cost report
    linear_programs: int = 0

    @property
    def suppressed(self) -> set[Cell]:
        return self.primary | self.secondary | self.kept


class _Attacker:
    """Solves, for the cells of one component, the attacker's LPs with SciPy's HiGHS."""

    def __init__(self, tables: _Tables[Any], target: int) -> None:
        self.tables = tables
        self.target = target
        #: LPs solved, for the cost report
        self.solved = 0

    def system(self, component: frozenset[int]) -> tuple[list[int], dict[int, int], Any, Any]:
        """``A x = b`` over the component's cells: its equations, published cells moved to b."""
        import numpy as np
        from scipy import sparse

        cells = sorted(component)
        index = {cell: number for number, cell in enumerate(cells)}
        touching = sorted({e for cell in cells for e in self.tables.cell_equations[cell]})
        rows: list[int] = []
        columns: list[int] = []
        data: list[int] = []
        constants = []
        for row, equation in enumerate(touching):
            constant = 0
            for cell, coefficient in self.tables.coefficients[equation].items():
                if cell in index:
                    rows.append(row)
                    columns.append(index[cell])
                    data.append(coefficient)
                else:
                    constant -= coefficient * self.tables.values[cell]
            constants.append(constant)
        matrix = sparse.csr_matrix(
            (np.array(data, dtype=float), (rows, columns)), shape=(len(touching), len(cells))
        )
        return cells, index, matrix, np.array(constants, dtype=float)

    def check(
        self, component: frozenset[int], primaries: Iterable[int], *, exact: bool = False
    ) -> tuple[dict[int, Bound], dict[int, float]]:
        """Each primary's bound: reached (upper >= target) or risky (below, with the highest
        value found).

        First one LP lifts as many primaries as it can to the target at once (maximise the
        sum of min(x_p, target)); every primary it lifts is safe, with that solution as the
        witness. Repeated on the rest until a round lifts none. The rest are then risky,
        with the value that LP gave them; with ``exact`` (and for a lone primary) each gets
        its own LP (maximise x_p), whose optimum decides. Most primaries left by a round
        that lifts none are truly risky, so skipping their own LPs saves most of the cost,
        at the price of now and then one secondary cell more than needed.
        """
        import numpy as np
        from scipy import sparse
        from scipy.optimize import linprog

        cells, index, matrix, constants = self.system(component)
        size = len(cells)
        safe: dict[int, Bound] = {}
        risky: dict[int, float] = {}
        waiting = sorted(primaries)
        while len(waiting) > 1:
            count = len(waiting)
            # y_p <= x_p, 0 <= y_p <= target; maximise sum y_p
            lift = sparse.csr_matrix(
                (
                    np.concatenate([np.ones(count), -np.ones(count)]),
                    (
                        np.concatenate([np.arange(count), np.arange(count)]),
                        np.concatenate(
                            [size + np.arange(count), [index[cell] for cell in waiting]]
                        ),
                    ),
                ),
                shape=(count, size + count),
            )
            equalities = sparse.hstack([matrix, sparse.csr_matrix((matrix.shape[0], count))])
            objective = np.concatenate([np.zeros(size), -np.ones(count)])
            bounds = [(0, None)] * size + [(0, self.target)] * count
            result = linprog(
                objective,
                A_ub=lift,
                b_ub=np.zeros(count),
                A_eq=equalities,
                b_eq=constants,
                bounds=bounds,
                method="highs",
            )
            self.solved += 1
            _solved(result)
            lifted = [
                cell
                for number, cell in enumerate(waiting)
                if result.x[size + number] >= self.target - _TOLERANCE
            ]
            if not lifted:
                if not exact:
                    for number, cell in enumerate(waiting):
                        risky[cell] = float(result.x[size + number])
                    return safe, risky
                break
            for cell in lifted:
                safe[cell] = Bound(float(result.x[index[cell]]), exact=False)
            waiting = [cell for cell in waiting if cell not in safe]
        for cell in waiting:
            objective = np.zeros(size)
            objective[index[cell]] = -1.0
            result = linprog(
                objective, A_eq=matrix, b_eq=constants, bounds=(0, None), method="highs"
            )
            self.solved += 1
            if result.status == 3:  # unbounded: nothing caps the cell
                safe[cell] = Bound(float("inf"), exact=True)
                continue
            _solved(result)
            upper = -float(result.fun)
            if upper >= self.target - _TOLERANCE:
                safe[cell] = Bound(upper, exact=True)
            else:
                risky[cell] = upper
        return safe, risky


def _solved(result: Any) -> None:
    if result.status == 2:
        raise ValueError("the values do not satisfy the equations")
    if result.status != 0:
        # The true values always satisfy the system, so only a solver failure lands here.
        raise RuntimeError(f"the attacker's LP failed: {result.message}")
