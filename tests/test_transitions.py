"""Client-level transitions and funnel limits.

The funnel limits are checked against Spiegelhalter's formulas written out again here, on
small panels; the transition matrix against counts taken straight from the synthetic people
behind two real returns (Westminster 2012-13 and 2013-14, with Clients sheets).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import zipfile
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from returns_kit.aggregate.run import AggregateOptions, aggregate
from returns_kit.cli import cli
from returns_kit.funnel import change_funnel, proportion_funnel
from returns_kit.rules.periods import relabelled_clients
from tools.synth.generate import assemble, generate_people
from tools.synth.people import Person
from tools.synth.write import write_xlsx

WESTMINSTER = "E09000033"
PERIODS = ("2012-13", "2013-14")

# --- funnel limits, by hand -------------------------------------------------------------


def hand_limits(
    values: list[float], se: list[float], target: float
) -> tuple[float, float, list[tuple[float, float, float, float]]]:
    """Spiegelhalter (2005), step by step: phi, tau^2 and each unit's 95% and 99.8% limits."""
    n = len(values)
    z = [(v - target) / s for v, s in zip(values, se, strict=True)]
    k = int(0.1 * n)  # 10% at each end
    ranked = sorted(z)
    lo, hi = ranked[k], ranked[n - 1 - k]
    winsorised = [lo if x < lo else hi if x > hi else x for x in z]
    phi = sum(x**2 for x in winsorised) / n
    w = [1 / s**2 for s in se]
    if n * phi > n - 1:
        tau2 = (n * phi - (n - 1)) / (sum(w) - sum(x**2 for x in w) / sum(w))
    else:
        tau2 = 0.0
    limits = []
    for s in se:
        wide = math.sqrt(s**2 + tau2)
        limits.append(
            (target - 1.959964 * wide, target + 1.959964 * wide,
             target - 3.090232 * wide, target + 3.090232 * wide)
        )  # fmt: skip
    return phi, tau2, limits


#: Twelve councils: label-only moves and moves, spread more than chance alone would spread
#: them (so the random effect is in play), with one far out at each end.
PANEL_EVENTS = [12, 30, 45, 8, 60, 22, 90, 5, 40, 33, 150, 2]
PANEL_TOTALS = [40, 100, 120, 50, 150, 80, 200, 60, 100, 90, 180, 70]


def test_proportion_funnel_matches_the_formula_written_out() -> None:
    found = proportion_funnel(PANEL_EVENTS, PANEL_TOTALS)
    assert found is not None
    target = sum(PANEL_EVENTS) / sum(PANEL_TOTALS)
    rates = [e / n for e, n in zip(PANEL_EVENTS, PANEL_TOTALS, strict=True)]
    se = [math.sqrt(target * (1 - target) / n) for n in PANEL_TOTALS]
    phi, tau2, limits = hand_limits(rates, se, target)
    assert found.target == pytest.approx(target)
    assert found.phi == pytest.approx(phi)
    assert tau2 > 0 and found.tau2 == pytest.approx(tau2)  # over-dispersed, as planted
    for unit, (lo95, hi95, lo998, hi998), n in zip(found.units, limits, PANEL_TOTALS, strict=True):
        assert (unit.lower_95, unit.upper_95) == pytest.approx((lo95, hi95), abs=1e-6)
        assert (unit.lower_998, unit.upper_998) == pytest.approx((lo998, hi998), abs=1e-6)
        assert unit.size == pytest.approx(n)  # a proportion's funnel is drawn against n
        assert found.limits_at(n, 1.959964) == pytest.approx((lo95, hi95), abs=1e-6)
    # Outside as the hand limits say: 150 of 180 beyond even the widened 99.8% limits, 2 of
    # 70 below the 95% ones only (tau^2 widens every council's limits alike).
    outside = [
        (not lo95 <= rate <= hi95, not lo998 <= rate <= hi998)
        for rate, (lo95, hi95, lo998, hi998) in zip(rates, limits, strict=True)
    ]
    assert [(u.outside_95, u.outside_998) for u in found.units] == outside
    assert outside[10] == (True, True) and outside[11] == (True, False)
    assert outside[1] == (False, False)


def test_without_over_dispersion_the_limits_are_binomial() -> None:
    # Five councils at nearly the same rate: I phi <= I - 1, so tau^2 = 0 and no winsorising.
    events, totals = [20, 41, 29, 50, 10], [100, 200, 150, 250, 50]
    found = proportion_funnel(events, totals)
    assert found is not None
    target = sum(events) / sum(totals)
    se = [math.sqrt(target * (1 - target) / n) for n in totals]
    phi, tau2, limits = hand_limits(
        [e / n for e, n in zip(events, totals, strict=True)], se, target
    )
    assert tau2 == 0.0 and found.tau2 == 0.0 and not found.overdispersed
    assert found.phi == pytest.approx(phi)
    for unit, (lo95, hi95, _, _), s in zip(found.units, limits, se, strict=True):
        assert (unit.lower_95, unit.upper_95) == pytest.approx((lo95, hi95), abs=1e-6)
        assert unit.upper_95 == pytest.approx(target + 1.959964 * s, abs=1e-6)


