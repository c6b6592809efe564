"""--publish: no count of 1 to 4 is visible, and none can be worked back from the rest.

The attacker here rebuilds the tables' additive relations from the published CSVs on
its own (not with returns_kit's publish code) and tries two attacks: solving any
relation with one unknown, repeatedly, and the exact linear attack.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from returns_kit.cli import main
from returns_kit.disclosure import Equation, recoverable
from returns_kit.measures import BUDGET_TYPES, COUNTS
from tools.synth.generate import generate_return
from tools.synth.write import write_xlsx

COUNCILS = [
    "E06000001",
    "E06000002",
    "E06000003",
    "E06000004",
    "E06000005",
    "E08000021",
    "E08000022",
    "E09000001",
    "E09000002",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("publish")
    folder = root / "in"
    folder.mkdir()
    for i, code in enumerate(COUNCILS):
        for period in ("2012-13", "2013-14"):
            write_xlsx(
                generate_return(code, period, people=120 + 15 * i, seed=i),
                folder / f"{code}-{period}.xlsx",
            )
    for name, extra in (("open", []), ("published", ["--publish"])):
        assert (
            main(
                [
                    "aggregate",
                    str(folder),
                    "--out",
                    str(root / name),
                    "--quiet",
                    "--cache-dir",
                    str(root / "cache"),
                    *extra,
                ]
            )
            == 0
        )
    return root / "open", root / "published"


def read(folder: Path, table: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{table}.csv", infer_schema_length=None)


def cells(folder: Path) -> dict[tuple[str, ...], int | None]:
    """Every count of the breakdowns by (period, level, geography, age, reason, measure)."""
    found: dict[tuple[str, ...], int | None] = {}
    for row in read(folder, "breakdowns").iter_rows(named=True):
        for measure in COUNTS:
            found[
                (
                    row["period"],
                    row["level"],
                    row["geography_code"],
                    row["age_band"],
                    row["support_reason"],
                    measure,
                )
            ] = row[measure]
    return found


def relations(
    published: dict[tuple[str, ...], int | None], councils: pl.DataFrame
) -> list[Equation[tuple[str, ...]]]:
    """The additive relations an attacker can read off the published tables."""
    equations: list[Equation[tuple[str, ...]]] = []
    shown = set(published)
    by_place: dict[tuple[str, ...], set[tuple[str, str]]] = defaultdict(set)
    for period, level, geography, age, reason, _ in shown:
        by_place[(period, level, geography)].add((age, reason))
    for place, pairs in by_place.items():
        for age, reason in pairs:
            equations.append(
                Equation(
                    (*place, age, reason, "people_total"),
                    tuple((*place, age, reason, m) for m in BUDGET_TYPES),
                )
            )
        ages = sorted({a for a, _ in pairs} - {"ALL"})
        reasons = sorted({r for _, r in pairs} - {"ALL"})
        for measure in COUNTS:
            for age in ages:
                if reasons:
                    equations.append(
                        Equation(
                            (*place, age, "ALL", measure),
                            tuple((*place, age, r, measure) for r in reasons),
                        )
                    )
            for reason in reasons:
                equations.append(
                    Equation(
                        (*place, "ALL", reason, measure),
                        tuple((*place, a, reason, measure) for a in ages),
                    )
                )
            equations.append(
                Equation(
                    (*place, "ALL", "ALL", measure),
                    tuple((*place, a, "ALL", measure) for a in ages),
                )
            )
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for period, council, region in councils.select(
        "period", "council_code", "region_code"
    ).iter_rows():
        members[(period, region)].append(council)
    suffixes = {key[3:] for key in shown}
    for suffix in suffixes:
        for (period, region), codes in members.items():
            parts = tuple((period, "council", c, *suffix) for c in codes)
            if all(p in shown for p in parts):
                equations.append(Equation((period, "region", region, *suffix), parts))
        for period in {p for p, _ in members}:
            regions = sorted({r for p, r in members if p == period})
            equations.append(
                Equation(
                    (period, "england", "E92000001", *suffix),
                    tuple((period, "region", r, *suffix) for r in regions),
                )
            )
    return [e for e in equations if e.total in shown and all(p in shown for p in e.parts)]


def test_no_count_of_one_to_four_is_published(outputs: tuple[Path, Path]) -> None:
    _, published = outputs
    for table in ("breakdowns", "councils", "regions", "england"):
        frame = read(published, table)
        for column in (*COUNTS, "service_people", "block_contract_people", "nominal_budgets"):
            if column in frame.columns:
                assert not frame[column].is_between(1, 4).any(), (table, column)
    assert not (published / "findings.csv").exists()


def test_something_was_suppressed_and_the_rest_is_unchanged(outputs: tuple[Path, Path]) -> None:
    open_, published = outputs
    truth, shown = cells(open_), cells(published)
    hidden = [k for k, v in shown.items() if v is None]
    assert len(hidden) > 50
    assert any(truth[k] is not None and 1 <= truth[k] <= 4 for k in hidden)  # type: ignore[operator]
    assert all(truth[k] == v for k, v in shown.items() if v is not None)
    council_detail = read(published, "breakdowns").filter(
        (pl.col("level") == "council") & (pl.col("support_reason") != "ALL")
    )
    assert council_detail.height == 0


def test_iterated_elimination_recovers_nothing(outputs: tuple[Path, Path]) -> None:
    _, published = outputs
    shown = cells(published)
    equations = relations(shown, read(published, "councils"))
    known = {k: v for k, v in shown.items() if v is not None}
    touching = [e for e in equations if any(m not in known for m in (e.total, *e.parts))]
    assert len(touching) > 50  # the attack has relations to work with
    progress = True
    while progress:
        progress = False
        for equation in equations:
            members = (equation.total, *equation.parts)
            unknown = [m for m in members if m not in known]
            if len(unknown) == 1:
                progress = True
                known[unknown[0]] = 0  # its value does not matter here: only that it was found
    recovered = [k for k, v in shown.items() if v is None and k in known]
    assert recovered == []


def test_the_exact_linear_attack_recovers_nothing(outputs: tuple[Path, Path]) -> None:
    open_, published = outputs
    truth, shown = cells(open_), cells(published)
    values = {k: truth[k] for k in shown}
    hidden = {k for k, v in shown.items() if v is None}
    equations = relations(shown, read(published, "councils"))
    assert recoverable(values, equations, hidden) == set()  # type: ignore[arg-type]


def test_rates_are_blank_where_a_count_they_need_is(outputs: tuple[Path, Path]) -> None:
    _, published = outputs
    for row in read(published, "breakdowns").iter_rows(named=True):
        needed = [row[m] for m in ("people_total", *BUDGET_TYPES[:5])]
        if any(value is None for value in needed):
            assert row["pb_rate"] is None
