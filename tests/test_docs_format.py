"""docs/return-format.md is the project's own, current page of the format; nothing in the
repository points outside it; the reference list's provenance is documented; links resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from returns_kit.reference import load_reference
from returns_kit.rules.catalogue import RULES
from returns_kit.schema import load_schemas, sheet_specs
from tools.docs import RETURN_FORMAT_TEMPLATE, return_format_page

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: The folder beside the checkout that once held the format; spelt in two parts so that
#: this file does not name it.
OUTSIDE = "../" + "shared"


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def test_return_format_page_is_current() -> None:
    page = (DOCS / "return-format.md").read_text("utf-8")
    assert page == return_format_page(), "run: python -m tools.docs"


def test_return_format_page_follows_the_schemas_and_the_catalogue() -> None:
    page = return_format_page()
    for rule in RULES.values():
        assert f"| {rule.id} | {rule.name} | {rule.severity.value} |" in page, rule.id
        assert rule.summary.replace("|", "\\|") in page, rule.id
    for spec in sheet_specs().values():
        assert f"### {spec.name} (" in page
        for field in spec.fields:
            assert f"| {field.name} |" in page, (spec.name, field.name)
    for definition in load_schemas()["codes"]["$defs"].values():
        for code in definition["enum"]:
            assert f"| `{code}` | {definition['x-labels'].get(code, code)} |" in page, code
    # Everything the template asks for was filled: no placeholder is left.
    assert "{{" not in page and "{%" not in page


def test_return_format_page_counts_councils_from_the_shipped_list() -> None:
    page = return_format_page()
    reference = load_reference()
    from returns_kit.periods import Period

    assert "| 2009-10 to 2018-19 | 152 |" in page
    assert len(reference.active(Period(2019))) == 151
    assert "| 2019-20 to 2020-21 | 151 |" in page
    assert "| from 2023-24 | 153 |" in page


def test_template_keeps_the_hand_written_prose() -> None:
    template = (ROOT / RETURN_FORMAT_TEMPLATE).read_text("utf-8")
    for heading in (
        "## Why the return exists",
        "### The three criteria of a personal budget",
        "## Measures",
        "## Aggregate",
        "## Collections",
        "## Reference data",
    ):
        assert heading in template


def test_no_tracked_file_refers_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        if path.suffix in {".xlsx", ".xlsm", ".ods", ".parquet", ".png", ".pdf"}:
            continue
        try:
            text = path.read_text("utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        if OUTSIDE in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_docs_describe_the_shipped_reference_list() -> None:
    page = (DOCS / "reference-data.md").read_text("utf-8")
    for needed in (
        "returns_kit/data/councils.csv",
        "mySociety",
        "MIT",
        "Open Government Licence v3.0",
        "succeeded_by",
    ):
        assert needed in page, needed
    header = (ROOT / "returns_kit" / "data" / "councils.csv").read_text("utf-8").splitlines()[0]
    for column in header.split(","):
        assert f"`{column}`" in page, column


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a page."""
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title)
            anchors.add(title.replace(" ", "-"))
    return anchors


@pytest.mark.parametrize(
    "page",
    [
        "README.md",
        "docs/return-format.md",
        "docs/python-api.md",
        "docs/running-a-collection.md",
        "docs/reference-data.md",
    ],
)
def test_relative_links_resolve(page: str) -> None:
    source = ROOT / page
    broken = []
    for target in _LINK.findall(source.read_text("utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        file_part, _, anchor = target.partition("#")
        linked = (source.parent / file_part).resolve() if file_part else source
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md":
            if anchor not in _anchors(linked.read_text("utf-8")):
                broken.append(target)
        if ROOT not in linked.parents and linked != ROOT:
            broken.append(target)  # outside the repository
    assert broken == [], f"{page}: {broken}"


def _cells(row: str) -> int:
    """Cells of a Markdown table row, as GitHub splits it: at every `|` not escaped, even
    inside code."""
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


@pytest.mark.parametrize("name", ["sheets.md", "return-format.md", "rules.md"])
def test_generated_tables_keep_their_columns(name: str) -> None:
    from tools.docs import PAGES

    header = 0
    for line in PAGES[name]().splitlines():
        if not line.startswith("|"):
            header = 0
        elif header == 0:
            header = _cells(line)
        else:
            assert _cells(line) == header, line
