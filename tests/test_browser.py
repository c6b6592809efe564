"""Both HTML pages in a real browser: headless Chromium (Debian's), driven by Playwright.

Each page is opened from disk with every request other than the page itself refused
and recorded: a page that tried to fetch anything, logged a console error or warning,
or threw, fails. A full-page PNG of each (screen and print) is saved under
test-output/browser/ for people to look at: of the national report.html (about 95,000 px
tall, some ten seconds a picture) by a slow test of its own, so that the default run checks
that page without drawing it whole.

Chromium is installed by .ci/run. Elsewhere, without it, these tests skip, unless
RETURNS_KIT_REQUIRE_BROWSER=1 (as CI sets) makes a missing browser a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from returns_kit.cli import main
from tests.conftest import NATIONAL, pictures_folder

SCREENSHOTS = pictures_folder("browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # Without these Chromium calls Google's servers at start, which is not the page's doing.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, for a fixture to yield from (skipped when it is
    missing, failed instead under RETURNS_KIT_REQUIRE_BROWSER=1)."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("RETURNS_KIT_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (RETURNS_KIT_REQUIRE_BROWSER=1) but not found")
        pytest.skip("Chromium not installed (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium()


@dataclass
class Visit:
    page: Any
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def watch(context: Any, page: Any, allowed: Any, elsewhere: list[str], problems: list[str]) -> None:
    """Refuse, and record in ``elsewhere``, every request whose URL ``allowed`` rejects;
    record each console message of note and each page error in ``problems``."""

    def on_request(route: Any) -> None:
        url = route.request.url
        if allowed(url):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", on_request)
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning", "assert")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))


@contextmanager
def visit(
    browser: Any, path: Path, name: str, width: int = 1280, pictures: bool = True
) -> Iterator[Visit]:
    """Open ``path``; record every request, console message of note and page error, also
    while the page is laid out for print. With ``pictures``, save a full-page PNG of it
    on screen and in print."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    own = path.resolve().as_uri()
    seen = Visit(page)
    watch(context, page, lambda url: url == own, seen.requests, seen.problems)
    page.on("requestfailed", lambda request: seen.problems.append(f"failed: {request.url}"))
    page.goto(own, wait_until="load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if pictures:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.emulate_media(media="print")
    if pictures:
        page.screenshot(path=str(SCREENSHOTS / f"{name}-print.png"), full_page=True)
    page.emulate_media(media="screen")
    try:
        yield seen
    finally:
        context.close()


def clean(seen: Visit) -> None:
    assert seen.problems == []
    assert seen.requests == []


def drawn_charts(page: Any) -> list[dict[str, float]]:
    """Each chart's size on screen, and how many shapes it drew."""
    return list(
        page.eval_on_selector_all(
            "svg.chart",
            """charts => charts.map(c => ({width: c.getBoundingClientRect().width,
                height: c.getBoundingClientRect().height,
                shapes: c.querySelectorAll('path, use').length}))""",
        )
    )


def table_rows(page: Any, selector: str) -> int:
    return int(page.eval_on_selector_all(f"{selector} tbody tr", "rows => rows.length"))


@pytest.fixture(scope="module")
def validate_page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validate-page") / "somerset-2013-14.html"
    main(
        [
            "validate",
            str(NATIONAL / "E10000027-2013-14.xlsx"),
            "--previous",
            str(NATIONAL / "E10000027-2012-13.xlsx"),
            "--html",
            str(out),
        ]
    )
    return out


def test_validate_page_renders_clean(browser: Any, validate_page_file: Path) -> None:
    with visit(browser, validate_page_file, "validate-somerset") as seen:
        clean(seen)
        page = seen.page
        charts = drawn_charts(page)
        assert len(charts) == 1
        assert charts[0]["width"] > 300 and charts[0]["height"] > 100 and charts[0]["shapes"] > 6
        assert table_rows(page, "#budget-types") == 2
        assert table_rows(page, "#change-table") == 6
        assert table_rows(page, "#explanations-to-add") == 3  # C007, P001, P003
        assert page.locator("table.findings").count() == 2  # Clients, Between periods
        assert page.title() == "Return check: Somerset 2013-14"


def test_aggregate_page_renders_clean(browser: Any, national_run: dict[str, object]) -> None:
    out: Path = national_run["out"]  # type: ignore[assignment]
    with visit(browser, out / "report.html", "aggregate-national", pictures=False) as seen:
        clean(seen)
        page = seen.page
        charts = drawn_charts(page)
        # Three trends (the nominal rate has too few councils for a line), two spreads, four
        # change funnels, a label-only funnel per period followed, a chart per flag card.
        tables: dict[str, Any] = national_run["tables"]  # type: ignore[assignment]
        flagged = tables["flags"].filter(pl.col("severity") != "info")
        cards = flagged.select("council_code", "period").unique().height
        moved = tables["label_only"].filter(pl.col("moves") > 0)["period"].n_unique()
        # a card has its chart when its council-period is in the review list's first 15
        charted = flagged.filter(pl.col("review_rank") <= 15)
        charted_cards = charted.select("council_code", "period").unique().height
        assert 0 < charted_cards < cards
        assert len(charts) == 3 + 2 + 4 + moved + charted_cards
        assert all(c["width"] > 200 and c["height"] > 100 and c["shapes"] > 10 for c in charts)
        assert table_rows(page, "#england-table") == 4
        assert table_rows(page, "#coverage-table") == 4
        assert page.locator("article.flag").count() == cards
        assert page.locator(".spread-table").count() == 2
        # A table for each pair of periods with councils followed; Somerset's letter named.
        followed = tables["label_only"]["period"].n_unique()
        assert followed >= 1 and page.locator("table.label-only").count() == followed
        assert "Somerset" in page.locator("#change-pb_rate-2013-14").inner_text()


#: What a reader sees of a page's layout, measured in the browser.
LAYOUT = """() => {
  const periodCells = [...document.querySelectorAll('th, td')]
    .filter(c => /^\\d{4}-\\d{2}$/.test(c.textContent.trim()));
  const lines = c => { const r = document.createRange(); r.selectNodeContents(c);
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; };
  const texts = [...document.querySelectorAll('svg.chart text')];
  const px = t => { const m = t.getScreenCTM();
    return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); };
  const wide = [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().width > 0);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    periodCells: periodCells.length,
    wrappedPeriods: periodCells.filter(c => c.getClientRects().length && lines(c) > 1)
      .map(c => c.textContent.trim()),
    chartTexts: texts.length,
    smallestChartText: Math.min(...texts.map(px)),
    tablesNotInABox: wide.filter(t => !t.parentElement.classList.contains('scroll')
      && !t.classList.contains('evidence')).map(t => t.id || t.className),
    unstickyFirstColumns: [...document.querySelectorAll('.scroll tr > :first-child')]
      .filter(c => getComputedStyle(c).position !== 'sticky').length,
    keysNotBeside: [...document.querySelectorAll('.figure.keyed')].filter(f => {
      const chart = f.querySelector('svg.chart').getBoundingClientRect();
      const key = f.querySelector('.key').getBoundingClientRect();
      return !(key.left >= chart.right - 1 && key.top < chart.bottom && key.bottom > chart.top);
    }).map(f => f.id),
  };
}"""


def layout(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(LAYOUT))


def assert_fits(found: dict[str, Any]) -> None:
    """No sideways scroll; no period split over two lines; chart text at least 11 px;
    every table that could be wide scrolls in its own box with its first column held."""
    assert found["scrollWidth"] <= found["clientWidth"], found
    assert found["periodCells"] > 0 and found["wrappedPeriods"] == []
    assert found["chartTexts"] > 0 and found["smallestChartText"] >= 11, found
    assert found["tablesNotInABox"] == [] and found["unstickyFirstColumns"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 1024])
