"""Findings carry their numbers: each message is its rule's template filled with the
finding's params, so every figure a message shows can be read as data (report version 1.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