def test_a_handful_of_councils_gets_no_random_effect() -> None:
    # Four councils far apart: over-dispersed by the test, but four say too little about the
    # spread between councils, so the limits stay binomial.
    events, totals = [10, 90, 40, 70], [100, 100, 100, 100]
    found = proportion_funnel(events, totals)
    assert found is not None and found.phi is not None
    assert 4 * found.phi > 3 and found.tau2 == 0.0
    s = math.sqrt(0.525 * 0.475 / 100)
    assert found.units[0].upper_95 == pytest.approx(0.525 + 1.959964 * s, abs=1e-6)


def test_change_funnel_matches_the_formula_written_out() -> None:
    # Ten councils' personal budget holders and people, before and after.
    before_events = [300, 520, 150, 880, 410, 95, 700, 260, 330, 505]
    before_totals = [1000, 1800, 600, 2500, 1200, 400, 2000, 900, 1100, 1500]
    after_events = [420, 610, 330, 990, 560, 120, 1390, 300, 450, 640]
    after_totals = [1020, 1750, 640, 2550, 1180, 420, 2100, 880, 1150, 1480]
    found = change_funnel(before_events, before_totals, after_events, after_totals)
    assert found is not None
    pb, pa = sum(before_events) / sum(before_totals), sum(after_events) / sum(after_totals)
    changes = [
        ea / na - eb / nb
        for eb, nb, ea, na in zip(
            before_events, before_totals, after_events, after_totals, strict=True
        )
    ]
    se = [
        math.sqrt(pb * (1 - pb) / nb + pa * (1 - pa) / na)
        for nb, na in zip(before_totals, after_totals, strict=True)
    ]
    phi, tau2, limits = hand_limits(changes, se, pa - pb)
    assert found.target == pytest.approx(pa - pb)
    assert found.phi == pytest.approx(phi) and found.tau2 == pytest.approx(tau2)
    for unit, (lo95, hi95, lo998, hi998) in zip(found.units, limits, strict=True):
        assert (unit.lower_95, unit.upper_95, unit.lower_998, unit.upper_998) == pytest.approx(
            (lo95, hi95, lo998, hi998), abs=1e-6
        )
        # The chart's curve passes through the council's limits at its effective size.
        assert unit.size is not None
        assert found.limits_at(unit.size, 3.090232) == pytest.approx((lo998, hi998), abs=1e-6)


def test_a_funnel_with_no_spread_has_no_limits() -> None:
    found = proportion_funnel([0, 0], [10, 20])  # target 0: no standard error
    assert found is not None and all(unit.lower_95 is None for unit in found.units)
    assert proportion_funnel([0], [0]) is None


# --- the transition matrix on two real returns --------------------------------------------


def _signature(person: Person) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        sorted((s.service_type, s.arrangement, s.provider_ref or "") for s in person.services)
    )


def _cost(person: Person) -> int:
    return sum(s.weekly_cost_pence for s in person.services)


