"""The HTML pages, read back as data: what they show, that it matches the tables, that it is safe.

The browser tests (tests/test_browser.py) check the same pages render in Chromium; these
check their content, without a browser.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from returns_kit.cli import main
from returns_kit.html.aggregate_page import aggregate_page
from returns_kit.html.charts import REGION_COLOURS, Series, line_chart
from returns_kit.html.render import percent
from returns_kit.validate import validate_return
from tests.conftest import FIXTURES, NATIONAL
from tests.html_probe import probe

SOMERSET_BEFORE = NATIONAL / "E10000027-2012-13.xlsx"
SOMERSET_AFTER = NATIONAL / "E10000027-2013-14.xlsx"
HOSTILE = '<script>alert("x")</script>'


#: Every element our pages use (the HTML and the SVG that matplotlib draws).
PAGE_ELEMENTS = {
    *"html head meta title style body header footer nav section article div".split(),
    *"h1 h2 h3 p span code strong a br ul li details summary".split(),
    *"table caption thead tbody tr th td".split(),
    *"svg g path defs clippath use text rect metadata".split(),
}


def fetches_nothing(page: str) -> None:
    """Parsed as a browser would: only our own elements, no script, no event handler, no
    attribute that fetches, and no link out of the page."""
    found = probe(page)
    assert {tag for tag, _ in found.tags} <= PAGE_ELEMENTS
    for tag, attributes in found.tags:
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "srcset", "action", "formaction", "background"), tag
            if name in ("href", "xlink:href"):
                assert (value or "").startswith("#"), (tag, value)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", page, re.DOTALL | re.IGNORECASE)
    assert not any(re.search(r"@import|url\(\s*['\"]?(?!#)", css) for css in styles)


def validate_html(tmp_path: Path, *args: str) -> tuple[int, str]:
    out = tmp_path / "page.html"
    code = main(["validate", *args, "--html", str(out)])
    return code, out.read_text("utf-8")


# --- validate --html ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def somerset_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """Somerset's 2013-14 page against 2012-13, drawn once for the tests that read it."""
    folder = tmp_path_factory.mktemp("somerset-page")
    return validate_html(folder, str(SOMERSET_AFTER), "--previous", str(SOMERSET_BEFORE))


def test_somerset_page_shows_measures_change_and_queries(somerset_page: tuple[int, str]) -> None:
    code, page = somerset_page
    assert code == 0
    found = probe(page)
    now = validate_return(SOMERSET_AFTER).summary
    before = validate_return(SOMERSET_BEFORE).summary
    assert now is not None and before is not None
    change = {row[0]: row[1:] for row in found.tables["change-table"][1:]}
    assert change["Personal budget rate"] == [
        percent(before.measures()["pb_rate"]),
        percent(now.measures()["pb_rate"]),
        f"{(now.measures()['pb_rate'] - before.measures()['pb_rate']) * 100:+.1f} points",  # type: ignore[operator]
    ]
    # The three queries are each waiting for an Explanations row, named by rule.
    to_add = [row[0] for row in found.tables["explanations-to-add"][1:]]
    assert sorted(to_add) == ["C007", "P001", "P003"]
    # The budget-type table holds both returns' counts, as validation counted them.
    budgets = {row[0]: row[1] for row in found.tables["budget-types"][1:]}
    assert budgets == {
        "2012-13": f"{before.counts['people_total']:,}",
        "2013-14": f"{now.counts['people_total']:,}",
    }
    assert found.count("svg", class_="chart") == 1
    fetches_nothing(page)


def test_invalid_return_lists_each_finding_under_its_sheet_with_its_cell(tmp_path: Path) -> None:
    source = FIXTURES / "invalid" / "V001.xlsx"
    code, page = validate_html(tmp_path, str(source))
    assert code == 1
    found = probe(page)
    expected = validate_return(source).report.findings
    assert found.has_id("sheet-budgets")
    rows = found.tables["#1"][1:]  # the first findings table: Budgets
    assert [(row[0], row[2].split()[0]) for row in rows] == [
        (f.cell, f.rule) for f in expected if f.sheet == "Budgets"
    ]
    assert "Rejected" in page
    assert "The measures are worked out once the return has no errors" in page


