"""Every finding's message, as a template its parameters fill (as frictionless errors do).

A rule's finding carries its numbers and names as ``params``; the message is the rule's
template filled with them. So a flag, a page, the ledger or a reader of the JSON report takes
a number from the data, never by reading it back out of the text, and the wording of every
message can be read (and documented) in one place.

Templates are keyed by rule id, then by variant: most rules say one thing (variant ``""``);
some say one of a few (A002 for a code that is no council, or a council not active in the
period). A template uses :meth:`str.format` fields, with a few additions of our own:

- ``{columns!j}`` joins a list with ", ";
- ``{label!c}`` gives text with its first letter a capital (a label starting a sentence);
- ``{councils:counted council}`` is a count with its noun, singular for one ("1 council",
  "152 councils"; ``{n:counted person/people}`` names an irregular plural);
- a parameter that is None shows as "unknown" (a rate with no people to divide by).

A parameter holds what the message shows and nothing more: a cell's value only as
:func:`returns_kit.privacy.shown` lets it be quoted.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from typing import Any

from returns_kit.wording import counted

#: rule id -> variant -> template. Grouped as the rules are: the file and its structure
#: (F), cells (V), About (A), Budgets (B), Services (S), Clients (C), Explanations (E),
#: periods (P) and the internal error (X).
TEMPLATES: dict[str, dict[str, str]] = {
    # -- the file and its structure (workbook/, validate.py) --
    # -- cells (compile.py) --
    # -- About, Budgets, Services, Clients, Explanations (rules/) --
    "B003": {
        "": "people_total is {people_total:,} but the six budget types add up to {types_sum:,}."
    },
    # -- periods (rules/periods.py, aggregate/screens.py, ledger) --
    "P001": {
        "": "The personal budget rate rose from {pb_rate_before:.1%} in {previous_period} to "
        "{pb_rate_after:.1%} ({pb_rate_change_points:+.1f} points). Explain what changed for "
        "these people."
    },
    "P002": {
        "": "Suspected relabelling: the personal budget rate rose {pb_rate_change_points:.1f} "
        "points, but the choice rate moved only {choice_rate_change_points:+.1f} points and "
        "the services did not change (service shift {service_shift:.3f}, block-contract share "
        "{block_share_before:.1%} to {block_share_after:.1%})."
    },
    "P003": {
        "": "{clients:,} clients in both periods moved from no personal budget to a "
        "council-managed budget with the same services, arrangements, providers and cost."
    },
    "P004": {
        "": "people_total changed from {people_total_before:,} in {previous_period} to "
        "{people_total_after:,} ({people_total_change:+.0%})."
    },
    "P005": {
        "series_break": "No comparison with {previous_period}: {period} is a national series "
        "break (councils' own recording changed).",
        "formed": "No comparison with {previous_period}: {council_name} was formed in {period} "
        "by a reorganisation of {predecessors!j}.",
        "predecessor": "No comparison with {previous_period}: the previous return is a "
        "predecessor's in a council reorganisation (a merger or split).",
    },
    "P010": {
        # a rate as a percentage, a count of people as a whole number
        "rate": "The {measure_label} moved from {previous:.1%} in {previous_period} to "
        "{current:.1%} (x{ratio:.2f}, against a median of x{median_ratio:.2f} over the "
        "{councils_compared:counted council} compared): an unusual {direction} for the period, "
        "with a Hidiroglou-Berthelot score of {score:.2f} outside {lower:.2f} to {upper:.2f}. "
        "Explain what changed.",
        "count": "The {measure_label} moved from {previous:,.0f} in {previous_period} to "
        "{current:,.0f} (x{ratio:.2f}, against a median of x{median_ratio:.2f} over the "
        "{councils_compared:counted council} compared): an unusual {direction} for the period, "
        "with a Hidiroglou-Berthelot score of {score:.2f} outside {lower:.2f} to {upper:.2f}. "
        "Explain what changed.",
    },
    "P011": {
        "": "{measure_label!c} went from {previous:,} in {previous_period} to {current:,} while "
        "{related_label} went the other way, from {related_previous:,} to {related_current:,}: "
        "people may be reported on the wrong line. Check both counts."
    },
    "P012": {
        # series_listed: the council's counts as the message lists them ("2012-13 1,195,
        # 2013-14 480"); the same numbers are the finding's evidence "series", as data
        "spike": "{measure_label!c} numbered {current:,} in {period}, back near "
        "{reference:,.0f} in {period_before_spike}, so {spike:,} in {previous_period} looks "
        "out of line with the council's own years (series: {series_listed}). Check the "
        "earlier figure.",
        "level": "{measure_label!c} numbered {current:,} in {period}, a factor of {factor:.1f} "
        "from the council's own median of {reference:,.0f} over "
        "{history_periods:counted earlier period} and far from {previous_count:,} in "
        "{previous_period} (series: {series_listed}). Check the figure.",
    },
    "P006": {
        **{
            f"{reason}{suffix}": f"No comparison with {previous}: {why}, so the "
            "period-to-period rules were not run."
            for reason, why in {
                "missing": "no return for it was received",
                "errors": "its return has errors",
                "conflict": "{returns} different returns for it are in conflict",
                "unusable": "its return could not be used",
                "this-return-errors": "this return has errors",
            }.items()
            # the previous period by name, or (not known) in words
            for suffix, previous in (("", "{previous_period}"), ("-unnamed", "the previous period"))
        },
        # the collection ledger: why the collection has no current return for the period
        "collection": "No comparison with the previous period ({previous_period}): {why}, so "
        "the period-to-period rules were not run.",
    },
    # -- the internal error --
}


class _Formatter(string.Formatter):
    """str.format with ``!j``, ``!c``, ``:counted noun`` and None as "unknown"."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "j":
            return ", ".join(str(item) for item in value)
        if conversion == "c":
            return value[:1].upper() + value[1:]
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec.startswith("counted "):
            singular, _, plural = format_spec.removeprefix("counted ").partition("/")
            return counted(value, singular, plural or None)
        if value is None:
            return "unknown"
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def render(rule_id: str, variant: str, params: Mapping[str, Any]) -> str:
    """The message of ``rule_id``'s ``variant`` template filled with ``params``.

    >>> TEMPLATES["_example"] = {"": "{n:counted person/people} in {columns!j}, {rate:.1%}."}
    >>> render("_example", "", {"n": 1200, "columns": ["a", "b"], "rate": None})
    '1,200 people in a, b, unknown.'
    >>> del TEMPLATES["_example"]
    """
    template = TEMPLATES[rule_id][variant]
    if params.keys() != fields(template):
        # A defect of the rule, not of the file: params hold exactly what the message shows,
        # so that a reader of params sees every figure of the message and nothing else.
        raise ValueError(
            f"{rule_id} {variant!r}: params {sorted(params)} but the template uses "
            f"{sorted(fields(template))}"
        )
    return _FORMATTER.vformat(template, (), params)


@cache
def fields(template: str) -> frozenset[str]:
    """The parameter names a template uses: what its findings' ``params`` must hold."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name)
