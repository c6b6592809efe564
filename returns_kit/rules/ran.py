"""Which rules a validation ran, worked out from what it had to check.

A rule that did not run is not a rule that passed: with no Services sheet, S001-S005
said nothing because there was nothing to check, and without a previous return
P001-P006 compared nothing. Reports that list every rule (JUnit) show such a rule as
skipped, with the reason given here, in one place for every output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import RULES

#: The sheets a rule reads; a rule not named here needs only the opened workbook.
SHEETS_NEEDED: dict[str, tuple[str, ...]] = {
    **{rule: ("About",) for rule in ("A001", "A002", "A003", "A004", "A005", "A006")},
    **{rule: ("Budgets",) for rule in ("B001", "B002", "B003")},
    **{rule: ("Services",) for rule in ("S001", "S002", "S005")},
    **{rule: ("Budgets", "Services") for rule in ("S003", "S004")},
    **{rule: ("Clients",) for rule in ("C001", "C002", "C005", "C006")},
    **{rule: ("Clients", "Budgets") for rule in ("C003", "C007")},
    "C004": ("Clients", "Services"),
    **{rule: ("Explanations",) for rule in ("E001", "E002")},
}
#: Checked when the file is inspected, before it is opened as a workbook.
CONTAINER_RULES = ("F001", "F002", "F003")
#: The period-to-period rules that compare two returns; P005 and P006 say why they did not.
COMPARING_RULES = ("P001", "P002", "P003", "P004")
#: Screens of every council in a period, or of a council's several periods: only the
#: aggregate has what they compare, so one pair of returns never runs them.
AGGREGATE_ONLY_RULES = ("P010", "P011", "P012")
AGGREGATE_ONLY_WHY = (
    "run by aggregate only: it screens a council's change against every council in the "
    "period or against its own earlier periods"
)
NO_COMPARISON_WHY = {
    "P006": "no comparison was made: this return or the previous one has errors (P006)",
    "P005": "no comparison was made across a council reorganisation or series break (P005)",
}


@dataclass(frozen=True)
class RulesRun:
    """What one validation had: whether the workbook opened, which sheets it has and which
    were read, and whether it was compared with a previous return (and if not, why)."""

    opened: bool = False
    present: frozenset[str] = frozenset()  #: the return's sheets, by canonical name
    read: frozenset[str] = frozenset()  #: the sheets whose table was read and checked
    previous: bool = False  #: a previous return was given
    no_comparison: str | None = None  #: P005 or P006, when the two were not compared

    def compared(self, findings: Iterable[Finding]) -> RulesRun:
        """After the period rules: a previous return was given, with these findings."""
        rules = {item.rule for item in findings}
        reason = next((rule for rule in NO_COMPARISON_WHY if rule in rules), None)
        return replace(self, previous=True, no_comparison=reason)

    def not_run(self) -> dict[str, str]:
        """Rule id -> why it did not run, for every catalogued rule that did not."""
        skipped: dict[str, str] = {}
        for rule in RULES:
            why = self._why_not(rule)
            if why is not None:
                skipped[rule] = why
        return skipped

    def _why_not(self, rule: str) -> str | None:
        if rule in AGGREGATE_ONLY_RULES:
            return AGGREGATE_ONLY_WHY
        if rule.startswith("P"):
            if not self.previous:
                return "no previous return was given to compare with (--previous)"
            if self.no_comparison == "P006" and rule != "P006":
                return NO_COMPARISON_WHY["P006"]
            if self.no_comparison == "P005" and rule in COMPARING_RULES:
                return NO_COMPARISON_WHY["P005"]
            return None
        if rule in CONTAINER_RULES:
            return None
        if not self.opened:
            return "the file could not be opened as a workbook, so none of it was checked"
        for sheet in SHEETS_NEEDED.get(rule, ()):
            if sheet not in self.present:
                return f"the return has no {sheet} sheet"
            if sheet not in self.read:
                return f"the {sheet} sheet could not be read (see the findings about it)"
        return None
