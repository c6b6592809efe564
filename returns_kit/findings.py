"""Findings: what a check says about a return, kept as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How much a finding matters, from the spec's four levels."""

    ERROR = "error"  #: the return is rejected
    QUERY = "query"  #: accepted, but must be explained
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.QUERY: 1, Severity.WARNING: 2, Severity.INFO: 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) about a return, located as precisely as it can be.

    Build findings with :func:`returns_kit.rules.catalogue.finding`, which takes the
    severity from the catalogue so that a rule's severity is stated in one place.
    """

    rule: str
    severity: Severity
    message: str
    sheet: str | None = None  #: the sheet's canonical name, e.g. "Budgets"
    cell: str | None = None  #: A1 address, e.g. "D7"
    row: int | None = None  #: 1-based sheet row
    column: str | None = None  #: canonical column (or About field) name
    scope: str | None = None  #: e.g. "65+/MEMORY_COGNITION" or "HOME_CARE/BLOCK_CONTRACT"
    #: the values the rule's message template is filled with (its numbers, as data)
    params: dict[str, Any] | None = field(default=None, compare=False)
    evidence: dict[str, Any] | None = field(default=None, compare=False)
    explained: bool | None = None  #: for queries: answered by the Explanations sheet

    def with_explained(self, explained: bool) -> Finding:
        return replace(self, explained=explained)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "params": self.params,
            "sheet": self.sheet,
            "cell": self.cell,
            "row": self.row,
            "column": self.column,
            "scope": self.scope,
            "explained": self.explained,
            "evidence": self.evidence,
        }
