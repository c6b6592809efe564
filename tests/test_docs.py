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


def test_every_aggregate_column_is_described(tmp_path: Path) -> None:
    from returns_kit.aggregate.columns import COLUMNS, TABLES
    from returns_kit.aggregate.run import AggregateOptions, aggregate

    root = Path(__file__).resolve().parent.parent
    fixtures = [root / "fixtures" / "valid", root / "fixtures" / "invalid"]
    tables = aggregate(fixtures, AggregateOptions(cache_dir=tmp_path)).tables
    assert set(tables) == set(TABLES)
    for name, frame in tables.items():
        missing = set(frame.columns) - set(COLUMNS)
        assert not missing, (name, missing)
