"""Findings carry their numbers: each message is its rule's template filled with the
finding's params, so every figure a message shows can be read as data (report version 1.1)."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import pytest

from returns_kit.config import Thresholds
from returns_kit.findings import Finding
from returns_kit.rules.catalogue import RULES, finding, templates
from returns_kit.rules.messages import fields, render
from returns_kit.validate import validate_file

from .conftest import FIXTURES

FILES = sorted(p for p in [*FIXTURES.glob("valid/*"), *FIXTURES.glob("invalid/*")] if p.is_file())


def _rendered_from_params(item: Finding) -> bool:
    """Some template of the finding's rule, filled with its params, gives its message."""
    assert item.params is not None, f"{item.rule}: no params ({item.message})"
    return any(
        fields(template) == item.params.keys() and render(item.rule, variant, item.params)
        == item.message
        for variant, template in templates(item.rule).items()
    )  # fmt: skip


def test_every_rule_has_a_message_template() -> None:
    assert [rule for rule in RULES if not templates(rule)] == []


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_each_finding_is_its_template_filled_with_its_params(path: Path) -> None:
    report = validate_file(path)
    assert report.findings or path.parent.name == "valid"
    assert [f.rule for f in report.findings if not _rendered_from_params(f)] == []


def test_a_parameter_the_template_does_not_use_is_a_defect() -> None:
    # Params hold what the message shows and nothing more: an extra one (a client's
    # reference, say) would reach the JSON report unseen in the message.
    with pytest.raises(ValueError, match="B003"):
        finding("B003", {"people_total": 5, "types_sum": 4, "client_ref": "X"})
    with pytest.raises(ValueError, match="B003"):
        finding("B003", {"people_total": 5})


def _numbers(value: object) -> list[float]:
    """Every number in an evidence value, nested ones too."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return []


def _in_evidence(item: Finding) -> list[str]:
    """The numeric params of a query its evidence lacks (a figure of the message that a
    decision, bound to the evidence's hash, would not see change). A figure may be its
    evidence's value rounded, a rate's change in points (x 100), or a change worked out from
    two of its values (after - before, or that over before)."""
    # A threshold a message names (S005's minimum, C007's 20%) is configuration, not the
    # return's: a decision stands on the council's figures.
    values = _numbers(item.evidence) + _numbers(asdict(Thresholds()))
    known = values + [a - b for a in values for b in values]
    known += [(a - b) / b for a in values for b in values if b]
    return [
        name
        for name, value in (item.params or {}).items()
        if _numbers(value)
        and not any(
            math.isclose(_numbers(value)[0], scale * number, rel_tol=1e-3, abs_tol=0.006)
            for number in known
            for scale in (1, 100)
        )
    ]


def _period_findings() -> list[Finding]:
    """P001-P006 from pairs of summaries, P010-P012 from the screens' own test panels."""
    from returns_kit.aggregate.screens import screen_returns
    from returns_kit.config import Thresholds
    from returns_kit.rules.periods import p006_no_previous, period_findings
    from tests import test_periods as pairs
    from tests import test_screen_rules as screens

    home, living = pairs.HOME_BLOCK, pairs.LIVING_ISF
    before = pairs.summary("2012-13", {"dp_self_managed": 5, "no_personal_budget": 95}, {home: 100})
    after = pairs.summary(
        "2013-14",
        {"dp_self_managed": 5, "council_managed": 30, "no_personal_budget": 165},
        {home: 100, living: 100},
    )
    found = list(period_findings(before, after, pairs.REFERENCE, Thresholds())[1])
    relabelled = pairs.summary(
        "2013-14",
        {"dp_self_managed": 5, "council_managed": 30, "no_personal_budget": 65},
        {home: 100},
    )
    found += period_findings(before, relabelled, pairs.REFERENCE, Thresholds())[1]
    broken = pairs.summary("2014-15", {"no_personal_budget": 100}, {home: 100})
    found += period_findings(after, broken, pairs.REFERENCE, Thresholds())[1]
    found += [p006_no_previous("2012-13", "conflict", 3), p006_no_previous(None, "missing")]
    for panel in (screens._six_councils(), screens._bury((1195, 480), (255, 1105))):
        for items in screen_returns(panel, screens.REFERENCE, Thresholds()).values():
            found += items
    return found


def test_period_findings_carry_params_and_queries_their_figures_in_evidence() -> None:
    found = _period_findings()
    assert {"P001", "P002", "P004", "P005", "P006", "P010", "P011"} <= {f.rule for f in found}
    assert [f.rule for f in found if not _rendered_from_params(f)] == []
    queries = [f for f in found if f.severity.value == "query"]
    assert [(f.rule, _in_evidence(f)) for f in queries if _in_evidence(f)] == []


def test_every_query_of_the_fixtures_has_its_figures_in_evidence() -> None:
    queries = [
        item
        for path in FILES
        for item in validate_file(path).findings
        if item.severity.value == "query"
    ]
    assert {"S005", "C007"} <= {f.rule for f in queries}
    assert [(f.rule, _in_evidence(f)) for f in queries if _in_evidence(f)] == []