def _page_words(page: str) -> tuple[str, str, list[str]]:
    """The page's verdict, its counts line and its findings' group headings, as text."""
    verdict = re.search(r'<span class="verdict ([a-z-]+)" id="verdict">([^<]*)</span>', page)
    counts = re.search(r'<span id="counts">([^<]*)</span>', page)
    groups = re.findall(r'<h3 id="sheet-[^"]*">([^<]*?) <span class="muted">', page)
    assert verdict and counts
    return f"{verdict[1]}: {verdict[2]}", counts[1], groups


@pytest.mark.parametrize(
    ("args", "kind", "words"),
    [
        (
            [str(SOMERSET_AFTER), "--previous", str(SOMERSET_BEFORE)],
            "to-explain",
            "Accepted, 3 queries to explain",
        ),
        (
            [str(SOMERSET_AFTER), "--previous", str(SOMERSET_BEFORE), "--strict"],
            "rejected",
            "Not accepted under --strict, 3 queries to explain",
        ),
        ([str(FIXTURES / "valid" / "hartlepool-2013-14.xlsx")], "accepted", "Accepted"),
        ([str(FIXTURES / "invalid" / "F001.xlsx")], "rejected", "Rejected, 1 error to fix"),
    ],
    ids=["queries-left", "strict", "clean", "unreadable"],
)
def test_the_verdict_says_what_is_left_in_the_words_of_the_text_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], kind: str, words: str
) -> None:
    """Green "Accepted" only when nothing is left to do; the page and the terminal say the
    same verdict, the same counts and the same places (sheet, whole workbook, between
    periods)."""
    validate_html(tmp_path, *args)
    page = (tmp_path / "page.html").read_text("utf-8")
    text = capsys.readouterr().out.splitlines()
    verdict, counts, groups = _page_words(page)
    assert verdict == f"{kind}: {words}"
    assert text[0].endswith(f": {words}")
    summary = next(line.strip() for line in text if line.startswith("  ") and "unexplained" in line)
    assert counts == summary + "."
    assert groups == [line.strip() for line in text[1:] if re.fullmatch(r"  \S.*", line)][:-1]
    assert "note" not in counts


def test_every_fixture_finding_appears_on_its_page(tmp_path: Path) -> None:
    for source in sorted((FIXTURES / "invalid").glob("*.xlsx"))[:12]:
        code, page = validate_html(tmp_path, str(source))
        findings = validate_return(source).report.findings
        cells = [row for table in probe(page).tables.values() for row in table]
        for f in findings:
            assert any(f.rule in " ".join(row) for row in cells), (source.name, f.rule)
        assert code in (0, 1)


