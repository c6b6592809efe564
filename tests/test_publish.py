"""--publish: no count of 1 to 4 is visible, none can be worked back from the rest, exactly
or to within 1 to 4, from one release or from a release and its revision together.

The attacker here rebuilds the relations from the published files only (counts, and the
numerators that published rates give away), with its own code and its own LP
(tests/lp_attack.py), not with returns_kit's publish or disclosure code. The true values
come from an unprotected run of the same returns, to tell which hidden cells are 1 to 4.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from returns_kit.aggregate.flags import WITHHELD
from returns_kit.cli import main
from returns_kit.measures import BUDGET_TYPES, CHOICE, COUNTS, DIRECT_PAYMENTS, PERSONAL_BUDGETS
from tests.lp_attack import bounds as lp_bounds
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
PERIODS = ("2012-13", "2013-14")
OTHER = ("service_people", "block_contract_people", "nominal_budgets")
TABLES = {"council": "councils", "region": "regions", "england": "england"}
CODE = {"council": "council_code", "region": "region_code", "england": "geography_code"}
NUMERATORS = {
    "pb_holders": ("pb_rate", PERSONAL_BUDGETS),
    "dp_people": ("dp_rate", DIRECT_PAYMENTS),
    "choice_people": ("choice_rate", CHOICE),
}
REVISED = "E06000003"

Key = tuple[str, ...]
Relation = tuple[Key, tuple[Key, ...]]


def aggregate(folder: Path, out: Path, cache: Path, *extra: str) -> None:
    args = ["aggregate", str(folder), "--out", str(out), "--quiet", "--cache-dir", str(cache)]
    # The files are read, not the page (tests/test_transitions.py looks at a published page).
    assert main([*args, "--no-report", *extra]) == 0


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An open run and a release; then one council's later return revised, its open run and
    a revision published with --previous-release."""
    root = tmp_path_factory.mktemp("publish")
    folder = root / "in"
    folder.mkdir()
    for i, code in enumerate(COUNCILS):
        for period in PERIODS:
            write_xlsx(
                generate_return(code, period, people=120 + 15 * i, seed=i),
                folder / f"{code}-{period}.xlsx",
            )
    cache = root / "cache"
    aggregate(folder, root / "open", cache)
    aggregate(folder, root / "published", cache, "--publish")
    write_xlsx(
        generate_return(REVISED, PERIODS[1], people=160, seed=99),
        folder / f"{REVISED}-{PERIODS[1]}.xlsx",
    )
    aggregate(folder, root / "open2", cache)
    aggregate(
        folder,
        root / "revised",
        cache,
        "--publish",
        "--previous-release",
        str(root / "published"),
    )
    return {name: root / name for name in ("open", "published", "open2", "revised")}


