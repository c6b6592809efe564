"""Reports for CI systems: GitHub Actions workflow commands and JUnit XML."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from returns_kit.findings import Finding, Severity
from returns_kit.report import Report
from returns_kit.rules.catalogue import RULES
from returns_kit.wording import place

#: GitHub's annotation levels for each severity; a query fails only under --strict.
_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.QUERY: "warning",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}


def _escape_data(text: str) -> str:
    # As the Actions toolkit escapes a command's message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _where(item: Finding) -> str:
    if item.sheet and item.cell:
        return f"{item.sheet}!{item.cell}"
    return place(item)


def _fails(item: Finding, strict: bool) -> bool:
    return item.severity is Severity.ERROR or (
        strict and item.severity is Severity.QUERY and not item.explained
    )


def render_github(report: Report) -> str:
    """One workflow command per finding, annotating the workbook in a pull request."""
    lines = []
    for file_report in report.files:
        for item in file_report.findings:
            level = "error" if _fails(item, report.strict) else _GITHUB_LEVEL[item.severity]
            if item.severity is Severity.QUERY and item.explained:
                level = "notice"
            title = f"{item.rule} {RULES[item.rule].name} ({_where(item)})"
            message = f"{_where(item)}: {item.message}"
            if item.scope and item.scope not in item.message:
                message += f" [{item.scope}]"
            if item.explained:
                message += " [explained]"
            lines.append(
                f"::{level} file={_escape_property(file_report.path)},"
                f"title={_escape_property(title)}::{_escape_data(message)}"
            )
    return "\n".join(lines)


#: Characters XML 1.0 cannot hold; a file or sheet name could carry one.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(tree: ElementTree.Element) -> None:
    """Write characters XML cannot hold as \\xNN, in every text and attribute of the tree."""

    def safe(text: str) -> str:
        return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)

    for element in tree.iter():
        if element.text:
            element.text = safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, safe(value))


def render_junit(report: Report) -> str:
    """A testsuite per file and a testcase per rule; errors (and, strict, unexplained queries)
    are failures, every other finding is listed in the testcase's output, and a rule that
    did not run (no sheet for it to check, no previous return) is skipped, with the reason."""
    suites = ElementTree.Element("testsuites", name="returns validate")
    total_tests = total_failures = total_skipped = 0
    for file_report in report.files:
        suite = ElementTree.SubElement(suites, "testsuite", name=file_report.path)
        failures = 0
        not_run = file_report.not_run
        by_rule: dict[str, list[Finding]] = {}
        for item in file_report.findings:
            by_rule.setdefault(item.rule, []).append(item)
        for rule in RULES.values():
            case = ElementTree.SubElement(
                suite, "testcase", classname=file_report.path, name=f"{rule.id} {rule.name}"
            )
            if rule.id in not_run:
                ElementTree.SubElement(case, "skipped", message=not_run[rule.id])
                continue
            found = by_rule.get(rule.id, [])
            failing = [item for item in found if _fails(item, report.strict)]
            if failing:
                failures += 1
                failure = ElementTree.SubElement(
                    case,
                    "failure",
                    type=failing[0].severity.value,
                    message=f"{len(failing)} finding{'s' if len(failing) > 1 else ''}: "
                    f"{_where(failing[0])}: {failing[0].message}",
                )
                failure.text = "\n".join(f"{_where(i)}: {i.message}" for i in failing)
            others = [item for item in found if item not in failing]
            if others:
                out = ElementTree.SubElement(case, "system-out")
                out.text = "\n".join(
                    f"{i.severity.value} {_where(i)}: {i.message}"
                    + (" [explained]" if i.explained else "")
                    for i in others
                )
        suite.set("tests", str(len(RULES)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(len(not_run)))
        total_tests += len(RULES)
        total_failures += failures
        total_skipped += len(not_run)
    suites.set("tests", str(total_tests))
    suites.set("failures", str(total_failures))
    suites.set("errors", "0")
    suites.set("skipped", str(total_skipped))
    _xml_safe(suites)
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        suites, encoding="unicode"
    )