def test_validate_page_fits_the_screen(browser: Any, validate_page_file: Path, width: int) -> None:
    with visit(browser, validate_page_file, f"validate-somerset-{width}", width) as seen:
        clean(seen)
        found = layout(seen.page)
        assert_fits(found)
        # The verdict says what is left to do, in the queries' amber, not the all-clear green.
        verdict = seen.page.locator("#verdict")
        assert verdict.inner_text() == "Accepted, 3 queries to explain"
        assert verdict.evaluate("v => getComputedStyle(v).color") != "rgb(10, 107, 43)"


@pytest.mark.parametrize("width", [1280, 1024])
def test_aggregate_page_fits_the_screen(
    browser: Any, national_run: dict[str, object], width: int
) -> None:
    out: Path = national_run["out"]  # type: ignore[assignment]
    report = out / "report.html"
    with visit(browser, report, f"aggregate-national-{width}", width, pictures=False) as seen:
        clean(seen)
        page = seen.page
        found = layout(page)
        assert_fits(found)
        # Each trend, spread and funnel chart has its key beside it, not above all of them:
        # three trends, two spreads, four change funnels, a label-only funnel per period pair.
        tables: dict[str, Any] = national_run["tables"]  # type: ignore[assignment]
        moved = tables["label_only"].filter(pl.col("moves") > 0)["period"].n_unique()
        keyed = page.locator(".figure.keyed").count()
        assert keyed == 3 + 2 + 4 + moved
        if width == 1280:
            assert found["keysNotBeside"] == []
        # Regions can be told apart without colour: each region's line has its own marker.
        shapes = page.eval_on_selector(
            "#trend-pb_rate svg",
            "svg => new Set([...svg.querySelectorAll('defs path')]"
            ".map(p => p.getAttribute('d'))).size",
        )
        assert shapes >= 9
        # the parts pictured for people (by the slow test below) are there and drawn
        for selector, _ in PICTURED_PARTS:
            assert page.locator(selector).is_visible(), selector