def read(folder: Path, table: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{table}.csv", infer_schema_length=None)


def cells(folder: Path) -> dict[Key, Any]:
    """Every count by (period, level, geography, age, reason, measure), blank as None, and
    every rate's numerator the rate and its denominator give away (None where they do not;
    from an open run, the true numerator)."""
    found: dict[Key, Any] = {}

    def take(at: Key, row: dict[str, Any], measures: tuple[str, ...]) -> None:
        for measure in measures:
            found[(*at, measure)] = row[measure]
        for name, (rate, parts) in NUMERATORS.items():
            if all(row[part] is not None for part in parts):
                found[(*at, name)] = sum(row[part] for part in parts)
            elif row[rate] is not None and row["people_total"]:
                found[(*at, name)] = round(row[rate] * row["people_total"])
            elif name == "pb_holders" and row["council_managed_share"] and row["council_managed"]:
                found[(*at, name)] = round(row["council_managed"] / row["council_managed_share"])
            else:
                found[(*at, name)] = None

    for row in read(folder, "breakdowns").iter_rows(named=True):
        at = (
            row["period"],
            row["level"],
            row["geography_code"],
            row["age_band"],
            row["support_reason"],
        )
        take(at, row, COUNTS)
    for level, table in TABLES.items():
        for row in read(folder, table).iter_rows(named=True):
            at = (row["period"], level, row[CODE[level]], "ALL", "ALL")
            for measure in OTHER:
                found[(*at, measure)] = row[measure]
            # the same row's counts are the breakdowns' ALL/ALL cells: must agree
            for measure in COUNTS:
                assert found.get((*at, measure), row[measure]) == row[measure], (at, measure)
    return found


def applicable(truth: dict[Key, Any], shown: dict[Key, Any]) -> dict[Key, Any]:
    """The published cells that exist (a blank one is hidden, not a count left out: a
    council without Clients has no nominal budgets, a region without councils no counts)."""
    return {key: value for key, value in shown.items() if truth.get(key) is not None}


def relations(shown: dict[Key, Any], councils: pl.DataFrame) -> list[Relation]:
    """The additive relations an attacker can read off the published tables."""
    found: list[Relation] = []
    by_place: dict[Key, set[tuple[str, str]]] = defaultdict(set)
    for period, level, geography, age, reason, _ in shown:
        by_place[(period, level, geography)].add((age, reason))
    for place, pairs in by_place.items():
        for age, reason in pairs:
            at = (*place, age, reason)
            found.append(((*at, "people_total"), tuple((*at, m) for m in BUDGET_TYPES)))
            for name, (_, parts) in NUMERATORS.items():
                found.append(((*at, name), tuple((*at, m) for m in parts)))
        ages = sorted({a for a, _ in pairs} - {"ALL"})
        reasons = sorted({r for _, r in pairs} - {"ALL"})
        for measure in COUNTS:
            for age in ages:
                if reasons:
                    found.append(
                        (
                            (*place, age, "ALL", measure),
                            tuple((*place, age, r, measure) for r in reasons),
                        )
                    )
            for reason in reasons:
                found.append(
                    (
                        (*place, "ALL", reason, measure),
                        tuple((*place, a, reason, measure) for a in ages),
                    )
                )
            if ages:
                found.append(
                    (
                        (*place, "ALL", "ALL", measure),
                        tuple((*place, a, "ALL", measure) for a in ages),
                    )
                )
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for period, council, region in councils.select(
        "period", "council_code", "region_code"
    ).iter_rows():
        members[(period, region)].append(council)
    suffixes = {key[3:] for key in shown if key[1] == "council"}
    for suffix in suffixes:
        for (period, region), codes in members.items():
            found.append(
                (
                    (period, "region", region, *suffix),
                    tuple((period, "council", c, *suffix) for c in codes),
                )
            )
        for period in {p for p, _ in members}:
            regions = sorted({r for p, r in members if p == period})
            found.append(
                (
                    (period, "england", "E92000001", *suffix),
                    tuple((period, "region", r, *suffix) for r in regions),
                )
            )
    return [r for r in found if r[0] in shown and all(p in shown for p in r[1])]


def attack(
    truth: dict[Key, int], shown: dict[Key, Any], found: list[Relation]
) -> tuple[dict[Key, float], set[Key]]:
    """The highest value the LP allows each hidden cell of 1 to 4, and the hidden cells it
    pins to one value."""
    hidden = {key for key, value in shown.items() if value is None}
    published = {key: value for key, value in shown.items() if value is not None}
    limits = lp_bounds(published, found, hidden)
    small = {key: limits[key][1] for key in hidden if 1 <= truth[key] <= 4}
    pinned = {key for key, (low, high) in limits.items() if high - low < 1e-6}
    return small, pinned


@pytest.mark.slow
def test_no_count_of_one_to_four_is_published(releases: dict[str, Path]) -> None:
    published = releases["published"]
    for table in ("breakdowns", "councils", "regions", "england"):
        frame = read(published, table)
        for column in (*COUNTS, *OTHER):
            if column in frame.columns:
                assert not frame[column].is_between(1, 4).any(), (table, column)
    assert not (published / "findings.csv").exists()
    council_detail = read(published, "breakdowns").filter(
        (pl.col("level") == "council") & (pl.col("support_reason") != "ALL")
    )
    assert council_detail.height == 0


@pytest.mark.slow  # the independent attacker's LPs over a release: about 20 s
def test_the_published_files_give_no_small_count_away(releases: dict[str, Path]) -> None:
    truth = cells(releases["open"])
    shown = applicable(truth, cells(releases["published"]))
    assert all(truth[k] == v for k, v in shown.items() if v is not None)
    found = relations(shown, read(releases["published"], "councils"))
    small, pinned = attack(truth, shown, found)
    assert len(small) > 30  # the attack had small counts to go after
    assert {key: upper for key, upper in small.items() if upper < 5 - 1e-6} == {}
    assert pinned == set()


def test_a_rate_is_published_wherever_its_counts_give_it_away(
    releases: dict[str, Path],
) -> None:
    # Blanking a rate whose numerator is one subtraction away protects nothing and
    # hides a figure users need: people_total - no_personal_budget is the holders.
    for table in ("breakdowns", "councils", "regions", "england"):
        for row in read(releases["published"], table).iter_rows(named=True):
            total, without = row["people_total"], row["no_personal_budget"]
            if total and without is not None:
                assert row["pb_rate"] == pytest.approx((total - without) / total, abs=1e-6)
            if total and all(row[m] is not None for m in DIRECT_PAYMENTS):
                assert row["dp_rate"] is not None


def test_the_certificate_lists_every_blank_with_its_reason_and_bound(
    releases: dict[str, Path],
) -> None:
    published = releases["published"]
    document = json.loads((published / "disclosure.json").read_text("utf-8"))
    listed = {
        tuple(
            c[n] for n in ("period", "level", "geography", "age_band", "support_reason", "measure")
        ): c
        for c in document["cells"]
    }
    truth = cells(releases["open"])
    shown = applicable(truth, cells(published))
    blank = {key for key, value in shown.items() if value is None}
    counts = {key for key in blank if key[5] in (*COUNTS, *OTHER)}
    assert counts <= listed.keys()
    for key, cell in listed.items():
        if cell["reason"] == "primary":
            assert 1 <= truth[key] <= 4
            assert cell["attacker_upper"] is None or cell["attacker_upper"] >= 5 - 1e-6
        else:
            assert cell["reason"] == "secondary"
    assert document["suppressed"]["primary"] == sum(
        c["reason"] == "primary" for c in document["cells"]
    )


def test_flags_show_rates_only_where_the_council_rates_are_published(
    releases: dict[str, Path],
) -> None:
    published = releases["published"]
    councils = {
        (r["council_code"], r["period"]): r
        for r in read(published, "councils").iter_rows(named=True)
    }
    flags = read(published, "flags")
    assert flags.height > 0
    assert flags["service_shift"].null_count() == flags.height
    for row in flags.iter_rows(named=True):
        after = councils[(row["council_code"], row["period"])]
        if after["pb_rate"] is None:
            assert row["pb_rate_after"] is None
            assert row["pb_change_robust_z"] is None
        if row["rule"] == "P002":  # it quotes the service shift
            assert row["message"] == WITHHELD


def revision_system(
    releases: dict[str, Path],
) -> tuple[dict[Key, int], dict[Key, Any], list[Relation]]:
    """Both releases as one system. The attacker knows which council revised which period:
    that council's cells, its region's and England's in that period may have changed, so
    they are an unknown per release; every other cell is one unknown in both."""
    region = {
        r["council_code"]: r["region_code"]
        for r in read(releases["open"], "councils").iter_rows(named=True)
    }[REVISED]
    truth: dict[Key, int] = {}
    shown: dict[Key, Any] = {}
    found: list[Relation] = []
    for tag, open_, published in (("r1", "open", "published"), ("r2", "open2", "revised")):
        true_values = cells(releases[open_])
        seen = applicable(true_values, cells(releases[published]))

        def name(key: Key, tag: str = tag) -> Key:
            changed = key[0] == PERIODS[1] and (key[2] in (REVISED, region) or key[1] == "england")
            return (tag, *key) if changed else key

        for key, value in seen.items():
            renamed = name(key)
            truth[renamed] = true_values[key]
            if value is not None or renamed not in shown:
                shown[renamed] = value
        for total, parts in relations(seen, read(releases[published], "councils")):
            found.append((name(total), tuple(name(p) for p in parts)))
    return truth, shown, found


def test_a_revision_keeps_every_earlier_suppression(releases: dict[str, Path]) -> None:
    first, second = cells(releases["published"]), cells(releases["revised"])
    assert [k for k, v in first.items() if v is None and second[k] is not None] == []
    document = json.loads((releases["revised"] / "disclosure.json").read_text("utf-8"))
    assert document["previous_release"] == str(releases["published"])
    earlier = json.loads((releases["published"] / "disclosure.json").read_text("utf-8"))
    names = ("period", "level", "geography", "age_band", "support_reason", "measure")
    listed = {tuple(c[n] for n in names) for c in document["cells"]}
    assert {tuple(c[n] for n in names) for c in earlier["cells"]} <= listed
    assert document["suppressed"]["earlier_release"] > 0
    truth1, truth2 = cells(releases["open"]), cells(releases["open2"])
    assert any(truth1[k] != truth2[k] for k in truth1)  # the revision changed something


@pytest.mark.slow  # the independent attacker's LPs over two releases: about a minute
def test_a_release_and_its_revision_together_give_no_small_count_away(
    releases: dict[str, Path],
) -> None:
    truth, shown, found = revision_system(releases)
    small, pinned = attack(truth, shown, found)
    assert {key: upper for key, upper in small.items() if upper < 5 - 1e-6} == {}
    assert pinned == set()


def test_the_progress_bar_covers_the_protection(releases: dict[str, Path]) -> None:
    from returns_kit.aggregate.run import AggregateOptions
    from returns_kit.aggregate.run import aggregate as run_aggregate

    calls: list[tuple[Any, ...]] = []
    folder = releases["open"].parent / "in"
    options = AggregateOptions(publish=True, cache_dir=releases["open"].parent / "cache")
    run_aggregate([folder], options, lambda *args: calls.append(args))
    protecting = [call for call in calls if call[2:] == ("protecting", "small counts")]
    assert protecting[0][0] == 0
    assert protecting[-1][0] == protecting[-1][1] > 0
    assert calls.index(protecting[0]) > 0  # after validation


def test_previous_release_needs_publish_and_a_release(
    releases: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = releases["open"]
    assert (
        main(
            [
                "aggregate",
                str(folder),
                "--out",
                str(tmp_path / "o"),
                "--previous-release",
                str(folder),
            ]
        )
        == 2
    )
    assert "--previous-release needs --publish" in capsys.readouterr().err
    args = ["aggregate", str(folder), "--out", str(tmp_path / "p"), "--publish"]
    assert main([*args, "--previous-release", str(folder)]) == 2
    assert "not a published release" in capsys.readouterr().err


def test_a_revision_that_cannot_be_protected_is_refused(releases: dict[str, Path]) -> None:
    # An earlier release that published every cell leaves nothing to hide a small count
    # behind: publishing is refused rather than done unsafely.
    from returns_kit.aggregate.publish import (
        Previous,
        ProtectionError,
        period_system,
        suppressed_cells,
    )
    from returns_kit.aggregate.run import AggregateOptions
    from returns_kit.aggregate.run import aggregate as run_aggregate

    folder = releases["open"].parent / "in"
    options = AggregateOptions(cache_dir=releases["open"].parent / "cache")
    tables = run_aggregate([folder], options).tables
    tables = {
        **tables,
        "breakdowns": tables["breakdowns"].filter(
            (pl.col("level") != "council") | (pl.col("support_reason") == "ALL")
        ),
    }
    everything: dict[Any, int] = {}
    for period in PERIODS:
        everything |= period_system(tables, period)[0]
    manifest = tables["manifest"].filter(pl.col("status") == "included")
    previous = Previous(
        published=everything,
        periods=set(PERIODS),
        returns={
            (code, period): digest
            for code, period, digest in manifest.select(
                "council_code", "period", "sha256"
            ).iter_rows()
        },
    )
    with pytest.raises(ProtectionError, match="no suppression can hide"):
        suppressed_cells(tables, previous)