def test_workbook_text_is_escaped_never_markup(tmp_path: Path) -> None:
    source = tmp_path / "hostile.xlsx"
    shutil.copy(FIXTURES / "valid" / "hartlepool-2013-14.xlsx", source)
    book = openpyxl.load_workbook(source)
    book["Budgets"]["C2"] = HOSTILE
    book.save(source)
    code, page = validate_html(tmp_path, str(source))
    assert code == 1
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(" in page  # quoted in the V001 message, as text
    fetches_nothing(page)


def test_the_page_is_the_same_bytes_every_time(
    tmp_path: Path, somerset_page: tuple[int, str]
) -> None:
    _, again = validate_html(tmp_path, str(SOMERSET_AFTER), "--previous", str(SOMERSET_BEFORE))
    assert again == somerset_page[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["two"], "exactly one FILE"),
        (["folder"], "is a folder"),
        (["itself"], "is the workbook being checked"),
    ],
)
def test_html_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    source = FIXTURES / "valid" / "hartlepool-2013-14.xlsx"
    files, target = [str(source)], str(tmp_path / "page.html")
    if extra == ["two"]:
        files.append(str(SOMERSET_AFTER))
    elif extra == ["folder"]:
        target = str(tmp_path)
    else:
        copy = tmp_path / "copy.xlsx"
        shutil.copy(source, copy)
        files, target = [str(copy)], str(copy)
    assert main(["validate", *files, "--html", target]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# --- aggregate report.html ------------------------------------------------------------------


def national_page(national_run: dict[str, object]) -> str:
    out: Path = national_run["out"]  # type: ignore[assignment]
    return (out / "report.html").read_text("utf-8")


def test_report_is_written_beside_the_tables(national_run: dict[str, object]) -> None:
    page = national_page(national_run)
    found = probe(page)
    # Three trends (the nominal rate's 5 councils of 152 draw no national line), two
    # spreads, four change funnels (personal budget and choice rates, 2011-12 to 2012-13
    # and 2012-13 to 2013-14: none across the 2014-15 series break), a label-only funnel
    # for each period where councils with Clients moved people between budget types, and
    # one chart for each council and period with a flag that is not a notice.
    tables: dict[str, pl.DataFrame] = national_run["tables"]  # type: ignore[assignment]
    flagged = tables["flags"].filter(pl.col("severity") != "info")
    cards = flagged.select("council_code", "period").unique().height
    moved = tables["label_only"].filter(pl.col("moves") > 0)["period"].n_unique()
    assert moved >= 1  # Somerset's letter, 2012-13 to 2013-14
    # at least the pair rules' council-periods: 84 in 2012-13's push, Somerset and Harrow
    pair_flagged = flagged.filter(pl.col("rule").is_in(["P001", "P002", "P003", "P004"]))
    assert pair_flagged.select("council_code", "period").unique().height == 86
    assert found.count("article", class_="flag") == cards >= 86
    # a card has its chart when its council-period is in the review list's first 15 (a
    # chart costs tens of milliseconds: 2012-13's push flags 84 councils); the others say so
    charted = flagged.filter(pl.col("review_rank") <= 15)
    charted_cards = charted.select("council_code", "period").unique().height
    assert 0 < charted_cards < cards
    assert found.count("svg", class_="chart") == 3 + 2 + 4 + moved + charted_cards
    assert page.count("review list: charts are drawn for the first 15") == cards - charted_cards
    fetches_nothing(page)


def test_report_numbers_are_the_tables_numbers(national_run: dict[str, object]) -> None:
    tables: dict[str, pl.DataFrame] = national_run["tables"]  # type: ignore[assignment]
    found = probe(national_page(national_run))
    england = found.tables["england-table"]
    header, rows = england[0], england[1:]
    pb_column = header.index("Personal budget rate")
    expected = tables["england"].sort("period")
    assert [row[0] for row in rows] == expected["period"].to_list()
    assert [row[pb_column] for row in rows] == [percent(v) for v in expected["pb_rate"]]
    coverage = {row[0]: row[1:] for row in found.tables["coverage-table"][1:]}
    manifest = tables["manifest"]
    for period, (expected_n, included, *_rest) in coverage.items():
        assert (
            int(included.replace(",", ""))
            == manifest.filter(
                (pl.col("period") == period) & (pl.col("status") == "included")
            ).height
        )
        assert expected_n == "152"
    # The notices (no comparison across the 2014-15 series break) are one row, 152 councils.
    notices = found.tables["notices"][1:]
    assert [(row[0], row[3]) for row in notices] == [("2014-15", "152")]


def test_every_flag_is_shown_with_its_message(national_run: dict[str, object]) -> None:
    tables: dict[str, pl.DataFrame] = national_run["tables"]  # type: ignore[assignment]
    text = " ".join(" ".join(probe(national_page(national_run)).texts).split())
    for row in tables["flags"].filter(pl.col("severity") != "info").iter_rows(named=True):
        assert " ".join(row["message"].split()) in text


def _card(page: str, anchor: str) -> str:
    card = re.search(rf'<article class="flag" id="{anchor}">(.*?)</article>', page, re.DOTALL)
    assert card
    return card[1]


def _card_text(page: str, anchor: str) -> str:
    return " ".join(" ".join(probe(_card(page, anchor)).texts).split())


def test_a_flag_card_shows_every_finding_of_its_return_and_the_adjusted_rate(
    national_run: dict[str, object],
) -> None:
    """Somerset's card: the flags, and the C007 on its nominal budgets (3,026 of 3,180) with
    the personal budget rate those budgets make (10.3% against 33.8% as returned)."""
    tables: dict[str, pl.DataFrame] = national_run["tables"]  # type: ignore[assignment]
    page = national_page(national_run)
    text = _card_text(page, "flag-E10000027-2013-14")
    findings = tables["findings"].filter(
        (pl.col("council_code") == "E10000027") & (pl.col("period") == "2013-14")
    )
    # With the pair rules (P001, P003; not P002, as its published direct payments fell),
    # the screens of the period: P010 on three measures, P011 (council-managed budgets up
    # as direct payments fell), P012 (council-managed, and direct payments at 65+ 870 -> 335).
    assert sorted(findings["rule"]) == [
        "C007", "P001", "P003", "P010", "P010", "P010", "P011", "P012", "P012"
    ]  # fmt: skip
    for message in findings["message"]:
        assert " ".join(message.split()) in text
    evidence = dict(
        row
        for table in probe(_card(page, "flag-E10000027-2013-14")).tables.values()
        for row in row_pairs(table)
        if row[0].startswith(("Council-managed budgets that are nominal", "Personal budget rate"))
    )
    somerset = tables["councils"].filter(
        (pl.col("council_code") == "E10000027") & (pl.col("period") == "2013-14")
    )
    assert evidence["Council-managed budgets that are nominal (C007)"] == "3,026 of 3,180 (95.2%)"
    assert evidence["Personal budget rate after"] == percent(somerset["pb_rate"][0]) == "33.8%"
    assert (
        evidence["Personal budget rate after, counting nominal budgets as none"]
        == percent(somerset["adjusted_pb_rate"][0])
        == "10.3%"
    )


def row_pairs(rows: list[list[str]]) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in rows if len(row) == 2]


