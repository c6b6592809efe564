"""An attacker written apart from returns_kit.disclosure: from cells, relations and which
cells are hidden, the highest and lowest value linear programming allows each hidden cell.

It builds one dense LP per group of hidden cells linked by relations (no shared code with
the code under test, which builds sparse systems and lifts many cells per LP), and
maximises and minimises every hidden cell on its own.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np
from scipy.optimize import linprog

Relation = tuple[Hashable, Sequence[Hashable]]  # total, parts


def groups(relations: Sequence[Relation], hidden: AbstractSet[Any]) -> list[set[Hashable]]:
    """Hidden cells that share a relation, transitively."""
    owner: dict[Hashable, int] = {}
    sets: list[set[Hashable]] = []
    for total, parts in relations:
        members = {m for m in (total, *parts) if m in hidden}
        found = {owner[m] for m in members if m in owner}
        merged = set(members)
        for index in found:
            merged |= sets[index]
            sets[index] = set()
        sets.append(merged)
        for member in merged:
            owner[member] = len(sets) - 1
    for cell in hidden - owner.keys():
        sets.append({cell})
    return [group for group in sets if group]


def bounds(
    values: Mapping[Any, float],
    relations: Sequence[Relation],
    hidden: AbstractSet[Any],
    cells: Iterable[Any] | None = None,
) -> dict[Any, tuple[float, float]]:
    """(lowest, highest) each hidden cell can take given every published value and
    relation, all cells >= 0. ``values`` need only hold the published cells."""
    wanted = set(hidden if cells is None else cells)
    found: dict[Hashable, tuple[float, float]] = {}
    for group in groups(relations, hidden):
        if group.isdisjoint(wanted):
            continue
        order = sorted(group, key=repr)
        column = {cell: i for i, cell in enumerate(order)}
        rows, rhs = [], []
        for total, parts in relations:
            members = [total, *parts]
            if not any(m in group for m in members):
                continue
            row = np.zeros(len(order))
            constant = 0.0
            for member, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
                if member in group:
                    row[column[member]] += sign
                else:
                    constant -= sign * values[member]
            rows.append(row)
            rhs.append(constant)
        matrix = np.array(rows) if rows else np.zeros((0, len(order)))
        for cell in order:
            if cell not in wanted:
                continue
            limits = []
            for sense in (1.0, -1.0):
                objective = np.zeros(len(order))
                objective[column[cell]] = sense
                result = linprog(
                    objective,
                    A_eq=matrix if rows else None,
                    b_eq=np.array(rhs) if rows else None,
                    bounds=(0, None),
                    method="highs",
                )
                if result.status == 3:
                    limits.append(float("inf"))
                else:
                    assert result.status == 0, result.message
                    limits.append(sense * result.fun)
            found[cell] = (limits[0], limits[1])
    return found
