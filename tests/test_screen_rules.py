"""The aggregate's screens of the period (P010-P012) and the review list.

The HB expectations are computed here by a formula written out independently of
returns_kit.screening; the end-to-end test aggregates real generated workbooks.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from returns_kit.aggregate.columns import TABLES
from returns_kit.aggregate.review import review
from returns_kit.aggregate.run import AggregateOptions, aggregate
from returns_kit.aggregate.screens import screen_returns
from returns_kit.cli import main
from returns_kit.config import ConfigError, Thresholds, thresholds_from
from returns_kit.measures import BUDGET_TYPES, ReturnSummary
from returns_kit.reference import load_reference
from returns_kit.rules.ran import RulesRun
from tools.synth.generate import assemble, generate_people
from tools.synth.people import Service
from tools.synth.write import write_xlsx

from .test_screening import hb_by_hand

REFERENCE = load_reference()
#: six councils of one region (North East), so regional impact is over the same people
NORTH_EAST = ["E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000047"]


def summary(
    code: str,
    period: str,
    counts: dict[str, int],
    *,
    home_care: int = 0,
    dp_65: int | None = None,
) -> ReturnSummary:
    """A return's summary: the counts on two Budgets rows (18-64 and 65+; ``dp_65`` of the
    direct payments on the 65+ row, the rest on 18-64) and home care on a block contract."""
    dp = counts.get("dp_self_managed", 0)
    older = dp if dp_65 is None else dp_65
    rows = []
    for band, share in (("18-64", 0), ("65+", 1)):
        row = {name: (counts.get(name, 0) if share else 0) for name in BUDGET_TYPES}
        row["dp_self_managed"] = older if share else dp - older
        row["people_total"] = sum(row[name] for name in BUDGET_TYPES)
        rows.append({"age_band": band, "support_reason": "PHYS_PERSONAL", **row})
    services = [("HOME_CARE", "BLOCK_CONTRACT", home_care), ("HOME_CARE", "DIRECT_PAYMENT", dp)]
    return ReturnSummary(
        council_code=code,
        period=period,
        submitted_on=None,
        budgets=pl.DataFrame(rows),
        services=pl.DataFrame(
            [
                {"service_type": s, "arrangement": a, "people": n, "gross_spend_gbp": 1000.0 * n}
                for s, a, n in services
                if n
            ],
            schema={
                "service_type": pl.String,
                "arrangement": pl.String,
                "people": pl.Int64,
                "gross_spend_gbp": pl.Float64,
            },
        ),
    )


#: council -> (personal budget holders before, after) out of people_total (before, after)
HOLDERS = {
    "E06000001": ((300, 320), (1000, 1010)),
    "E06000002": ((450, 470), (1500, 1480)),
    "E06000003": ((200, 215), (800, 820)),
    "E06000004": ((600, 630), (2000, 2050)),
    "E06000005": ((150, 160), (500, 505)),
    "E06000047": ((240, 720), (1200, 1210)),  # the rate nearly trebles
}


def _six_councils() -> dict[tuple[str, str], ReturnSummary]:
    out = {}
    for code, ((h0, h1), (t0, t1)) in HOLDERS.items():
        for period, holders, total in (("2012-13", h0, t0), ("2013-14", h1, t1)):
            counts = {"council_managed": holders, "no_personal_budget": total - holders}
            out[(code, period)] = summary(code, period, counts)
    return out


def test_p010_scores_match_the_formula_written_out_on_six_councils() -> None:
    thresholds = Thresholds()
    found = screen_returns(_six_councils(), REFERENCE, thresholds)
    rates = {code: (h0 / t0, h1 / t1) for code, ((h0, h1), (t0, t1)) in HOLDERS.items()}
    sizes = {code: totals for code, (_, totals) in HOLDERS.items()}
    expected = hb_by_hand(rates, sizes, thresholds.hb_u, thresholds.hb_a, thresholds.hb_c)
    flagged = {
        (code, item.scope): item
        for (code, period), items in found.items()
        for item in items
        if item.rule == "P010"
    }
    outliers = {k for k, (e, lower, upper) in expected.items() if e < lower or e > upper}
    assert "E06000047" in outliers and len(outliers) < 6
    assert {code for code, scope in flagged if scope == "pb_rate"} == outliers
    for code in outliers:
        evidence = flagged[(code, "pb_rate")].evidence
        assert evidence is not None
        effect, lower, upper = expected[code]
        assert evidence["score"] == pytest.approx(effect, abs=1e-6)
        assert evidence["lower"] == pytest.approx(lower, abs=1e-6)
        assert evidence["upper"] == pytest.approx(upper, abs=1e-6)
        assert evidence["councils_compared"] == 6
    evidence = flagged[("E06000047", "pb_rate")].evidence
    assert evidence is not None
    assert (evidence["previous"], evidence["current"]) == pytest.approx((0.2, 720 / 1210))
    assert evidence["measure"] == "pb_rate" and evidence["previous_period"] == "2012-13"


def test_p010_follows_its_thresholds() -> None:
    """A C wide enough lets the trebling through; U = 0 is the size-free score."""
    assert not any(
        item.rule == "P010"
        for items in screen_returns(_six_councils(), REFERENCE, Thresholds(hb_c=2000.0)).values()
        for item in items
    )
    found = screen_returns(_six_councils(), REFERENCE, Thresholds(hb_u=0.0))
    item = next(i for i in found[("E06000047", "2013-14")] if i.scope == "pb_rate")
    rates = {code: (h0 / t0, h1 / t1) for code, ((h0, h1), (t0, t1)) in HOLDERS.items()}
    sizes = {code: totals for code, (_, totals) in HOLDERS.items()}
    effect, _, _ = hb_by_hand(rates, sizes, 0.0, 0.05, 7.0)["E06000047"]
    assert item.evidence is not None and item.evidence["score"] == pytest.approx(effect)


def _bury(dp: tuple[int, int], home: tuple[int, int]) -> dict[tuple[str, str], ReturnSummary]:
    code = "E08000002"
    out = {}
    for period, direct, care in (("2012-13", dp[0], home[0]), ("2013-14", dp[1], home[1])):
        counts = {"dp_self_managed": direct, "no_personal_budget": 3000 - direct}
        out[(code, period)] = summary(code, period, counts, home_care=care)
    return out


def test_p011_on_a_bury_like_pair_gives_both_counts_both_periods() -> None:
    found = screen_returns(_bury((1195, 480), (255, 1105)), REFERENCE, Thresholds())
    moves = [i for i in found[("E08000002", "2013-14")] if i.rule == "P011"]
    by_measure = {i.scope: i.evidence for i in moves}
    assert sorted(map(str, by_measure)) == ["direct_payments", "home_care"]
    dp = by_measure["direct_payments"]
    assert dp is not None
    assert (dp["previous"], dp["current"]) == (1195, 480)
    assert (dp["related"], dp["related_previous"], dp["related_current"]) == (
        "home_care",
        255,
        1105,
    )
    assert dp["factor"] == pytest.approx(1195 / 480, abs=1e-6)
    assert "1,195" in moves[0].message and "1,105" in moves[0].message


@pytest.mark.parametrize(
    ("dp", "home", "ratio", "flagged"),
    [
        ((1000, 600), (255, 1105), 2.0, ["home_care"]),  # dp only 1.67 down: home care's query
        ((1000, 600), (255, 1105), 1.5, ["direct_payments", "home_care"]),  # configurable
        ((1000, 400), (1000, 500), 2.0, []),  # both fall: a real change, not a query
    ],
)
def test_p011_ratio_and_direction(
    dp: tuple[int, int], home: tuple[int, int], ratio: float, flagged: list[str]
) -> None:
    found = screen_returns(_bury(dp, home), REFERENCE, Thresholds(count_move_ratio=ratio))
    items = found.get(("E08000002", "2013-14"), [])
    assert sorted(str(i.scope) for i in items if i.rule == "P011") == flagged


def test_p012_on_a_somerset_like_series_carries_the_series() -> None:
    code = "E10000027"
    series = {"2010-11": 275, "2011-12": 255, "2012-13": 870, "2013-14": 335}
    summaries = {
        (code, period): summary(
            code,
            period,
            {"dp_self_managed": 1000 + dp_65, "no_personal_budget": 5000},
            dp_65=dp_65,
        )
        for period, dp_65 in series.items()
    }
    found = screen_returns(summaries, REFERENCE, Thresholds())
    older: dict[tuple[str, str], dict[str, Any]] = {
        (period, i.evidence["kind"]): i.evidence
        for (_, period), items in found.items()
        for i in items
        if i.rule == "P012" and i.scope == "direct_payments/65+" and i.evidence is not None
    }
    assert sorted(older) == [("2012-13", "history"), ("2013-14", "spike")]
    spike = older[("2013-14", "spike")]
    assert (spike["reference"], spike["spike"], spike["current"]) == (255, 870, 335)
    assert spike["series"] == series
    assert older[("2012-13", "history")]["series"] == {
        p: v for p, v in series.items() if p <= "2012-13"
    }
    # The total direct payments (1,275 -> 1,870) are not out of line: only the 65+ count.
    assert not any(i.scope == "direct_payments" for items in found.values() for i in items)


def test_no_screen_compares_across_a_series_break() -> None:
    code = "E10000027"
    series = {"2012-13": 255, "2013-14": 260, "2014-15": 870, "2015-16": 880}
    summaries = {
        (code, period): summary(
            code, period, {"dp_self_managed": dp, "no_personal_budget": 4000}, home_care=400
        )
        for period, dp in series.items()
    }
    found = screen_returns(summaries, REFERENCE, Thresholds())  # 2014-15 is a break
    assert found == {}


def _flags(rows: list[tuple[str, str, str, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "council_code": pl.String,
            "period": pl.String,
            "rule": pl.String,
            "explained": pl.Boolean,
        },
        orient="row",
    ).with_columns(pl.lit("query").alias("severity"))


def _impact(moved: dict[str, int], period: str = "2013-14") -> pl.DataFrame:
    return pl.DataFrame(
        [(code, period, n, 100_000, 10_000) for code, n in moved.items()],
        schema={
            "council_code": pl.String,
            "period": pl.String,
            "people_moved": pl.Int64,
            "national_people": pl.Int64,
            "regional_people": pl.Int64,
        },
        orient="row",
    )


def test_review_ranks_relabelling_evidence_over_a_rise_alone() -> None:
    flags = _flags(
        [
            ("A", "2013-14", "P001", False),
            ("B", "2013-14", "P001", False),
            ("B", "2013-14", "P002", False),
            ("C", "2013-14", "P012", False),
        ]
    )
    ranked = review(flags, _impact({"A": 1000, "B": 1000, "C": 1000}))
    got = {row["council_code"]: row for row in ranked.iter_rows(named=True)}
    assert [got[c]["review_rank"] for c in "BAC"] == [1, 2, 3]
    assert got["B"]["review_suspicion"] == pytest.approx(1 - 0.6 * 0.3)
    assert got["A"]["review_impact_national"] == pytest.approx(0.01)
    assert got["A"]["review_impact_regional"] == pytest.approx(0.1)
    assert got["A"]["review_score"] == pytest.approx(0.4 * 0.055)


def test_review_explained_queries_weigh_less_and_ties_break_by_code() -> None:
    flags = _flags(
        [
            ("B", "2013-14", "P002", True),
            ("A", "2013-14", "P001", False),
            ("Z", "2013-14", "P001", False),
            ("Y", "2013-14", "P001", False),
        ]
    )
    ranked = review(flags, _impact({"A": 500, "B": 500, "Y": 500, "Z": 500}))
    order = ranked.sort("review_rank")["council_code"].to_list()
    assert order == ["A", "Y", "Z", "B"]  # 0.4 each, code order; explained P002 0.175


def test_validate_does_not_claim_the_aggregate_screens() -> None:
    run = RulesRun(opened=True, previous=True)
    not_run = run.not_run()
    for rule in ("P010", "P011", "P012"):
        assert "aggregate" in not_run[rule]
    assert "P001" not in not_run


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"hb_u": 1.5}, "exponent between 0 and 1"),
        ({"count_move_ratio": 1.0}, "factor, more than 1"),
        ({"out_of_line_ratio": 0.5}, "factor, more than 1"),
        ({"hb_a": 2}, "share"),
        ({"count_related_ratio": 0.9}, "at least 1"),
    ],
)
def test_screen_thresholds_are_checked(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        thresholds_from({"thresholds": table})
    assert thresholds_from({"thresholds": {"hb_c": 4, "count_screen_min": 20}}).hb_c == 4.0


def _people_with(code: str, period: str, seed: int) -> list:  # type: ignore[type-arg]
    return generate_people(code, period, seed=seed, people=2000)


def _relabel(people: list, count: int) -> None:  # type: ignore[type-arg]
    """NO_PERSONAL_BUDGET -> COUNCIL_MANAGED for ``count`` people, services unchanged."""
    moved = 0
    for person in people:
        if moved < count and person.budget_type == "NO_PERSONAL_BUDGET":
            person.budget_type = "COUNCIL_MANAGED"
            moved += 1


def _to_direct_payments(people: list, count: int) -> None:  # type: ignore[type-arg]
    """NO_PERSONAL_BUDGET -> a self-managed direct payment buying the same services."""
    moved = 0
    for person in people:
        if moved < count and person.budget_type == "NO_PERSONAL_BUDGET":
            person.budget_type = "DP_SELF_MANAGED"
            person.services = [
                Service(
                    s.service_type, "DIRECT_PAYMENT", None, s.weekly_cost_pence, s.planned_hours
                )
                for s in person.services
            ]
            moved += 1


def _direct_payments_to_home_care(people: list) -> None:  # type: ignore[type-arg]
    """Every self-managed and part direct payment reported as a council-managed budget in
    block-contract home care: direct payments fall sevenfold while home care rises (P011)."""
    for person in people:
        if person.budget_type in ("DP_SELF_MANAGED", "DP_PART"):
            person.budget_type = "COUNCIL_MANAGED"
            person.services = [Service("HOME_CARE", "BLOCK_CONTRACT", "PRV0001", 30_000, 10.0)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six North East councils, two periods; one relabels 220 of 2,000 people (P001 and P002), one
    moves 220 to direct payments (P001 only), one reports its direct payments as home care
    (P011)."""
    folder = tmp_path_factory.mktemp("planted")
    for index, code in enumerate(NORTH_EAST):
        people = _people_with(code, "2012-13", index)
        write_xlsx(assemble(code, "2012-13", people), folder / f"{code}-2012-13.xlsx")
        later = _people_with(code, "2012-13", index)  # the same people a year on
        if code == "E06000001":
            _relabel(later, 220)
        elif code == "E06000002":
            _to_direct_payments(later, 220)
        elif code == "E06000003":
            _direct_payments_to_home_care(later)
        write_xlsx(assemble(code, "2013-14", later), folder / f"{code}-2013-14.xlsx")
    return folder