def test_the_nominal_rate_shows_its_coverage_and_few_councils_draw_no_line(
    national_run: dict[str, object],
) -> None:
    """5 councils of 152 sent Clients: the England nominal rate says so wherever it is shown,
    and no national or regional line is drawn from it; from half the councils, one is."""
    tables: dict[str, pl.DataFrame] = national_run["tables"]  # type: ignore[assignment]
    page = national_page(national_run)
    found = probe(page)
    header, *rows = found.tables["england-table"]
    nominal = header.index("Nominal budget rate")
    for row, expected in zip(
        rows, tables["england"].sort("period").iter_rows(named=True), strict=True
    ):
        assert row[nominal] == (
            f"{percent(expected['nominal_rate'])}from {expected['councils_with_clients']} of "
            f"{expected['councils_included']} councils"
        )
    trend = re.search(r'<div class="figure[^"]*" id="trend-nominal_rate">(.*?)</div>', page, re.S)
    assert trend and "<svg" not in trend[1] and "5 of 152 did in every period" in trend[1]
    councils = [row[0] for row in found.tables["nominal-councils"][1:]]
    assert sorted(set(councils)) == [
        "Bury (E08000002)",
        "Richmond upon Thames (E09000027)",
        "Rutland (E06000017)",
        "Somerset (E10000027)",
        "Swindon (E06000030)",
    ]

    def drawn(with_clients: int) -> tuple[bool, int]:
        """Whether the England line is drawn, and how many region lines, when England's
        nominal rate stands on ``with_clients`` of 152 councils' returns."""
        england = tables["england"].with_columns(councils_with_clients=pl.lit(with_clients))
        # The regions' likewise: all their councils, or just under half.
        included = pl.col("councils_included")
        regions = tables["regions"].with_columns(
            nominal_rate=pl.lit(0.05),
            councils_with_clients=included if with_clients * 2 >= 152 else (included - 1) // 2,
        )
        # Without the flag cards: their charts (half the page's drawing) show no nominal rate.
        flags = tables["flags"].clear()
        page = aggregate_page({**tables, "england": england, "regions": regions, "flags": flags})
        trend = re.search(r'id="trend-nominal_rate">(.*?)</div>', page, re.S)
        assert trend
        # Each line drawn (a path through two points or more) by its colour: England's is
        # black, each region's its own.
        strokes = [
            colour
            for path, colour in re.findall(
                r'<path d="([^"]*)"[^>]*style="fill: none; stroke: (#[0-9a-f]{6})', trend[1]
            )
            if "L" in path
        ]
        regions_drawn = {c for c in strokes if c.upper() in map(str.upper, REGION_COLOURS)}
        return "#000000" in strokes, len(regions_drawn)

    assert drawn(75) == (False, 0)
    england_line, region_lines = drawn(76)
    assert england_line and region_lines >= 9


