"""Disclosure control for publication (``--publish``): no count of 1 to 4 can be seen, worked
back, or bounded to within 1 to 4 from everything the release publishes.

Council counts by age band and support reason are not published at all (most are 1 to
4; see ``benchmarks/publish.py`` for why protecting them does not fit the time bar);
councils keep their age-band margins. Every other count in the breakdowns and in the
council, region and England tables is one cell of a system of additive relations: the
six budget types add to people_total; the age bands and support reasons add to their ALL
margins; councils add to their region and regions to England. Each rate's numerator is
a cell too (personal budget holders, direct payments, choice), and so is the people
total behind a region's nominal rate, because a published rate and its published
denominator give the numerator away. :func:`returns_kit.disclosure.protection` chooses
the cells to suppress; a rate or share is then published only where its numerator and
denominator are, and a flag's evidence and message only where the counts and rates
they quote are. The findings table is not published: its messages quote counts.

With an earlier release of the same periods (``--previous-release``), every cell it
suppressed stays suppressed, and a cell it published with the same value is never
chosen to protect another (the attacker has it from the earlier release).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from returns_kit.aggregate.tables import ALL
from returns_kit.disclosure import Equation, Protection, primary_cells, protection
from returns_kit.errors import ReturnsKitError
from returns_kit.measures import (
    BUDGET_TYPES,
    CHOICE,
    COUNTS,
    DIRECT_PAYMENTS,
    PERSONAL_BUDGETS,
    RATES,
)

Key = tuple[str, str, str, str, str, str]  # period, level, geography, age band, reason, measure
#: Counts beside the breakdowns' that the council, region and England tables publish.
OTHER_COUNTS = ("service_people", "block_contract_people", "nominal_budgets")
#: Rates' numerators: counts the tables do not show but a rate and its denominator give away.
DERIVED = {
    "pb_holders": PERSONAL_BUDGETS,
    "dp_people": DIRECT_PAYMENTS,
    "choice_people": CHOICE,
}
#: The people total of a region's (England's) councils with Clients: a nominal rate's
#: denominator, given away by the rate and its numerator.
CLIENTS_PEOPLE = "clients_people"
GEOGRAPHY = {"council": "council_code", "region": "region_code", "england": "geography_code"}
TABLES = {"council": "councils", "region": "regions", "england": "england"}
CERTIFICATE = "disclosure.json"
LEVEL_NAMES = ("period", "level", "geography", "age_band", "support_reason", "measure")


class PreviousReleaseError(ReturnsKitError):
    """The --previous-release folder is not a published release."""


class ProtectionError(ReturnsKitError):
    """No suppression protects a small count: with an earlier release, every cell around it
    was published already."""


@dataclass
class Previous:
    """What an earlier release of the same periods published and suppressed."""

    suppressed: set[Key] = field(default_factory=set)
    primary: set[Key] = field(default_factory=set)
    published: dict[Key, int] = field(default_factory=dict)
    periods: set[str] = field(default_factory=set)
    #: (council, period) -> SHA-256 of the return the release used
    returns: dict[tuple[str, str], str] = field(default_factory=dict)
    #: the release's folder, as given
    source: str | None = None


@dataclass
class Certificate:
    """disclosure.json: every suppressed cell and why, each primary's bound, the cost."""

    protections: dict[str, Protection[Key]] = field(default_factory=dict)
    seconds: float = 0.0
    previous: str | None = None

    def document(self) -> dict[str, Any]:
        cells = []
        for _, found in sorted(self.protections.items()):
            for reason, group in (
                ("primary", found.primary),
                ("secondary", found.secondary),
                ("earlier release", found.kept),
            ):
                for key in sorted(group):
                    entry: dict[str, Any] = dict(zip(LEVEL_NAMES, key, strict=True))
                    entry["reason"] = reason
                    bound = found.bounds.get(key)
                    if bound is not None:
                        entry["attacker_upper"] = (
                            None if bound.upper == float("inf") else round(bound.upper, 6)
                        )
                        entry["upper_is_optimum"] = bound.exact
                    cells.append(entry)
        counts = {
            reason: sum(len(getattr(found, name)) for found in self.protections.values())
            for reason, name in (
                ("primary", "primary"),
                ("secondary", "secondary"),
                ("earlier_release", "kept"),
            )
        }
        return {
            "rule": "every count from 1 to 4 is suppressed, and for each the highest value an "
            "attacker can derive from everything published in this release (every table and "
            "period; counts are 0 or more) is 5 or more",
            "attacker": "linear programs over the release's additive relations (HiGHS); "
            "attacker_upper is the highest value reached for the cell: the LP optimum when "
            "upper_is_optimum, else a solution of every relation in which the cell takes "
            "that value",
            "previous_release": self.previous,
            "suppressed": counts,
            "seconds": round(self.seconds, 3),
            "linear_programs": sum(found.linear_programs for found in self.protections.values()),
            "cells": cells,
        }

    def write(self, folder: Path) -> None:
        text = json.dumps(self.document(), indent=1, sort_keys=True)
        (folder / CERTIFICATE).write_text(text + "\n", encoding="utf-8")


