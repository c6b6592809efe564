"""The shipped reference councils: counts by period and successions, as the spec states."""

from __future__ import annotations

import pytest

from returns_kit.periods import Period
from returns_kit.reference import load_reference, names_match


@pytest.mark.parametrize(
    ("first", "last", "count"),
    [(2010, 2018, 152), (2019, 2020, 151), (2021, 2022, 152), (2023, 2026, 153)],
)
def test_councils_expected_per_period(first: int, last: int, count: int) -> None:
    reference = load_reference()
    for year in range(first, last + 1):
        assert len(reference.active(Period(year))) == count, Period(year)


def test_somerset_continues_and_reorganisations_break() -> None:
    reference = load_reference()
    assert reference.continued_by("E10000027").gss_code == "E06000066"  # type: ignore[union-attr]
    assert reference.continues("E06000066").gss_code == "E10000027"  # type: ignore[union-attr]
    assert reference.continued_by("E06000028") is None  # Bournemouth merged into BCP
    assert reference.continued_by("E10000006") is None  # Cumbria split in two
    assert reference.continues("E06000058") is None


def test_former_codes_resolve() -> None:
    assert load_reference().lookup("E08000020").name == "Gateshead"  # type: ignore[union-attr]


def test_names_match_tolerates_the_usual_variants() -> None:
    assert names_match("Somerset County Council", "Somerset")
    assert names_match(
        "Bournemouth, Christchurch & Poole Council", "Bournemouth, Christchurch and Poole"
    )
    assert not names_match("Hartlepool and District", "Hartlepool")


def test_county_councils_sit_in_their_ons_regions() -> None:
    """Two counties mySociety's file misplaces (see docs/reference-data.md)."""
    councils = load_reference().councils
    for code in ("E10000007", "E10000019"):  # Derbyshire, Lincolnshire
        assert councils[code].region_code == "E12000004"
