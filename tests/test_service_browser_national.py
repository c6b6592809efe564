"""The national team's journey in a real browser (Debian's Chromium, driven by Playwright)
against a real ``returns serve``, on SQLite and PostgreSQL: sign in, the periods, one
period sorted and filtered, the review queue (a flag accepted with a reason), building the
tables (the page refreshes itself until they are done) and report.html, the audit log
verified; then an admin's people, deadlines and reopening. Every request other than the
server's is refused and recorded, and a console error or warning fails the test. A PNG of
each page at 1280 px is saved under test-output/service/ for people to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .conftest import ROOT, pictures_folder
from .serving import COUNCIL_A, PASSWORD, Served, start
from .test_browser import (
    browser,  # noqa: F401  (the module's Chromium, as a fixture)
    watch,
)
from .test_ledger_support import BACKENDS, backend

# Both journeys, end to end in Chromium on SQLite and PostgreSQL, take minutes: CI runs them
# in its second pass (`-m slow`), after the default run.
pytestmark = pytest.mark.slow

#: the collection of tests/test_service_national.py, made in its own process
MAKE = (
    "import sys; from pathlib import Path; "
    "from tests.test_service_national import national_collection; "
    "national_collection(Path(sys.argv[1]), sys.argv[2] or None)"
)
SCREENSHOTS = pictures_folder("service")


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = backend(request)
    folder = tmp_path_factory.mktemp("national-browser") / "collection"
    # Made in a process of its own: Playwright's sync API runs an event loop in this one,
    # beside which Django keeps its connections apart (and refuses database work).
    made = subprocess.run(
        [sys.executable, "-c", MAKE, str(folder), url or ""],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    server = start(folder, url)
    yield server
    server.stop()


class Journey:
    """One person's browser tab on the server: what it asked elsewhere, and what went wrong."""

    def __init__(self, page: Any, served: Served) -> None:
        self.page = page
        self.served = served
        self.problems: list[str] = []
        self.elsewhere: list[str] = []

    def shot(self, name: str) -> None:
        suffix = "" if self.served.database_url is None else "-postgresql"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"national-{name}{suffix}.png"), full_page=True)

    def text(self) -> str:
        return str(self.page.inner_text("main"))


@contextmanager
def journey(browser: Any, served: Served, name: str) -> Iterator[Journey]:  # noqa: F811
    """A new tab signed in as ``name`` through the sign-in form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = Journey(page, served)

    watch(context, page, lambda url: url.startswith(served.url + "/"), seen.elsewhere,
          seen.problems)  # fmt: skip
    page.goto(served.url + "/login/")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")
    try:
        yield seen
    finally:
        context.close()
    assert seen.problems == []
    assert seen.elsewhere == []


def test_the_national_team_journey(browser: Any, served: Served) -> None:  # noqa: F811
    with journey(browser, served, "reviewer") as tab:
        page = tab.page
        assert page.url == served.url + "/national/"
        assert "Service test" in page.inner_text("h1")
        tab.shot("home")

        page.click("table.periods a:text-is('2013-14')")
        assert page.url.endswith("/national/periods/2013-14")
        page.click("th a:has-text('Queries')")
        page.click("th a:has-text('Queries')")  # again: most queries first
        assert "sort=-queries" in page.url
        codes = page.eval_on_selector_all(
            "table.councils tbody tr td:first-child", "c => c.map(x => x.innerText)"
        )
        assert codes[:2] == ["E06000002", "E06000004"]
        page.select_option("#status", "valid with queries to explain")
        page.click("form.filter button[type=submit]")
        rows = page.eval_on_selector_all("table.councils tbody tr", "r => r.length")
        assert rows == 2 and "sort=-queries" in page.url  # the filter keeps the order
        tab.shot("period")

        page.click("nav a:text-is('Review queue')")
        first = page.locator("section.item").first
        assert (
            "Stockton-on-Tees" in first.inner_text()
            and "Rank of the rise: 1 of 3" in first.inner_text()
        )
        tab.shot("review")
        first.locator("textarea[name=reason]").fill("The review of home care explains the rise.")
        first.locator("button[value=accepted]").click()
        page.wait_for_load_state("load")
        assert "P001 for Stockton-on-Tees (E06000004), 2013-14: accepted by reviewer." in tab.text()
        assert "Stockton-on-Tees" not in page.locator("section.item").first.inner_text()

        page.click("nav a:text-is('Build the tables')")
        page.click("main form button[type=submit]")
        assert "/national/builds/" in page.url
        page.wait_for_selector("h1 .status:text-is('done')", timeout=300_000)
        assert "Release recorded in the ledger" in tab.text()
        tab.shot("build")
        page.click("a:has-text('Open report.html')")
        page.wait_for_load_state("load")
        assert page.url.endswith("/files/report.html")
        assert page.query_selector("svg.chart") is not None
        tab.shot("report")

        page.goto(served.url + "/national/log")
        page.fill("#council", "E06000004")
        page.click("form.filter button[type=submit]")
        page.click("button[name=verify]")
        assert "entries are intact" in page.inner_text("#verified")
        assert "kind=&council=E06000004" in page.url
        tab.shot("log")

    with journey(browser, served, "admin") as tab:
        page = tab.page
        page.click("nav a:text-is('People')")
        page.fill("#name", "m.patel")
        page.select_option("#role", "approver")
        page.fill("#council", COUNCIL_A)
        page.fill("#password", PASSWORD)
        page.click("main form button:text-is('Add')")
        assert "m.patel added as approver for Hartlepool (E06000001)." in tab.text()
        tab.shot("people")
        page.click("nav a:text-is('Deadlines')")
        page.fill("#council", COUNCIL_A)
        page.select_option("#period", "2013-14")
        page.fill("#reason", "Late correction agreed by phone.")
        page.click("main form button:text-is('Reopen')")
        assert "Hartlepool (E06000001) reopened for 2013-14" in tab.text()
        tab.shot("deadlines")
