"""Every shipped fixture gives exactly the findings planted in it, through the library and the CLI.

fixtures/expected.json was written from where each defect was planted, not by
running the validator, so it is an independent statement of the right answer.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from returns_kit.cli import cli
from returns_kit.report import Report
from returns_kit.validate import validate_file

from .conftest import FIXTURES, expected_findings

EXPECTED = expected_findings()


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {
        str(p.relative_to(FIXTURES))
        for folder in ("valid", "invalid")
        for p in (FIXTURES / folder).iterdir()
    }
    assert on_disk == set(EXPECTED)


def test_every_catalogued_rule_but_the_period_rules_has_an_invalid_fixture() -> None:
    from returns_kit.rules.catalogue import RULES

    planted = {name.split("/")[1].split(".")[0] for name in EXPECTED if name.startswith("invalid")}
    # X001 (internal error) is a defect of ours, so no file may trigger it: test_cli injects it.
    assert planted == {rule for rule in RULES if not rule.startswith(("P", "X"))}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings(name: str) -> None:
    report = validate_file(FIXTURES / name)
    found = [[f.rule, f.sheet, f.cell] for f in report.findings]
    assert sorted(found, key=str) == sorted(EXPECTED[name], key=str)
    if name.startswith("valid/"):
        assert report.valid
    else:
        rule = name.split("/")[1].split(".")[0]
        severity = report.findings[0].severity.value
        assert report.valid == (severity != "error"), rule


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_json_equals_library_report(name: str) -> None:
    result = CliRunner().invoke(cli, ["validate", str(FIXTURES / name), "--format", "json"])
    library = Report([validate_file(FIXTURES / name)])
    assert json.loads(result.output) == library.to_dict()
    assert result.exit_code == library.exit_code


def test_findings_are_located() -> None:
    """Every finding about a sheet names it; every cell finding gives its row too."""
    for name in EXPECTED:
        for item in validate_file(FIXTURES / name).findings:
            assert item.message and item.rule
            if item.cell is not None:
                assert item.sheet is not None and item.row is not None
                assert item.cell.endswith(str(item.row))