def _total(names: Iterable[str]) -> pl.Expr:
    # A plain sum propagates a blank; sum_horizontal would count it as 0 and leak.
    names = list(names)
    total = pl.col(names[0])
    for name in names[1:]:
        total = total + pl.col(name)
    return total


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator)


def published_rates() -> list[pl.Expr]:
    """Rates from the published cells: blank where the numerator or denominator is."""
    total = pl.col("people_total")
    return [
        _ratio(pl.col("_pb_holders"), total).alias("pb_rate"),
        _ratio(pl.col("_dp_people"), total).alias("dp_rate"),
        _ratio(pl.col("_choice_people"), total).alias("choice_rate"),
        _ratio(pl.col("council_managed"), pl.col("_pb_holders")).alias("council_managed_share"),
    ]


def _derived_equations(values: dict[Key, int]) -> list[Equation[Key]]:
    """Each rate numerator as the sum of its counts, at every cell position."""
    return [
        Equation((*where, name), tuple((*where, m) for m in parts))
        for where in sorted({key[:5] for key in values})
        for name, parts in DERIVED.items()
    ]


def _breakdown_at(row: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """Where a breakdowns row sits: (period, level, geography, age band, support reason)."""
    return (
        row["period"],
        row["level"],
        row["geography_code"],
        row["age_band"],
        row["support_reason"],
    )


def _breakdown_system(breakdowns: pl.DataFrame) -> tuple[dict[Key, int], list[Equation[Key]]]:
    values: dict[Key, int] = {}
    for row in breakdowns.iter_rows(named=True):
        where = _breakdown_at(row)
        for measure in COUNTS:
            values[(*where, measure)] = int(row[measure])
        for name, parts in DERIVED.items():
            values[(*where, name)] = sum(int(row[part]) for part in parts)
    equations: list[Equation[Key]] = []
    cells = {key[:5] for key in values}
    for where in sorted(cells):
        equations.append(
            Equation((*where, "people_total"), tuple((*where, m) for m in BUDGET_TYPES))
        )
    by_area: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
    for period, level, geography, age, reason in cells:
        by_area[(period, level, geography)].add((age, reason))
    for (period, level, geography), pairs in sorted(by_area.items()):
        ages = sorted({a for a, _ in pairs if a != ALL})
        reasons = sorted({r for _, r in pairs if r != ALL})
        for measure in COUNTS:

            def key(age: str, reason: str) -> Key:
                return (period, level, geography, age, reason, measure)  # noqa: B023

            # A margin is an equation only where the table shows what it sums.
            if reasons:
                for age in ages:
                    equations.append(Equation(key(age, ALL), tuple(key(age, r) for r in reasons)))
            if ages:
                for reason in reasons:
                    equations.append(
                        Equation(key(ALL, reason), tuple(key(a, reason) for a in ages))
                    )
                equations.append(Equation(key(ALL, ALL), tuple(key(a, ALL) for a in ages)))
    return values, equations


def _members(councils: pl.DataFrame) -> dict[str, dict[str, list[str]]]:
    """Period -> region -> its councils in the tables."""
    members: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for period, council, region in councils.select(
        "period", "council_code", "region_code"
    ).iter_rows():
        members[period][region].append(council)
    return members


def _geography_equations(
    values: dict[Key, int], members: dict[str, list[str]], period: str, suffixes: Iterable[Any]
) -> list[Equation[Key]]:
    """Region = sum of its councils, England = sum of regions, for every cell position."""
    equations: list[Equation[Key]] = []
    for suffix in suffixes:
        for region, council_codes in sorted(members.items()):
            total: Key = (period, "region", region, *suffix)
            parts = tuple((period, "council", c, *suffix) for c in council_codes)
            if total in values and all(p in values for p in parts):
                equations.append(Equation(total, parts))
        total = (period, "england", "E92000001", *suffix)
        regions = tuple((period, "region", r, *suffix) for r in sorted(members))
        if total in values and all(p in values for p in regions):
            equations.append(Equation(total, regions))
    return equations


def _other_counts(tables: dict[str, pl.DataFrame], period: str) -> dict[Key, int]:
    values: dict[Key, int] = {}
    for level, name in TABLES.items():
        code = GEOGRAPHY[level]
        frame = tables[name].filter(pl.col("period") == period)
        for row in frame.iter_rows(named=True):
            for measure in OTHER_COUNTS:
                if row[measure] is not None:
                    values[(period, level, row[code], ALL, ALL, measure)] = int(row[measure])
    return values


def _clients_people(
    tables: dict[str, pl.DataFrame], members: dict[str, list[str]], period: str
) -> tuple[dict[Key, int], list[Equation[Key]]]:
    """The people total of each region's (and England's) councils with Clients, as a cell."""
    councils = tables["councils"].filter(pl.col("period") == period)
    with_clients = {
        code: int(total)
        for code, total, nominal in councils.select(
            "council_code", "people_total", "nominal_budgets"
        ).iter_rows()
        if nominal is not None
    }
    values: dict[Key, int] = {}
    equations: list[Equation[Key]] = []
    regions = []
    for region, codes in sorted(members.items()):
        holding = [code for code in codes if code in with_clients]
        if not holding:
            continue
        key: Key = (period, "region", region, ALL, ALL, CLIENTS_PEOPLE)
        values[key] = sum(with_clients[code] for code in holding)
        parts = tuple((period, "council", code, ALL, ALL, "people_total") for code in holding)
        equations.append(Equation(key, parts))
        regions.append(key)
    if regions:
        england: Key = (period, "england", "E92000001", ALL, ALL, CLIENTS_PEOPLE)
        values[england] = sum(values[key] for key in regions)
        equations.append(Equation(england, tuple(regions)))
    return values, equations


def period_system(
    tables: dict[str, pl.DataFrame], period: str
) -> tuple[dict[Key, int], list[Equation[Key]], list[Equation[Key]]]:
    """Every published cell of one period and every additive relation between them: those
    between counts, and those defining the cells only rates give away."""
    breakdowns = tables["breakdowns"].filter(pl.col("period") == period)
    values, equations = _breakdown_system(breakdowns)
    derived = _derived_equations(values)
    members = _members(tables["councils"]).get(period, {})
    # Numerators add up over geography too, but that follows from their counts doing so.
    suffixes = sorted({key[3:] for key in values if key[5] not in DERIVED})
    equations += _geography_equations(values, members, period, suffixes)
    other = _other_counts(tables, period)
    equations += _geography_equations(other, members, period, [(ALL, ALL, m) for m in OTHER_COUNTS])
    clients, linked = _clients_people(tables, members, period)
    return {**values, **other, **clients}, equations, derived + linked


Progress = Callable[[int, int], None]


def suppressed_cells(
    tables: dict[str, pl.DataFrame],
    previous: Previous | None = None,
    progress: Progress | None = None,
) -> Certificate:
    """Every cell to blank, found period by period (periods share no relation)."""
    started = time.perf_counter()
    certificate = Certificate()
    periods = sorted(set(tables["breakdowns"]["period"]))
    systems = {period: period_system(tables, period) for period in periods}
    totals = {period: 0 for period in periods}
    settled = {period: 0 for period in periods}

    def report(period: str) -> Progress:
        def call(done: int, total: int) -> None:
            settled[period], totals[period] = done, total
            if progress is not None:
                progress(sum(settled.values()), max(sum(totals.values()), 1))

        return call

    jobs: dict[str, dict[str, Any]] = {}
    for period in periods:
        values, equations, derived = systems[period]
        keep: set[Key] = set()
        known: set[Key] = set()
        also: set[Key] = set()
        if previous is not None and period in previous.periods:
            keep = {key for key in previous.suppressed if key in values}
            known = {
                key
                for key, value in values.items()
                if previous.published.get(key) == value and key not in keep
            }
            extra, more, linked, kept, also = _earlier_copies(
                tables, period, systems[period], previous
            )
            values = {**values, **extra}
            equations, derived = [*equations, *more], [*derived, *linked]
            keep |= kept
        jobs[period] = {
            "values": values,
            "equations": equations,
            "derived": derived,
            "keep": keep,
            "known": known,
            "also_primary": also,
        }
    # Known before any LP, so the bar shows the whole task from the start.
    for period, job in jobs.items():
        totals[period] = len(primary_cells(job["values"])) + len(job["also_primary"])
    if periods:
        report(periods[0])(0, totals[periods[0]])
    try:
        for period, found in _protect_all(jobs, report):
            certificate.protections[period] = _without_copies(found)
    except ValueError as problem:
        raise ProtectionError(str(problem)) from problem
    certificate.seconds = time.perf_counter() - started
    certificate.previous = previous.source if previous is not None else None
    return certificate


def _protect_one(job: dict[str, Any]) -> Protection[Key]:
    return protection(**job)


def _protect_all(
    jobs: dict[str, dict[str, Any]], report: Callable[[str], Progress]
) -> Iterable[tuple[str, Protection[Key]]]:
    """Each period's protection: in two processes when there are periods for both cores
    (periods share no relation), else here, reporting as primary cells are settled."""
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    workers = min(2, os.cpu_count() or 1, len(jobs))
    done: set[str] = set()
    if workers > 1:
        # A fork server, as for validation: forking after polars started threads can hang.
        context = get_context("forkserver")
        context.set_forkserver_preload(["returns_kit.disclosure", "scipy.optimize"])
        try:
            with ProcessPoolExecutor(workers, context) as pool:
                futures = {pool.submit(_protect_one, job): period for period, job in jobs.items()}
                for future in as_completed(futures):
                    period = futures[future]
                    found = future.result()
                    report(period)(len(found.bounds), len(found.bounds))
                    done.add(period)
                    yield period, found
        except BrokenProcessPool:
            pass  # a worker died (out of memory, say): what is left is done here instead
    for period, job in jobs.items():
        if period not in done:
            yield period, protection(**job, progress=report(period))


def _without_copies(found: Protection[Key]) -> Protection[Key]:
    """``found`` less the earlier release's copies of cells (they are not this release's)."""

    def mine(cells: set[Key]) -> set[Key]:
        return {key for key in cells if not key[0].endswith(EARLIER)}

    return Protection(
        primary=mine(found.primary),
        secondary=mine(found.secondary),
        kept=mine(found.kept),
        bounds={key: bound for key, bound in found.bounds.items() if key in mine({key})},
        linear_programs=found.linear_programs,
    )


def _blank(
    frame: pl.DataFrame, hidden: set[Any], level: str | None, code: str, measures: Sequence[str]
) -> pl.DataFrame:
    """``frame`` with each hidden cell's count blanked, and each rate numerator (and, for a
    region or England, the people total with Clients) as a hidden helper column, blank
    where suppressed."""
    columns: dict[str, list[Any]] = {m: frame[m].to_list() for m in measures}
    helpers: dict[str, list[Any]] = {f"_{name}": [] for name in (*DERIVED, CLIENTS_PEOPLE)}
    for index, row in enumerate(frame.iter_rows(named=True)):
        at = (
            row["period"],
            level or row["level"],
            row[code],
            row.get("age_band", ALL),
            row.get("support_reason", ALL),
        )
        for measure in measures:
            if (*at, measure) in hidden:
                columns[measure][index] = None
        for name, parts in DERIVED.items():
            counts = [row[part] for part in parts]
            value = None if None in counts else sum(counts)
            helpers[f"_{name}"].append(None if (*at, name) in hidden else value)
        # The value itself is never needed: only whether the rate may be shown.
        helpers[f"_{CLIENTS_PEOPLE}"].append(None if (*at, CLIENTS_PEOPLE) in hidden else 1)
    return frame.with_columns(
        *(pl.Series(m, v, dtype=frame.schema[m]) for m, v in columns.items()),
        *(pl.Series(name, v, dtype=pl.Int64) for name, v in helpers.items()),
    )


def _spread(councils: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """A region's (England's) spread of council rates, over the rates published."""
    return councils.group_by(by).agg(
        *(
            getattr(pl.col(rate), stat)().alias(f"{rate}_{stat}")
            for rate in ("pb_rate", "choice_rate")
            for stat in ("min", "median", "max")
        )
    )


def publishable(
    tables: dict[str, pl.DataFrame],
    previous: Previous | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, pl.DataFrame], Certificate]:
    """The tables with disclosive cells blanked and rates from what is published, and the
    certificate saying what was suppressed and why."""
    from returns_kit.aggregate.flags import publishable_flags

    # Council counts by age band and support reason are mostly 1 to 4: suppressing them
    # would leave that level mostly blank and the system too large to protect in time.
    # Councils keep their age-band margins; regions and England keep every breakdown.
    tables = {
        **tables,
        "breakdowns": tables["breakdowns"].filter(
            (pl.col("level") != "council") | (pl.col("support_reason") == ALL)
        ),
    }
    certificate = suppressed_cells(tables, previous, progress)
    hidden: set[Any] = set()
    for found in certificate.protections.values():
        hidden |= found.suppressed
    helpers = [f"_{name}" for name in (*DERIVED, CLIENTS_PEOPLE)]
    out = dict(tables)
    out["breakdowns"] = (
        _blank(tables["breakdowns"], hidden, None, "geography_code", COUNTS)
        .with_columns(published_rates())
        .with_columns(pl.col(list(RATES)).round(6))
        .drop(helpers)
    )
    for level, name in TABLES.items():
        frame = _blank(tables[name], hidden, level, GEOGRAPHY[level], (*COUNTS, *OTHER_COUNTS))
        block = _ratio(pl.col("block_contract_people"), pl.col("service_people"))
        frame = frame.with_columns(*published_rates(), block.alias("block_contract_share"))
        if level == "council":
            frame = frame.with_columns(
                _ratio(pl.col("nominal_budgets"), pl.col("people_total")).alias("nominal_rate")
            )
            frame = frame.with_columns(
                (pl.col("pb_rate") - pl.col("nominal_rate")).alias("adjusted_pb_rate")
            )
        else:
            # A region's nominal rate is over its councils with Clients: shown only where
            # its count and that people total are.
            frame = frame.with_columns(
                pl.when(
                    pl.col("nominal_budgets").is_not_null()
                    & pl.col(f"_{CLIENTS_PEOPLE}").is_not_null()
                )
                .then(pl.col("nominal_rate"))
                .alias("nominal_rate")
            )
        out[name] = frame.with_columns(
            pl.col(list(RATES)).round(6), pl.col("block_contract_share").round(6)
        ).drop(helpers)
    # The spread of council rates is over the council rates published.
    for name, key in (("regions", ["period", "region_code"]), ("england", ["period"])):
        spread = _spread(out["councils"], key)
        columns = [c for c in spread.columns if c not in key]
        order = out[name].columns
        out[name] = (
            out[name]
            .drop(columns)
            .join(spread.with_columns(pl.col(columns).round(6)), on=key, how="left")
            .select(order)
        )
    out["flags"] = publishable_flags(tables["flags"], out["councils"])
    del out["findings"]
    return out, certificate


def published_cells(folder: Path) -> dict[Key, int]:
    """The counts a release in ``folder`` published (blank cells left out), by cell."""
    found: dict[Key, int] = {}
    breakdowns = pl.read_parquet(folder / "breakdowns.parquet")
    for row in breakdowns.iter_rows(named=True):
        at = _breakdown_at(row)
        for measure in COUNTS:
            if row[measure] is not None:
                found[(*at, measure)] = int(row[measure])
        _numerators(found, at, row)
    for level, name in TABLES.items():
        frame = pl.read_parquet(folder / f"{name}.parquet")
        for row in frame.iter_rows(named=True):
            for measure in OTHER_COUNTS:
                if row[measure] is not None:
                    found[(row["period"], level, row[GEOGRAPHY[level]], ALL, ALL, measure)] = int(
                        row[measure]
                    )
    return found


#: each numerator's rate, whose product with people_total gives it away
NUMERATOR_RATES = {"pb_holders": "pb_rate", "dp_people": "dp_rate", "choice_people": "choice_rate"}


def _numerators(found: dict[Key, int], at: tuple[str, ...], row: dict[str, Any]) -> None:
    """The rate numerators a published row gives away: from its counts, or from a rate and
    its denominator (six decimals pin a count below a million)."""
    for name, parts in DERIVED.items():
        rate, total = row.get(NUMERATOR_RATES[name]), row["people_total"]
        if all(row[part] is not None for part in parts):
            found[(*at, name)] = sum(int(row[part]) for part in parts)  # type: ignore[index]
        elif rate is not None and total:
            found[(*at, name)] = round(rate * total)  # type: ignore[index]


def read_previous(folder: Path) -> Previous:
    """The suppressions and published counts of the release in ``folder``."""
    path = folder / CERTIFICATE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        suppressed = {tuple(str(cell[name]) for name in LEVEL_NAMES) for cell in document["cells"]}
        primary = {
            tuple(str(cell[name]) for name in LEVEL_NAMES)
            for cell in document["cells"]
            if cell["reason"] == "primary"
        }
        published = published_cells(folder)
        returns = _returns(pl.read_parquet(folder / "manifest.parquet"))
    except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError) as problem:
        raise PreviousReleaseError(
            f"{folder} is not a published release (no readable {CERTIFICATE} and tables): {problem}"
        ) from problem
    periods = {key[0] for key in published} | {key[0] for key in suppressed}
    return Previous(
        suppressed=suppressed,  # type: ignore[arg-type]
        primary=primary,  # type: ignore[arg-type]
        published=published,
        periods=periods,
        returns=returns,
        source=str(folder),
    )