@pytest.mark.slow
def test_review_list_end_to_end(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "aggregate",
            str(planted),
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "c"),
            "--quiet",
        ]
    )
    assert code == 0
    flags = pl.read_csv(out / "flags.csv", infer_schema_length=None)
    assert flags.columns == TABLES["flags"].names
    rules = {
        c: sorted(set(flags.filter(pl.col("council_code") == c)["rule"]))
        for c in ("E06000001", "E06000002")
    }
    assert {"P001", "P002"} <= set(rules["E06000001"])
    assert "P001" in rules["E06000002"] and "P002" not in rules["E06000002"]
    moves = flags.filter(pl.col("rule") == "P011").sort("measure")
    assert moves["council_code"].unique().to_list() == ["E06000003"]
    row = moves.filter(pl.col("measure") == "direct_payments").row(0, named=True)
    assert row["related_measure"] in ("home_care", "council_managed")
    assert row["value_before"] >= 2 * row["value_after"]
    assert row["related_after"] >= 1.25 * row["related_before"]
    rank = {
        c: flags.filter(pl.col("council_code") == c).row(0, named=True)
        for c in ("E06000001", "E06000002")
    }
    assert rank["E06000001"]["review_rank"] == 1
    assert rank["E06000002"]["review_rank"] == 2
    # The relabeller outranks on suspicion, not because it moved more people.
    assert rank["E06000002"]["review_people_moved"] == rank["E06000001"]["review_people_moved"]
    assert rank["E06000001"]["review_suspicion"] > rank["E06000002"]["review_suspicion"]
    # Every row of a council-period carries the same rank; the ranks run 1..n.
    ranked = flags.filter(pl.col("review_rank").is_not_null())
    per_key = ranked.group_by("council_code").agg(pl.col("review_rank").n_unique())
    assert per_key["review_rank"].to_list() == [1] * per_key.height
    assert sorted(set(ranked["review_rank"])) == list(range(1, per_key.height + 1))
    # The evidence is data: a P010 row's columns equal its JSON evidence.
    for row in flags.filter(pl.col("rule") == "P010").iter_rows(named=True):
        evidence = json.loads(row["evidence"])
        assert (row["value_before"], row["value_after"]) == pytest.approx(
            (evidence["previous"], evidence["current"])
        )
        # Five councils stood still, so the cut-offs close on the median (0): any move is out.
        assert row["lower"] <= row["upper"] and not row["lower"] <= row["score"] <= row["upper"]
    page = (out / "report.html").read_text()
    assert page.index('id="review"') < page.index('id="trends"')
    first = page.index('id="review-2013-14"')
    assert page.index("E06000001", first) < page.index("E06000002", first)


