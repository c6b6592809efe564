"""The docs generated from the code are current, and every command is documented."""

from __future__ import annotations

from pathlib import Path

from returns_kit.cli import cli
from returns_kit.rules.catalogue import RULES
from tools.docs import PAGES, stale_pages

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_generated_pages_are_current() -> None:
    assert stale_pages(DOCS) == [], "run: python -m tools.docs"


def test_every_command_has_help_and_a_section() -> None:
    page = (DOCS / "cli-reference.md").read_text("utf-8")
    for name, command in cli.commands.items():
        assert command.help, name
        assert f"## returns {name}" in page


def test_every_rule_is_catalogued_in_the_docs() -> None:
    page = (DOCS / "rules.md").read_text("utf-8")
    for rule_id, rule in RULES.items():
        assert f"| {rule_id} | {rule.name} |" in page


def test_output_format_page_names_every_json_field() -> None:
    page = (DOCS / "output-formats.md").read_text("utf-8")
    for field in (
        "version",
        "valid",
        "files",
        "path",
        "council_code",
        "period",
        "findings",
        "rule",
        "severity",
        "message",
        "sheet",
        "cell",
        "row",
        "column",
        "scope",
        "explained",
        "evidence",
    ):
        assert f"`{field}`" in page, field
    assert set(PAGES) <= {p.name for p in DOCS.iterdir()}


def test_every_aggregate_table_is_as_declared_and_documented(tmp_path: Path) -> None:
    """The fixtures' tables (errors, exclusions and no transitions among them) have exactly
    the declared columns and dtypes, and the page lists every one with its kind."""
    from returns_kit.aggregate.columns import TABLES
    from returns_kit.aggregate.run import AggregateOptions, aggregate

    root = Path(__file__).resolve().parent.parent
    fixtures = [root / "fixtures" / "valid", root / "fixtures" / "invalid"]
    tables = aggregate(fixtures, AggregateOptions(cache_dir=tmp_path)).tables
    assert list(tables) == list(TABLES)
    page = (DOCS / "aggregate-outputs.md").read_text("utf-8")
    for name, frame in tables.items():
        assert frame.schema == TABLES[name].schema, name
        section = page[page.index(f"## {name}.csv") :]
        for column in TABLES[name].columns:
            assert column.description
            assert f"| {column.name} | {column.dtype} | {column.kind.value} |" in section