def expected_moves(
    before: list[Person], after: list[Person]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(type before, type after) -> (people, of whom same services and cost within 5%)."""
    earlier = {p.client_ref: p for p in before}
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for person in after:
        old = earlier.get(person.client_ref)
        if old is None:
            continue
        same = _signature(old) == _signature(person) and abs(
            _cost(person) - _cost(old)
        ) <= 0.05 * _cost(old)
        people, label_only = cells.get((old.budget_type, person.budget_type), (0, 0))
        cells[(old.budget_type, person.budget_type)] = (people + 1, label_only + int(same))
    return cells


LETTER = datetime.date(2013, 6, 3)


def westminster_pair(folder: Path) -> tuple[list[Person], list[Person]]:
    """Westminster's 2012-13 return and a 2013-14 one for the same people, less five who
    left and with thirty new: 20 on no budget relabelled council-managed with their support
    unchanged, 6 moved to council-managed with twice the cost (a real change)."""
    before = generate_people(WESTMINSTER, "2012-13", seed=5, people=300)
    newcomers = generate_people(WESTMINSTER, "2013-14", seed=6, people=30)
    after = [dataclasses.replace(p, services=list(p.services)) for p in before[5:]]
    on_none = [i for i, p in enumerate(after) if p.budget_type == "NO_PERSONAL_BUDGET"]
    assert len(on_none) >= 26
    for n, i in enumerate(on_none[:26]):
        person = after[i]
        services = person.services
        if n >= 20:
            services = [s._replace(weekly_cost_pence=2 * s.weekly_cost_pence) for s in services]
        after[i] = dataclasses.replace(
            person,
            budget_type="COUNCIL_MANAGED",
            services=services,
            allocation_notified_on=LETTER,
            support_plan_agreed_on=None,
            person_directs_support="N",
        )
    after = sorted([*after, *newcomers], key=lambda p: p.client_ref)
    folder.mkdir(parents=True, exist_ok=True)
    write_xlsx(assemble(WESTMINSTER, "2012-13", before, with_clients=True), folder / "w12.xlsx")
    write_xlsx(assemble(WESTMINSTER, "2013-14", after, with_clients=True), folder / "w13.xlsx")
    return before, after


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Person], list[Person]]:
    folder = tmp_path_factory.mktemp("westminster")
    before, after = westminster_pair(folder / "returns")
    return folder, before, after


def test_transition_matrix_counts_the_people_in_both_returns(
    pair: tuple[Path, list[Person], list[Person]],
) -> None:
    folder, before, after = pair
    result = aggregate([folder / "returns"], AggregateOptions(cache_dir=folder / "cache"))
    assert sorted(result.selection.included) == [(WESTMINSTER, "2012-13"), (WESTMINSTER, "2013-14")]
    transitions = result.tables["transitions"]
    assert transitions.height == 36  # every pair of the six types, once
    assert set(transitions["period"]) == {"2013-14"}
    assert set(transitions["period_before"]) == {"2012-13"}
    expected = expected_moves(before, after)
    for row in transitions.iter_rows(named=True):
        people, label_only = expected.get(
            (row["budget_type_before"], row["budget_type_after"]), (0, 0)
        )
        assert row["people"] == people, row
        if row["budget_type_before"] == row["budget_type_after"]:
            assert row["label_only"] is None
        else:
            assert row["label_only"] == label_only, row
    assert transitions["people"].sum() == 295  # 300 less the five who left; not newcomers
    # P003 counts the label-only moves from no budget to council-managed the same way.
    letter = transitions.filter(
        (pl.col("budget_type_before") == "NO_PERSONAL_BUDGET")
        & (pl.col("budget_type_after") == "COUNCIL_MANAGED")
    )
    before_summary, after_summary = (
        result.selection.included[(WESTMINSTER, period)].summary for period in PERIODS
    )
    assert before_summary is not None and after_summary is not None
    relabelled = relabelled_clients(before_summary, after_summary, 0.05)
    assert letter["label_only"].to_list() == [20] == [relabelled]
    (summary,) = result.tables["label_only"].iter_rows(named=True)
    assert (summary["people_followed"], summary["moves"], summary["label_only_moves"]) == (
        295,
        26,
        20,
    )
    assert summary["label_only_rate"] == pytest.approx(20 / 26, abs=1e-6)
    # One council in the period: it is the national rate, inside its own limits.
    assert summary["target_rate"] == pytest.approx(20 / 26, abs=1e-6)
    assert summary["outside_95"] is False


def test_no_client_ref_in_any_output(
    pair: tuple[Path, list[Person], list[Person]], tmp_path: Path
) -> None:
    folder, before, after = pair
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["aggregate", str(folder / "returns"), "--out", str(out), "--cache-dir", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    written = sorted(path for path in out.rglob("*") if path.is_file())
    names = {path.name for path in written}
    assert {"transitions.csv", "label_only.csv", "report.html"} <= names
    contents = []
    for path in written:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                contents += [archive.read(member) for member in archive.namelist()]
        else:
            contents.append(path.read_bytes())
    refs = {p.client_ref.encode() for p in [*before, *after]}
    assert len(refs) == 330
    leaked = sorted(ref for ref in refs if any(ref in blob for blob in contents))
    assert leaked == []
    assert "Label-only moves" in (out / "report.html").read_text("utf-8")
    # ... and the search could find one: the returns themselves carry them.
    with zipfile.ZipFile(folder / "returns" / "w13.xlsx") as archive:
        blob = b"".join(archive.read(member) for member in archive.namelist())
    assert any(ref in blob for ref in refs)


def test_published_release_leaves_the_client_tables_out(
    pair: tuple[Path, list[Person], list[Person]], tmp_path: Path
) -> None:
    folder, _, _ = pair
    out = tmp_path / "published"
    args = ["aggregate", str(folder / "returns"), "--out", str(out), "--publish"]
    result = CliRunner().invoke(cli, [*args, "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not list(out.glob("transitions.*")) and not list(out.glob("label_only.*"))
    page = (out / "report.html").read_text("utf-8")
    assert "Not in a published release" in page and "Label-only moves" not in page


@pytest.mark.parametrize(
    ("periods", "clients"),
    [(("2012-13", "2013-14"), (True, False)), (("2013-14", "2014-15"), (True, True))],
    ids=["one-without-clients", "across-the-2014-15-series-break"],
)
def test_no_transitions_without_clients_in_both_or_across_a_break(
    tmp_path: Path, periods: tuple[str, str], clients: tuple[bool, bool]
) -> None:
    people = generate_people(WESTMINSTER, periods[0], seed=5, people=60)
    for period, with_clients in zip(periods, clients, strict=True):
        ret = assemble(WESTMINSTER, period, people, with_clients=with_clients)
        write_xlsx(ret, tmp_path / f"{period}.xlsx")
    tables = aggregate([tmp_path], AggregateOptions(cache_dir=tmp_path / "cache")).tables
    assert tables["transitions"].is_empty() and tables["label_only"].is_empty()
    assert "label_only_rate" in tables["label_only"].columns
    assert tables["transitions"].schema["people"] == pl.Int64
