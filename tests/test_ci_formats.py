"""CI formats, parsed back: GitHub workflow commands by their grammar, JUnit by junitparser."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from junitparser import Failure, JUnitXml

from returns_kit.ci_formats import render_github, render_junit
from returns_kit.cli import main
from returns_kit.config import Thresholds
from returns_kit.findings import Finding, Severity
from returns_kit.reference import load_reference
from returns_kit.report import FileReport, Report
from returns_kit.rules.catalogue import RULES
from returns_kit.rules.periods import period_findings
from returns_kit.rules.ran import AGGREGATE_ONLY_RULES, AGGREGATE_ONLY_WHY
from returns_kit.validate import validate_file, validate_files, validate_return
from returns_kit.wording import tally

from .conftest import FIXTURES, NATIONAL

FILES = [
    FIXTURES / "invalid" / "B003.xlsx",
    FIXTURES / "invalid" / "S005.xlsx",
    FIXTURES / "valid" / "westminster-2014-15-clients.xlsx",
]
_COMMAND = re.compile(r"^::(?P<name>[a-z]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def _unescape(text: str, prop: bool = False) -> str:
    if prop:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def parse_workflow_commands(output: str) -> list[dict[str, str]]:
    """Parse GitHub Actions workflow commands: ::name key=value,key=value::data."""
    commands = []
    for line in output.splitlines():
        match = _COMMAND.match(line)
        assert match, f"not a workflow command: {line!r}"
        command = {"command": match["name"], "message": _unescape(match["data"])}
        for pair in filter(None, (match["props"] or "").split(",")):
            key, value = pair.split("=", 1)
            command[key] = _unescape(value, prop=True)
        commands.append(command)
    return commands


@pytest.mark.parametrize("strict", [False, True])
def test_github_one_annotation_per_finding(strict: bool) -> None:
    report = Report([validate_file(path) for path in FILES], strict=strict)
    commands = parse_workflow_commands(render_github(report))
    findings = [(r.path, f) for r in report.files for f in r.findings]
    assert len(commands) == len(findings)
    for command, (path, item) in zip(commands, findings, strict=True):
        assert command["file"] == path
        assert command["title"].startswith(f"{item.rule} {RULES[item.rule].name}")
        assert command["message"].startswith(f"{item.sheet}!{item.cell}: {item.message}")
    levels = [c["command"] for c in commands]
    # B003 is an error; S005's unexplained query fails only under --strict; Westminster's
    # S005 is explained.
    assert levels == ["error", "error" if strict else "warning", "notice"]


def test_github_escapes_what_would_break_a_command() -> None:
    odd = Finding(
        "V001",
        Severity.ERROR,
        "line one\nline two: 50% done, ok",
        sheet="Budgets",
        cell="C2",
        row=2,
    )
    report = Report([FileReport("returns/a,b:c.xlsx", [odd])])
    (command,) = parse_workflow_commands(render_github(report))
    assert command["file"] == "returns/a,b:c.xlsx"
    assert command["message"] == "Budgets!C2: line one\nline two: 50% done, ok"


@pytest.mark.parametrize("strict", [False, True])
def test_junit_a_suite_per_file_and_a_case_per_rule(strict: bool) -> None:
    report = Report([validate_file(path) for path in FILES], strict=strict)
    xml = JUnitXml.fromstring(render_junit(report))
    suites = list(xml)
    assert [s.name for s in suites] == [str(p) for p in FILES]
    for suite, file_report in zip(suites, report.files, strict=True):
        cases = list(suite)
        assert [c.name for c in cases] == [f"{r.id} {r.name}" for r in RULES.values()]
        failed = {c.name.split()[0] for c in cases if any(isinstance(r, Failure) for r in c.result)}
        expected = {
            f.rule
            for f in file_report.findings
            if f.severity is Severity.ERROR
            or (strict and f.severity is Severity.QUERY and not f.explained)
        }
        assert failed == expected
        assert suite.failures == len(expected) and suite.tests == len(RULES)
    assert xml.failures == sum(s.failures for s in suites)


def test_cli_formats_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FILES[0]), "--format", "github"]) == 1
    assert parse_workflow_commands(capsys.readouterr().out)[0]["command"] == "error"
    assert main(["validate", str(FILES[1]), "--format", "junit", "--strict"]) == 1
    assert JUnitXml.fromstring(capsys.readouterr().out).failures == 1
    assert main(["validate", str(FILES[2]), "--format", "junit", "--strict"]) == 0


def test_many_files_end_with_a_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", *map(str, FILES), str(FIXTURES / "invalid" / "F001.xlsx")])
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index(next(x for x in lines if x.startswith("file "))) : -2]
    assert table[0].split() == [
        "file",
        "council",
        "period",
        "errors",
        "queries",
        "warnings",
        "result",
    ]
    rows = [row.split(maxsplit=6) for row in table[1:]]
    assert [r[0] for r in rows] == [*map(str, FILES), str(FIXTURES / "invalid" / "F001.xlsx")]
    # The result in the words of the verdict above each file's findings.
    assert rows[0][1:] == ["E06000001", "2013-14", "1", "0", "0", "Rejected, 1 error to fix"]
    assert rows[1][6] == "Accepted, 1 query to explain"
    assert rows[2][6] == "Accepted"  # Westminster's query is explained
    assert rows[3][1:] == ["-", "-", "1", "0", "0", "Rejected, 1 error to fix"]
    assert (
        lines[-1]
        == "4 files checked: 2 accepted, 2 not accepted; "
        + tally(
            Counter(f.severity.value for r in validate_files(FILES).files for f in r.findings)
            + Counter(error=1)
        )
        + "."
    )


def _cases(xml: str) -> dict[str, tuple[str, str] | str]:
    """Each testcase's result by rule id: "passed", or the result element's class name and
    message."""
    (suite,) = list(JUnitXml.fromstring(xml))
    outcome: dict[str, tuple[str, str] | str] = {}
    for case in suite:
        rule = case.name.split()[0]
        outcome[rule] = (
            (type(case.result[0]).__name__, case.result[0].message) if case.result else "passed"
        )
    return outcome


def test_junit_skips_the_rules_of_a_missing_sheet() -> None:
    """F004.xlsx has no Services sheet: S001-S005 (and C004) checked nothing, so they did not
    pass; and with no --previous the period rules never ran."""
    report = Report([validate_file(FIXTURES / "invalid" / "F004.xlsx")])
    xml = render_junit(report)
    cases = _cases(xml)
    no_services = ("Skipped", "the return has no Services sheet")
    assert {
        rule: cases[rule] for rule in ("S001", "S002", "S003", "S004", "S005")
    } == dict.fromkeys(("S001", "S002", "S003", "S004", "S005"), no_services)
    no_previous = ("Skipped", "no previous return was given to compare with (--previous)")
    assert all(cases[f"P00{n}"] == no_previous for n in range(1, 7))
    # F004 itself failed; the Budgets and About rules ran and passed.
    assert cases["F004"][0] == "Failure"
    assert cases["B003"] == cases["A002"] == "passed"
    (suite,) = list(JUnitXml.fromstring(xml))
    skipped = sum(
        1 for value in cases.values() if isinstance(value, tuple) and value[0] == "Skipped"
    )
    assert suite.skipped == skipped and suite.tests == len(RULES)


def test_junit_runs_the_period_rules_with_previous(capsys: pytest.CaptureFixture[str]) -> None:
    """With --previous, the period rules that compared the two returns ran; P005 and P006
    ran and found nothing to say."""
    main(
        [
            "validate",
            str(NATIONAL / "E10000027-2013-14.xlsx"),
            "--previous",
            str(NATIONAL / "E10000027-2012-13.xlsx"),
            "--format",
            "junit",
        ]
    )
    cases = _cases(capsys.readouterr().out)
    assert cases["P004"] == cases["P005"] == cases["P006"] == "passed"
    assert cases["P001"] == cases["P003"] == "passed"  # queries: listed, not failures
    # Somerset has a Clients sheet and no Explanations sheet.
    assert cases["C003"] == "passed"
    assert cases["E001"] == ("Skipped", "the return has no Explanations sheet")
    # The screens of the period need every council, or the council's earlier years: one
    # pair of returns does not run them, and the report says so rather than "passed".
    for rule in AGGREGATE_ONLY_RULES:
        assert cases[rule] == ("Skipped", AGGREGATE_ONLY_WHY)


def test_junit_skips_comparisons_not_made() -> None:
    """A previous return with errors: P006 says so, and P001-P005 did not run."""
    current = validate_return(NATIONAL / "E10000027-2013-14.xlsx")
    _, findings = period_findings(None, current.summary, load_reference(), Thresholds())
    current.add_findings(findings)
    cases = _cases(render_junit(Report([current.report])))
    assert cases["P006"] == "passed"  # an info finding: listed, not failed
    why = "no comparison was made: this return or the previous one has errors (P006)"
    assert all(cases[rule] == ("Skipped", why) for rule in ("P001", "P002", "P003", "P004", "P005"))


def test_junit_an_unreadable_file_ran_only_the_file_checks() -> None:
    report = Report([validate_file(FIXTURES / "invalid" / "F001.xlsx")])
    cases = _cases(render_junit(report))
    assert cases["F001"][0] == "Failure"
    assert cases["F002"] == cases["F003"] == "passed"
    assert {cases[rule] for rule in RULES if rule not in ("F001", "F002", "F003")} <= {
        ("Skipped", "the file could not be opened as a workbook, so none of it was checked"),
        ("Skipped", "no previous return was given to compare with (--previous)"),
        ("Skipped", AGGREGATE_ONLY_WHY),
    }
