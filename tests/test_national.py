"""The shipped national example: the planted gaming is flagged, and only it, with its evidence.

fixtures/national/expected.json was written by the generator from the spec's
definitions applied to the workbooks it wrote, independently of returns_kit's rules.
"""

from __future__ import annotations

import csv as csv_module
import json
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from returns_kit.aggregate.columns import TABLES, Kind
from returns_kit.aggregate.xlsx import POINTS_FORMAT
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
    # Somerset's letter: no P002, because its published direct payments fell 1,640 -> 1,060
    # the same year (the choice rate moved 4.5 points); P003 names the relabelling.
    assert raised[("E10000027", "2013-14")] == ["P001", "P003"]
    # Harrow's published direct payments rose 730 -> 1,205: a rise with choice, P001 only.
    assert raised[("E09000015", "2013-14")] == ["P001"]
    # The national push of 2012-13: many councils' rates up 10 points or more.
    push = [key for key, rules in raised.items() if key[1] == "2012-13" and "P001" in rules]
    assert len(push) > 50


def test_the_review_list_puts_somersets_letter_first(run: dict[str, object]) -> None:
    flags = tables(run)["flags"]
    latest = flags.filter((pl.col("period") == "2013-14") & pl.col("review_rank").is_not_null())
    first = latest.sort("review_rank").row(0, named=True)
    assert (first["council_code"], first["review_rank"]) == ("E10000027", 1)
    # Harrow's real rise in direct payments is on the list too, below the relabelling
    harrow = latest.filter(pl.col("council_code") == "E09000015")["review_rank"].unique()
    assert harrow.len() == 1 and harrow[0] > 1
    somerset = latest.filter(pl.col("council_code") == "E10000027")
    screens = somerset.filter(pl.col("rule") == "P010")  # judged against the period too
    assert sorted(screens["measure"]) == ["choice_rate", "dp_rate", "pb_rate"]
    assert ((screens["score"] > screens["upper"]) | (screens["score"] < screens["lower"])).all()
    # Bury's published artefact (direct payments 1,195 -> 480 as home care went 255 -> 1,105)
    # is a data-quality query with both counts, not silence and not a gaming flag.
    bury = latest.filter(
        (pl.col("council_code") == "E08000002")
        & (pl.col("rule") == "P011")
        & (pl.col("measure") == "direct_payments")
        & (pl.col("related_measure") == "home_care")
    ).row(0, named=True)
    assert bury["severity"] == "query"
    assert (bury["value_before"], bury["value_after"]) == (1195, 480)
    assert (bury["related_before"], bury["related_after"]) == (255, 1105)
    # A series break leaves nothing to screen or rank.
    assert flags.filter(pl.col("period") == "2014-15")["review_rank"].null_count() == (
        flags.filter(pl.col("period") == "2014-15").height
    )


def test_the_series_break_stops_every_comparison(run: dict[str, object]) -> None:
    p005 = tables(run)["flags"].filter(pl.col("rule") == "P005")
    assert set(p005["period"]) == set(EXPECTED["series_breaks"]["P005"])
    assert p005.height == 152


