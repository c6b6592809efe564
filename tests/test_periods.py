"""Period-to-period rules on hand-built summaries: each threshold, each side of it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from returns_kit.config import ConfigError, Thresholds, load_thresholds
from returns_kit.measures import BUDGET_TYPES, ReturnSummary, total_variation
from returns_kit.reference import load_reference
from returns_kit.rules.periods import period_findings

REFERENCE = load_reference()


def summary(
    period: str,
    counts: dict[str, int],
    services: dict[tuple[str, str], int],
    clients: list[tuple[str, str, str, str, str, float]] | None = None,
    code: str = "E06000001",
) -> ReturnSummary:
    """A one-row Budgets (the rest of the 26 rows zero) and the given Services people."""
    row = {
        "age_band": "65+",
        "support_reason": "PHYS_PERSONAL",
        "people_total": sum(counts.values()),
        **{name: counts.get(name, 0) for name in BUDGET_TYPES},
    }
    client_frame = None
    if clients is not None:
        client_frame = pl.DataFrame(
            clients,
            orient="row",
            schema=[
                "_client",
                "budget_type",
                "service_type",
                "arrangement",
                "provider_ref",
                "weekly_cost_gbp",
            ],
        )
    return ReturnSummary(
        council_code=code,
        period=period,
        submitted_on=None,
        budgets=pl.DataFrame([row]),
        services=pl.DataFrame(
            [
                {"service_type": s, "arrangement": a, "people": n, "gross_spend_gbp": 1000.0 * n}
                for (s, a), n in services.items()
            ]
        ),
        clients=client_frame,
    )


HOME_BLOCK, HOME_DP = ("HOME_CARE", "BLOCK_CONTRACT"), ("HOME_CARE", "DIRECT_PAYMENT")
LIVING_ISF = ("SUPPORTED_LIVING", "ISF")


def rules(before: ReturnSummary, after: ReturnSummary, **changes: object) -> list[str]:
    thresholds = Thresholds(**changes)  # type: ignore[arg-type]
    _, findings = period_findings(before, after, REFERENCE, thresholds)
    return [f.rule for f in findings]


def test_relabelling_raises_p001_and_p002() -> None:
    # 100 people; 30 move from no budget to council-managed; nothing else changes.
    before = summary(
        "2012-13", {"dp_self_managed": 5, "no_personal_budget": 95}, {HOME_BLOCK: 95, HOME_DP: 5}
    )
    after = summary(
        "2013-14",
        {"dp_self_managed": 5, "council_managed": 30, "no_personal_budget": 65},
        {HOME_BLOCK: 95, HOME_DP: 5},
    )
    assert rules(before, after) == ["P001", "P002"]


def test_a_genuine_isf_rise_raises_p001_only() -> None:
    before = summary(
        "2012-13", {"dp_self_managed": 5, "no_personal_budget": 95}, {HOME_BLOCK: 95, HOME_DP: 5}
    )
    after = summary(
        "2013-14",
        {"dp_self_managed": 5, "isf": 30, "no_personal_budget": 65},
        {HOME_BLOCK: 65, HOME_DP: 5, LIVING_ISF: 30},
    )
    assert rules(before, after) == ["P001"]


@pytest.mark.parametrize(("moved", "expected"), [(9, []), (10, ["P001", "P002"])])
def test_p001_threshold_is_ten_points_inclusive(moved: int, expected: list[str]) -> None:
    before = summary("2012-13", {"no_personal_budget": 100}, {HOME_BLOCK: 100})
    after = summary(
        "2013-14", {"council_managed": moved, "no_personal_budget": 100 - moved}, {HOME_BLOCK: 100}
    )
    assert rules(before, after) == expected


def test_p002_needs_every_stability_condition() -> None:
    before = summary("2012-13", {"no_personal_budget": 100}, {HOME_BLOCK: 100})
    after = summary(
        "2013-14",
        {"council_managed": 20, "no_personal_budget": 80},
        {HOME_BLOCK: 90, ("HOME_CARE", "SPOT_CONTRACT"): 10},
    )
    # The mix moved by 0.10 (total variation) and block share by 10 points: not P002.
    assert rules(before, after) == ["P001"]
    assert rules(before, after, service_shift_max=0.2, block_share_stable=0.2) == ["P001", "P002"]


@pytest.mark.parametrize(("after_total", "expected"), [(125, []), (126, ["P004"]), (74, ["P004"])])
def test_p004_people_total_change_over_a_quarter(after_total: int, expected: list[str]) -> None:
    before = summary("2012-13", {"no_personal_budget": 100}, {HOME_BLOCK: 100})
    after = summary("2013-14", {"no_personal_budget": after_total}, {HOME_BLOCK: after_total})
    assert rules(before, after) == expected


def _clients(
    budget: str, count: int, cost: float, provider: str = "PRV1"
) -> list[tuple[str, str, str, str, str, float]]:
    return [
        (f"CL{i:05d}", budget, "HOME_CARE", "BLOCK_CONTRACT", provider, cost) for i in range(count)
    ]


@pytest.mark.parametrize(
    ("count", "cost_after", "provider_after", "expected"),
    [
        (50, 100.0, "PRV1", 50),
        (49, 100.0, "PRV1", 49),
        (60, 105.0, "PRV1", 60),
        (60, 105.1, "PRV1", 0),
        (60, 100.0, "PRV2", 0),
    ],
    ids=["fifty", "forty-nine", "cost-within-5%", "cost-beyond-5%", "new-provider"],
)
def test_p003_counts_clients_relabelled_with_nothing_else_changed(
    count: int, cost_after: float, provider_after: str, expected: int
) -> None:
    before = summary(
        "2012-13",
        {"no_personal_budget": count},
        {HOME_BLOCK: count},
        _clients("NO_PERSONAL_BUDGET", count, 100.0),
    )
    after = summary(
        "2013-14",
        {"council_managed": count},
        {HOME_BLOCK: count},
        _clients("COUNCIL_MANAGED", count, cost_after, provider_after),
    )
    _, findings = period_findings(before, after, REFERENCE, Thresholds())
    relabelled = [f for f in findings if f.rule == "P003"]
    assert (relabelled[0].evidence == {"clients": expected}) if expected >= 50 else not relabelled


def test_series_break_and_reorganisation_give_p005_and_no_comparison() -> None:
    same = summary("2013-14", {"no_personal_budget": 100}, {HOME_BLOCK: 100})
    jump = summary("2014-15", {"council_managed": 50, "no_personal_budget": 50}, {HOME_BLOCK: 100})
    assert rules(same, jump) == ["P005"]
    bcp_before = summary(
        "2018-19", {"no_personal_budget": 100}, {HOME_BLOCK: 100}, code="E06000028"
    )
    bcp = summary(
        "2019-20",
        {"council_managed": 50, "no_personal_budget": 50},
        {HOME_BLOCK: 100},
        code="E06000058",
    )
    assert rules(bcp_before, bcp) == ["P005"]


def test_total_variation_distance() -> None:
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1
    assert total_variation({"a": 0.6, "b": 0.4}, {"a": 0.5, "b": 0.5}) == pytest.approx(0.1)


def test_thresholds_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "returns.toml"
    path.write_text('[thresholds]\npb_rate_jump = 0.05\nseries_breaks = ["2014-15"]\n')
    loaded = load_thresholds(path)
    assert loaded.pb_rate_jump == 0.05 and loaded.series_breaks == ("2014-15",)
    assert loaded.choice_rate_stable == Thresholds().choice_rate_stable
    for bad in (
        "[thresholds]\npb_rate_jmp = 1\n",
        '[thresholds]\npb_rate_jump = "x"\n',
        "[thresholds\n",
        "[other]\nx = 1\n",
        "[thresholds]\npb_rate_jump = -1\n",
    ):
        path.write_text(bad)
        with pytest.raises(ConfigError):
            load_thresholds(path)
