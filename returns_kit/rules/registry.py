"""The rule functions, registered by id so the catalogue and the code cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import RULES
from returns_kit.rules.context import ReturnContext

RuleFunction = Callable[[ReturnContext], Iterable[Finding]]

#: rule id -> the function that checks it, in registration order
RULE_FUNCTIONS: dict[str, RuleFunction] = {}


def implements(rule_id: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a function as the check of a catalogued rule."""
    if rule_id not in RULES:
        raise KeyError(f"{rule_id} is not in the rule catalogue")

    def register(function: RuleFunction) -> RuleFunction:
        RULE_FUNCTIONS[rule_id] = function
        return function

    return register


def register_all() -> None:
    """Import the rule modules, whose decorators fill :data:`RULE_FUNCTIONS`."""
    from returns_kit.rules import about, budgets, clients, explanations, services  # noqa: F401


def run_rules(context: ReturnContext) -> list[Finding]:
    register_all()
    findings: list[Finding] = []
    for function in RULE_FUNCTIONS.values():
        findings.extend(function(context))
    return findings