def test_every_table_is_written_with_exactly_its_declared_columns(
    run: dict[str, object],
) -> None:
    """Each table the run wrote, as Parquet, CSV and a sheet of tables.xlsx, has the columns
    declared in returns_kit.aggregate.columns, in that order and of those dtypes; the sheet
    shows exactly the columns declared rates as percentages, and changes in points."""
    out = Path(str(run["out"]))
    assert sorted(path.stem for path in out.glob("*.parquet")) == sorted(TABLES)
    book = openpyxl.load_workbook(out / "tables.xlsx", read_only=True)
    assert book.sheetnames == list(TABLES)
    formats = {Kind.RATE: "0.0%", Kind.POINTS: POINTS_FORMAT}
    for name, table in TABLES.items():
        assert pl.read_parquet_schema(out / f"{name}.parquet") == table.schema, name
        with (out / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            assert next(csv_module.reader(handle)) == table.names, name
        rows = book[name].iter_rows()
        assert [cell.value for cell in next(rows)] == table.names, name
        shown: dict[str, str] = {}  # each column's format, where it first has a value
        for row in rows:
            for heading, cell in zip(table.names, row, strict=False):
                if cell.value is not None:
                    shown.setdefault(heading, cell.number_format)
            if len(shown) == len(table.columns):
                break
        assert set(table.floats) <= set(shown), (name, set(table.floats) - set(shown))
        for column in table.columns:
            if column.name in shown:
                expected = formats.get(column.kind, "General")
                assert shown[column.name] == expected, (name, column.name)
    book.close()


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
        # Counted only where both returns have Clients (blank otherwise).
        assert row["relabelled_clients"] == planted.get("relabelled")
    somerset = flags.filter((pl.col("council_code") == "E10000027") & (pl.col("rule") == "P001"))
    harrow = flags.filter((pl.col("council_code") == "E09000015") & (pl.col("rule") == "P001"))
    assert harrow["pb_change_rank"].item() == 1 and somerset["pb_change_rank"].item() == 2
    assert somerset["councils_compared"].item() == 152
    assert harrow["pb_change_robust_z"].item() > somerset["pb_change_robust_z"].item() > 3


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
    rate = dict(zip(councils["period"], councils["pb_rate"], strict=True))
    # Once the letters are taken out, no rise at all: below the year before's rate.
    assert rate["2013-14"] > 0.33 and adjusted["2013-14"] < rate["2012-13"]


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
                # the tables are compared; the page is drawn from them (its own bytes are
                # tested in test_report_html), and drawing it again costs seconds
                "--no-report",
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
    assert sorted(f["rule"] for f in findings) == ["C007", "P001", "P003"]
    assert code == 1  # --strict: the queries are not explained
    p003 = next(f for f in findings if f["rule"] == "P003")
    assert p003["evidence"] == {"clients": 3000}


def test_readme_shows_the_flags_this_run_raises(run: dict[str, object]) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    # The README shows 2013-14's pair-rule flags with their place in the review list.
    shown = [line for line in readme.splitlines() if re.match(r"\d{4}-\d{2},E\d{8},", line)]
    out: Path = run["out"]  # type: ignore[assignment]
    with (out / "flags.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv_module.reader(handle))
    where = {name: i for i, name in enumerate(rows[0])}
    columns = ("period", "council_code", "council_name", "rule", "pb_rate_before",
               "pb_rate_after", "review_rank")  # fmt: skip
    actual = [
        ",".join(row[where[name]] for name in columns)
        for row in rows[1:]
        if row[where["period"]] == "2013-14"
        and row[where["rule"]] in ("P001", "P002", "P003", "P004")
    ]
    assert shown == actual
    # and the first command's summary line as this run's tables give it
    flags = tables(run)["flags"].height
    assert (
        f"608 returns included, 0 superseded, 0 excluded, 0 in conflict, 0 missing; {flags:,} "
        "period-to-period flags. Tables in tables/"
    ) in readme


def _carried(run: dict[str, object]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """What each return carries, read from the summaries the aggregate works from: people on
    direct payments (all ages, 65+) and people receiving council-arranged or ISF home care."""
    from returns_kit.aggregate.batch import process_all
    from returns_kit.aggregate.cache import ResultCache
    from returns_kit.config import Thresholds

    thresholds = Thresholds()
    root: Path = run["root"]  # type: ignore[assignment]
    # The session's aggregate filled this cache: the summaries are read back, not remade.
    cache = ResultCache(root / "c", thresholds)
    carried = {}
    for processed in process_all(sorted(NATIONAL.glob("*.xlsx")), thresholds, cache):
        summary = processed.summary
        assert summary is not None, processed.path
        dp = ("dp_self_managed", "dp_part", "third_party_managed")
        older = summary.budgets.filter(pl.col("age_band") == "65+")
        home_care = sum(
            n
            for (service, arrangement), n in summary.people_by_service.items()
            if service == "HOME_CARE" and arrangement != "DIRECT_PAYMENT"
        )
        carried[summary.council_code, summary.period] = (
            sum(summary.counts[b] for b in dp),
            sum(int(older[b].sum()) for b in dp),
            home_care,
        )
    return carried


def test_every_return_carries_hscic_published_counts(run: dict[str, object]) -> None:
    """People on direct payments (all ages and 65+) and people receiving home care are HSCIC's
    published counts wherever HSCIC published them; the rest are listed as modelled."""
    from returns_kit.hscic import load_activity

    carried = _carried(run)
    published = (
        load_activity()
        .filter(pl.col("council_code") != "E92000001")
        .pivot(on="measure", index=["council_code", "period"], values="people")
    )
    checked = set()
    for row in published.iter_rows(named=True):
        key = (row["council_code"], row["period"])
        if key[1] < "2011-12" or row["dp_all"] is None:
            continue
        dp, dp65, home_care = carried[key]
        assert dp == row["dp_all"], key
        assert home_care == row["home_care"], key
        # 65+ as published, except where HSCIC's rounded 65+ exceeds its rounded total.
        assert dp65 == min(row["dp_65_plus"], row["dp_all"]), key
        checked.add(key)
    assert len(checked) == 152 * 3 - 1  # Islington 2012-13 was not published
    modelled = {(a["council"], a["period"]): a for a in EXPECTED["anchors"]}
    assert set(modelled) | checked == set(carried)
    assert not set(modelled) & checked
    assert {p for _, p in modelled} == {"2012-13", "2014-15"}
    assert [c for c, p in modelled if p == "2012-13"] == ["E09000019"]
    for key, anchor in modelled.items():
        assert anchor["source"].startswith("modelled: ")
        assert carried[key] == (anchor["dp_all"], anchor["dp_65_plus"], anchor["home_care"])
    # The published artefacts, unsmoothed.
    bury = [carried["E08000002", p] for p in ("2012-13", "2013-14")]
    assert [(dp, hc) for dp, _, hc in bury] == [(1195, 255), (480, 1105)]
    somerset = [carried["E10000027", p][1] for p in ("2011-12", "2012-13", "2013-14")]
    assert somerset == [255, 870, 335]