def _returns(manifest: pl.DataFrame) -> dict[tuple[str, str], str]:
    included = manifest.filter(pl.col("status") == "included")
    return {
        (code, period): digest
        for code, period, digest in included.select("council_code", "period", "sha256").iter_rows()
    }


#: marks the copy of a cell as an earlier release published it (see _earlier_copies)
EARLIER = "#earlier"


def _earlier_copies(
    tables: dict[str, pl.DataFrame],
    period: str,
    system: tuple[dict[Key, int], list[Equation[Key]], list[Equation[Key]]],
    previous: Previous,
) -> tuple[dict[Key, int], list[Equation[Key]], list[Equation[Key]], set[Key], set[Key]]:
    """The earlier release's relations for the cells a revision may have changed.

    A council whose return changed, its region and England may have other values now, so
    the attacker holds two unknowns for each such cell, one per release, linked through
    every cell that did not change. Protecting this release against both together needs
    the earlier release's relations over copies of those cells: its published values,
    its suppressed cells kept suppressed, and its primary cells protected again.
    Returns the copies' values, equations and derived equations, the copies to keep
    suppressed and those to protect as primary.
    """
    values, equations, derived = system
    now = _returns(tables["manifest"])
    councils = {code for code, p in (*now, *previous.returns) if p == period}
    changed = {c for c in councils if now.get((c, period)) != previous.returns.get((c, period))}
    if not changed:
        return {}, [], [], set(), set()
    frame = tables["councils"].filter(pl.col("period") == period)
    regions = {
        region
        for code, region in frame.select("council_code", "region_code").iter_rows()
        if code in changed
    }
    moved = changed | regions

    def copy(key: Key) -> Key:
        if key[1] == "england" or key[2] in moved:
            return (key[0] + EARLIER, *key[1:])
        return key

    copies = {copy(key): key for key in values if copy(key) != key}
    copied_values = {c: previous.published.get(key, 0) for c, key in copies.items()}
    keep = {c for c, key in copies.items() if key not in previous.published}
    primary = {c for c, key in copies.items() if key in previous.primary}

    def copied(found: list[Equation[Key]]) -> list[Equation[Key]]:
        return [
            Equation(copy(e.total), tuple(copy(p) for p in e.parts))
            for e in found
            if any(copy(m) != m for m in (e.total, *e.parts))
        ]

    # The earlier release's numerators are base cells here: the ones it published (from
    # a rate) are known values the attacker holds, not cells this release may hide.
    return copied_values, copied(equations) + copied(derived), [], keep, primary
