"""The council officer's journey through ``returns serve`` in a real browser (Debian's
Chromium, driven by Playwright), on SQLite and on PostgreSQL.

Sign in, see the periods, download the template, upload last year's return with the file
picker and this year's by drag and drop, read the findings, explain each query in the form
beside it, download the annotated copy, upload a correction (the explanations carry
forward), and the approver signs off and prints the receipt with the SHA-256. Any request
to anywhere but the server, any console error or warning and any page error fails. A
full-page PNG of each page at 1280 px goes to ``test-output/service/council-*.png`` (from the
SQLite run). Uploading also works with JavaScript off: the drag and drop is an enhancement.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import Visit, clean, launched_chromium, watch
from tests.test_ledger_support import BACKENDS, backend, edited
from tests.test_service_council import (
    EXPLANATION,
    HARTLEPOOL,
    SOMERSET_BEFORE,
    SOMERSET_NOW,
    SOMERSET_QUERIES,
    add_somerset_people,
)

from .conftest import pictures_folder
from .serving import PASSWORD, Served, make_collection, start

# Both journeys, end to end in Chromium on SQLite and PostgreSQL, take minutes: CI runs them
# in its second pass (`-m slow`), after the default run.
pytestmark = pytest.mark.slow

SCREENSHOTS = pictures_folder("service")


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    database_url = backend(request)
    folder = tmp_path_factory.mktemp(f"service-browser-{request.param}") / "collection"
    tokens = make_collection(folder, database_url)
    add_somerset_people(folder, database_url)
    server = start(folder, database_url, tokens=tokens)
    yield server
    server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium for one test. Not tests/test_browser.py's module-wide one: Playwright's event
    loop must not be running while ``served`` creates or drops its database through Django,
    which refuses to touch a database from a thread with a running event loop."""
    yield from launched_chromium()


@contextmanager
def signed_in(browser: Any, served: Served, name: str, script: bool = True) -> Iterator[Visit]:
    """A browser of its own, signed in as ``name`` through the sign-in form; every request
    off the server is refused and recorded, with console messages of note and page errors."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, java_script_enabled=script
    )
    page = context.new_page()
    seen = Visit(page)

    watch(context, page, lambda url: url.startswith(served.url + "/"), seen.requests,
          seen.problems)  # fmt: skip
    page.goto(served.url + "/login/")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(served.url + "/council/")
    try:
        yield seen
    finally:
        context.close()


def shot(served: Served, page: Any, name: str) -> None:
    if served.database_url is None:  # one set of pictures: the SQLite run's
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"council-{name}.png"), full_page=True)


def drop(page: Any, path: Path) -> None:
    """Drag ``path`` from the desktop onto the upload form's drop zone, as a person would."""
    page.evaluate(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name));
            const zone = document.getElementById("drop");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                                        dataTransfer: transfer}));
            }
        }""",
        [path.name, base64.b64encode(path.read_bytes()).decode()],
    )


def open_queries(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "ol.queries form input[name=rule]", "inputs => inputs.map(i => i.value)"
        )
    )


def test_the_officers_journey(browser: Any, served: Served, tmp_path: Path) -> None:
    findings_url = served.url + "/council/submissions/**"
    with signed_in(browser, served, "sub.s") as seen:
        page = seen.page
        assert "Nothing received yet" in page.inner_text("#period-2013-14")
        shot(served, page, "home")
        with page.expect_download() as got:
            page.click("text=Download the blank template for 2013-14")
        assert got.value.suggested_filename == "E10000027-2013-14.xlsx"

        page.goto(served.url + "/council/upload")
        assert page.is_visible("#drop-hint")  # the enhancement is there
        shot(served, page, "upload")
        page.set_input_files("#file", str(HARTLEPOOL))  # another council's return
        page.click("#upload-button")
        page.wait_for_selector("#refused")
        assert "names another council" in page.inner_text("#refused")
        shot(served, page, "upload-refused")
        # Chromium notes a document's 4xx status in the console: that one is expected here
        seen.problems.remove(
            "console error: Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)"
        )
        page.set_input_files("#file", str(SOMERSET_BEFORE))
        page.click("#upload-button")
        page.wait_for_url(findings_url)

        page.goto(served.url + "/council/upload")
        drop(page, SOMERSET_NOW)
        assert page.eval_on_selector("#file", "i => i.files[0].name") == SOMERSET_NOW.name
        assert page.inner_text("#upload-status") == f"Chosen: {SOMERSET_NOW.name}"
        page.click("#upload-button")
        page.wait_for_url(findings_url)
        verdict = page.inner_text("#verdict")
        assert f"Accepted, {len(SOMERSET_QUERIES)} queries to explain" in verdict
        assert open_queries(page) == SOMERSET_QUERIES
        shot(served, page, "findings")

        for n, rule in enumerate(SOMERSET_QUERIES, start=1):
            item = page.locator("ol.queries > li", has=page.locator(f"input[value={rule}]"))
            item.locator("textarea").fill(EXPLANATION.format(n))
            item.locator("button").click()
            page.wait_for_url(f"**?recorded={rule}#queries")
        assert open_queries(page) == []
        assert page.locator("ul.explained > li").count() == len(SOMERSET_QUERIES)
        shot(served, page, "findings-explained")
        # openpyxl rewrites Somerset's 1.2 MB workbook: seconds of CPU, more on a busy machine
        with page.expect_download(timeout=180_000) as got:
            page.click("#annotated", no_wait_after=True)
        assert got.value.suggested_filename == "E10000027-2013-14-checked.xlsx"

        corrected = edited(SOMERSET_NOW, tmp_path / "E10000027-2013-14-v2.xlsx",
                           submitted_on=datetime(2014, 7, 1))  # fmt: skip
        page.goto(served.url + "/council/upload")
        page.set_input_files("#file", str(corrected))
        page.click("#upload-button")
        page.wait_for_url(findings_url)
        assert "This is the current return for 2013-14" in page.inner_text("#facts")
        assert open_queries(page) == []  # carried forward
        assert page.inner_text("#verdict") == "Accepted"
        clean(seen)

    with signed_in(browser, served, "app.s") as seen:
        page = seen.page
        assert "Ready for sign-off" in page.inner_text("#period-2013-14")
        shot(served, page, "home-ready")
        page.click("text=Sign off 2013-14")
        page.wait_for_url(served.url + "/council/receipts/2013-14")
        sha256 = hashlib.sha256(corrected.read_bytes()).hexdigest()
        assert page.inner_text("#receipt-sha256") == sha256
        shot(served, page, "receipt")
        page.emulate_media(media="print")
        assert not page.is_visible("header.service")  # the receipt prints on its own
        assert page.is_visible("#receipt-sha256")
        shot(served, page, "receipt-print")
        page.emulate_media(media="screen")
        page.goto(served.url + "/council/")
        assert "Signed off by app.s" in page.inner_text("#period-2013-14")
        clean(seen)


def test_uploading_works_without_javascript(browser: Any, served: Served) -> None:
    with signed_in(browser, served, "sub.a", script=False) as seen:
        page = seen.page
        page.goto(served.url + "/council/upload")
        assert not page.is_visible("#drop-hint")
        page.set_input_files("#file", str(HARTLEPOOL))
        page.click("#upload-button")
        page.wait_for_url(served.url + "/council/submissions/**")
        assert "Return check: Hartlepool, 2013-14" in page.inner_text("h1")
        clean(seen)