def test_a_published_release_withholds_the_count_screens(planted: Path, tmp_path: Path) -> None:
    result = aggregate(
        [planted], AggregateOptions(cache_dir=tmp_path / "c", publish=True, workers=1)
    )
    flags = result.tables["flags"]
    assert flags["evidence"].null_count() == flags.height
    moves = flags.filter(pl.col("rule") == "P011")
    assert set(moves["council_code"]) == {"E06000003"}
    for row in moves.iter_rows(named=True):
        assert row["value_before"] is None and row["related_before"] is None
        assert row["message"].startswith("Details withheld")


def test_the_panel_is_unchanged_by_row_order() -> None:
    summaries = list(_six_councils().items())
    random.Random(3).shuffle(summaries)
    shuffled = screen_returns(dict(summaries), REFERENCE, Thresholds())
    assert {k: [i.evidence for i in v] for k, v in shuffled.items()} == {
        k: [i.evidence for i in v]
        for k, v in screen_returns(_six_councils(), REFERENCE, Thresholds()).items()
    }


def test_tables_xlsx_shows_the_screens_values_as_stored(tmp_path: Path) -> None:
    """A count of 1,195 people before is not 119,500.0%: the screens' value columns hold
    rates for some measures and counts for others, so they take no percentage format."""
    import openpyxl

    from returns_kit.aggregate.write import write_workbook

    screened = pl.DataFrame(
        {
            "rule": ["P011"],
            "severity": ["query"],
            "value_before": [1195.0],
            "value_after": [400.0],
            "related_before": [10.0],
            "related_after": [30.0],
            "pb_rate_before": [0.415],
            "block_share_after": [0.2],
        }
    )
    write_workbook({"flags": screened}, tmp_path / "tables.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "tables.xlsx")["flags"]
    shown = {sheet.cell(1, i).value: sheet.cell(2, i) for i in range(1, sheet.max_column + 1)}
    for name in ("value_before", "value_after", "related_before", "related_after"):
        assert shown[name].number_format == "General", name
    assert shown["value_before"].value == 1195
    assert shown["pb_rate_before"].number_format == "0.0%"
    assert shown["block_share_after"].number_format == "0.0%"