#: The parts of the national page pictured on their own for people to look at.
PICTURED_PARTS = (
    ("#trend-pb_rate", "trend"),
    ("#england-table", "england-table"),
    ("#flag-E10000027-2013-14", "flag-somerset"),
    ("#change-pb_rate-2013-14", "funnel-pb-change"),
    ("#transitions", "transitions"),
)


@pytest.mark.slow  # two full-page pictures of a page ~95,000 px tall: about 25 s a width
@pytest.mark.parametrize("width", [1280, 1024])
def test_aggregate_page_is_pictured_for_people(
    browser: Any, national_run: dict[str, object], width: int
) -> None:
    """The national page whole (screen and print) and its main parts, as PNGs under
    test-output/browser/; drawing them raises nothing on the page."""
    out: Path = national_run["out"]  # type: ignore[assignment]
    with visit(browser, out / "report.html", f"aggregate-national-{width}", width) as seen:
        for selector, name in PICTURED_PARTS:
            seen.page.locator(selector).screenshot(
                path=str(SCREENSHOTS / f"aggregate-{name}-{width}.png")
            )
        clean(seen)
        assert (SCREENSHOTS / f"aggregate-national-{width}-print.png").stat().st_size > 0


@pytest.mark.slow
def test_a_wide_table_scrolls_in_its_box_with_its_first_column_held(
    browser: Any, national_run: dict[str, object]
) -> None:
    """On a narrow screen the England table scrolls sideways inside its box; the periods stay
    in view, and the page itself does not scroll."""
    out: Path = national_run["out"]  # type: ignore[assignment]
    report = out / "report.html"
    with visit(browser, report, "aggregate-national-640", 640, pictures=False) as seen:
        page = seen.page
        assert layout(page)["scrollWidth"] <= 640
        box = page.locator("#england-table").locator("xpath=..")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        box.evaluate("b => { b.scrollLeft = 300; }")
        held = page.eval_on_selector(
            "#england-table tbody th",
            "c => c.getBoundingClientRect().left"
            " - c.closest('.scroll').getBoundingClientRect().left",
        )
        assert abs(held) <= 1
        box.screenshot(path=str(SCREENSHOTS / "aggregate-england-table-640-scrolled.png"))


def test_the_checker_catches_a_page_that_fetches(browser: Any, tmp_path: Path) -> None:
    """The checks above can fail: a page that fetches an image and logs an error does."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!doctype html><title>bad</title><img src='https://example.org/x.png'>"
        "<script>console.error('boom')</script>",
        "utf-8",
    )
    with visit(browser, bad, "checker-control") as seen:
        assert seen.requests == ["https://example.org/x.png"]
        assert any("boom" in problem for problem in seen.problems)
