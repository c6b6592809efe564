"""The shipped national example: the planted gaming is flagged, and only it, with its evidence.

fixtures/national/expected.json was written by the generator from the spec's
definitions applied to the workbooks it wrote, independently of returns_kit's rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from returns_kit.cli import main

from .typed import number

NATIONAL = Path(__file__).resolve().parent.parent / "fixtures" / "national"
EXPECTED = json.loads((NATIONAL / "expected.json").read_text())


@pytest.fixture(scope="module")
def run(national_run: dict[str, object]) -> dict[str, object]:
    return national_run


def tables(run: dict[str, object]) -> dict[str, pl.DataFrame]:
    return run["tables"]  # type: ignore[return-value]


def test_every_return_is_included_and_none_missing(run: dict[str, object]) -> None:
    assert run["code"] == 0
    manifest = tables(run)["manifest"]
    included = manifest.filter(pl.col("status") == "included")
    assert included.height == EXPECTED["files"]
    skipped = manifest.filter(pl.col("status") == "skipped")["path"].to_list()
    assert sorted(Path(p).name for p in skipped) == ["README.md", "expected.json"]
    assert manifest.height == included.height + len(skipped)


def test_exactly_the_planted_flags_are_raised(run: dict[str, object]) -> None:
    # expected.json holds the pair rules' flags, worked out by the generator from the spec;
    # the aggregate's screens of the period (P010-P012) are checked on their own below.
    flags = tables(run)["flags"].filter(~pl.col("rule").is_in(["P010", "P011", "P012"]))
    raised: dict[tuple[str, str], list[str]] = {
        (r["council_code"], r["period"]): []
        for r in flags.iter_rows(named=True)
        if r["rule"] != "P005"
    }
    for row in flags.filter(pl.col("rule") != "P005").iter_rows(named=True):
        raised[(row["council_code"], row["period"])].append(row["rule"])
    expected = {
        (f["council"], f["after"]): f["rules"] for f in EXPECTED["flags"] if not f["no_comparison"]
    }
    assert raised == expected
    assert raised[("E10000027", "2013-14")] == ["P001", "P002", "P003"]  # Somerset's letter
    assert raised[("E08000035", "2013-14")] == ["P001"]  # Leeds's real move to ISFs


def test_the_review_list_puts_somersets_letter_first(run: dict[str, object]) -> None:
    flags = tables(run)["flags"]
    latest = flags.filter((pl.col("period") == "2013-14") & pl.col("review_rank").is_not_null())
    first = latest.sort("review_rank").row(0, named=True)
    assert (first["council_code"], first["review_rank"]) == ("E10000027", 1)
    leeds = latest.filter(pl.col("council_code") == "E08000035")["review_rank"].unique()
    assert leeds.to_list() == [2]
    somerset = latest.filter(pl.col("council_code") == "E10000027")
    screens = somerset.filter(pl.col("rule") == "P010")
    assert screens["measure"].to_list() == ["pb_rate"]  # judged against the period too
    assert (screens["score"] > screens["upper"]).all()
    # A series break leaves nothing to screen or rank.
    assert flags.filter(pl.col("period") == "2014-15")["review_rank"].null_count() == (
        flags.filter(pl.col("period") == "2014-15").height
    )


def test_the_series_break_stops_every_comparison(run: dict[str, object]) -> None:
    p005 = tables(run)["flags"].filter(pl.col("rule") == "P005")
    assert set(p005["period"]) == set(EXPECTED["series_breaks"]["P005"])
    assert p005.height == 152


def test_flags_carry_their_evidence(run: dict[str, object]) -> None:
    flags = tables(run)["flags"]
    for planted in (f for f in EXPECTED["flags"] if not f["no_comparison"]):
        row = flags.filter(
            (pl.col("council_code") == planted["council"]) & (pl.col("period") == planted["after"])
        ).row(0, named=True)
        assert row["pb_rate_before"] == pytest.approx(planted["rate_before"], abs=1e-4)
        assert row["pb_rate_after"] == pytest.approx(planted["rate_after"], abs=1e-4)
        assert row["choice_rate_change"] == pytest.approx(
            planted["choice_after"] - planted["choice_before"], abs=2e-4
        )
        assert row["service_shift"] == pytest.approx(planted["service_tvd"], abs=1e-4)
        assert row["block_share_before"] == pytest.approx(planted["block_before"], abs=1e-4)
        assert row["block_share_after"] == pytest.approx(planted["block_after"], abs=1e-4)
        assert row["relabelled_clients"] == planted.get("relabelled", 0)
    somerset = flags.filter((pl.col("council_code") == "E10000027") & (pl.col("rule") == "P001"))
    leeds = flags.filter((pl.col("council_code") == "E08000035") & (pl.col("rule") == "P001"))
    assert somerset["pb_change_rank"].item() == 1 and leeds["pb_change_rank"].item() == 2
    assert somerset["councils_compared"].item() == 152
    assert somerset["pb_change_robust_z"].item() > leeds["pb_change_robust_z"].item() > 3


def test_the_example_is_national_in_size_and_mix(run: dict[str, object]) -> None:
    england, councils = tables(run)["england"], tables(run)["councils"]
    assert number(england["people_total"].min()) > 550_000
    assert number(england["people_total"].max()) < 650_000
    assert number(councils["pb_rate"].min()) < 0.2 and number(councils["pb_rate"].max()) > 0.9
    ages = tables(run)["breakdowns"].filter(
        (pl.col("level") == "england")
        & (pl.col("support_reason") == "ALL")
        & (pl.col("age_band") != "ALL")
    )
    by_age = dict(zip(ages["age_band"] + ages["period"], ages["dp_rate"], strict=True))
    for period in EXPECTED["periods"]:
        assert by_age["65+" + period] < by_age["18-64" + period]


def test_somerset_nominal_budgets_are_queried(run: dict[str, object]) -> None:
    findings = tables(run)["findings"].filter(pl.col("rule") == "C007")
    assert findings.select("council_code", "period").rows() == [("E10000027", "2013-14")]
    councils = tables(run)["councils"].filter(pl.col("council_code") == "E10000027")
    adjusted = dict(zip(councils["period"], councils["adjusted_pb_rate"], strict=True))
    assert adjusted["2013-14"] < 0.1  # once the letters are taken out, barely a rise at all


def test_same_bytes_when_the_inputs_come_in_another_order(run: dict[str, object]) -> None:
    root: Path = run["root"]  # type: ignore[assignment]
    files = sorted(NATIONAL.glob("*.xlsx"), reverse=True)
    again = root / "again"
    assert (
        main(
            [
                "aggregate",
                *map(str, files),
                "--out",
                str(again),
                "--cache-dir",
                str(root / "c"),
                "--quiet",
            ]
        )
        == 0
    )
    first: Path = run["out"]  # type: ignore[assignment]
    for csv in sorted(first.glob("*.csv")):
        if csv.name == "manifest.csv":
            continue  # paths differ: a folder given versus its files listed
        assert csv.read_bytes() == (again / csv.name).read_bytes(), csv.name


def test_validate_previous_flags_somerset(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "validate",
            str(NATIONAL / "E10000027-2013-14.xlsx"),
            "--previous",
            str(NATIONAL / "E10000027-2012-13.xlsx"),
            "--format",
            "json",
            "--strict",
        ]
    )
    findings = json.loads(capsys.readouterr().out)["files"][0]["findings"]
    assert sorted(f["rule"] for f in findings) == ["C007", "P001", "P002", "P003"]
    assert code == 1  # --strict: the queries are not explained
    p003 = next(f for f in findings if f["rule"] == "P003")
    assert p003["evidence"] == {"clients": 2831}


def test_readme_shows_the_flags_this_run_raises(run: dict[str, object]) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    # Every period's flag lines: the screens of the period flag 2012-13 too.
    shown = [line for line in readme.splitlines() if re.match(r"\d{4}-\d{2},E\d{8},", line)]
    out: Path = run["out"]  # type: ignore[assignment]
    actual = [
        ",".join(line.split(",")[i] for i in (0, 1, 2, 3, 7, 8, 9))
        for line in (out / "flags.csv").read_text().splitlines()
        if ",P005," not in line
    ]
    assert shown == actual[1:]