def test_no_report_writes_none(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for name in ("E06000001-2012-13.xlsx", "E06000001-2013-14.xlsx"):
        shutil.copy(NATIONAL / name, source / name)
    out = tmp_path / "out"
    main(["aggregate", str(source), "--out", str(out), "--quiet", "--no-report", "--no-cache"])
    assert (out / "manifest.csv").exists() and not (out / "report.html").exists()


def test_a_report_that_cannot_be_drawn_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from returns_kit.html import aggregate_page as page_module
    from returns_kit.html.background import BackgroundReport

    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(NATIONAL / "E06000001-2013-14.xlsx", source)
    out = tmp_path / "out"
    args = ["aggregate", str(source), "--out", str(out), "--quiet", "--no-cache"]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*_: object, **__: object) -> str:
        raise RuntimeError("drawing failed")

    # No second process: the page is drawn here, by the broken function.
    monkeypatch.setattr(BackgroundReport, "start", lambda self: self)
    monkeypatch.setattr(page_module, "aggregate_page", broken)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "report.html could not be drawn" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def hostile_tables(national_run: dict[str, object]) -> dict[str, pl.DataFrame]:
    tables: dict[str, pl.DataFrame] = national_run["tables"]  # type: ignore[assignment]
    name = pl.lit(f"{HOSTILE} $\\alpha$ & Co")
    return {
        **tables,
        "councils": tables["councils"].with_columns(
            council_name=name, region_name=pl.lit(f"{HOSTILE} region")
        ),
        "regions": tables["regions"].with_columns(region_name=pl.lit(f"{HOSTILE} region")),
        "flags": tables["flags"].with_columns(council_name=name),
        "manifest": tables["manifest"].with_columns(path=pl.lit(f"{HOSTILE}.xlsx")),
    }


def test_hostile_names_are_escaped_in_tables_and_charts(national_run: dict[str, object]) -> None:
    page = aggregate_page(hostile_tables(national_run), series_breaks=("2014-15",))
    assert HOSTILE not in page
    fetches_nothing(page)
    # In the charts' SVG text too, and $...$ is never read as maths.
    assert "&lt;script&gt;" in page
    assert "$\\alpha$" in page


def test_chart_ids_are_unique_across_a_page(national_run: dict[str, object]) -> None:
    ids = re.findall(r'\bid="([^"]+)"', national_page(national_run))
    assert len(ids) == len(set(ids))


def test_a_chart_is_the_same_svg_every_time() -> None:
    series = [Series("England", [0.1, None, 0.3])]
    first = line_chart("t", ["2011-12", "2012-13", "2013-14"], series)
    assert first == line_chart("t", ["2011-12", "2012-13", "2013-14"], series)
    assert first.startswith("<svg") and "<title>t</title>" in first


def test_missing_returns_are_counted_by_period_and_named(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for name in ("E06000001-2012-13.xlsx", "E06000001-2013-14.xlsx"):
        shutil.copy(NATIONAL / name, source / name)
    (source / "notes.txt").write_text("not a return", "utf-8")
    out = tmp_path / "out"
    main(["aggregate", str(source), "--out", str(out), "--quiet", "--no-cache"])
    found = probe((out / "report.html").read_text("utf-8"))
    missing = {row[0]: row[1] for row in found.tables["missing"][1:]}
    assert missing == {"2012-13": "151", "2013-14": "151"}
    # The file that is not a workbook is listed one by one, with its reason.
    unused = found.tables["not-included"][1:]
    assert [(row[0], row[3]) for row in unused] == [("skipped", str(source / "notes.txt"))]
    assert "Hartlepool" not in " ".join(found.tables["missing"][1][2:])


@pytest.mark.parametrize(
    "bad",
    [
        "<img src='x.png'>",
        "<p onclick='x()'>",
        "<script>1</script>",
        "<a href='https://example.org'>",
        "<style>body { background: url(https://example.org/x.png) }</style>",
    ],
)
def test_the_page_check_catches_what_would_fetch_or_run(bad: str) -> None:
    with pytest.raises(AssertionError):
        fetches_nothing(f"<html><body>{bad}</body></html>")
